// Storage extension point: the transaction log, snapshots and epoch records. The data tree
// itself stays in the core; storage sees transactions as opaque ZooKeeper txn entries
// (TxnHeader + body + optional TxnDigest, spec/jute.md 7.1) and snapshots as a stream of
// sessions, ACL lists and nodes.
//
// Threading contract
//  - append(), commit(), roll() are called from the core's single sync thread, in zxid order.
//  - A SnapshotWriter is fed from one snapshot thread while the sync thread keeps appending.
//  - open(), read_log(), truncate_log(), load_snapshot() run during recovery, before writes,
//    from one thread.
//  - list_snapshots(), epochs and purge() may be called from any one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

// Where and how to store; filled by the core from the ZooKeeper keys of the config.
struct StorageOptions {
  std::string data_dir;      // dataDir
  std::string data_log_dir;  // dataLogDir (equals data_dir when not set)
  int64_t pre_alloc_size_bytes = 64LL * 1024 * 1024;  // preAllocSize (configured in KiB)
  bool force_sync = true;    // forceSync=no turns fsync off
};

// Iterates transactions in zxid order. Owned by the caller.
class PADDOCK_SDK_API TxnIterator {
 public:
  virtual ~TxnIterator() = default;
  // Moves to the next transaction; false at the end or on error (then status() says which).
  // A torn final record (crash during append) is the end, not an error.
  virtual bool next() = 0;
  virtual Zxid zxid() const = 0;
  // The txn entry bytes; valid until the next call of next().
  virtual std::string_view bytes() const = 0;
  virtual Status status() const = 0;
};

struct SnapshotInfo {
  Zxid zxid = 0;           // the zxid the snapshot is named after
  std::string name;        // e.g. "snapshot.1a2b" (for logs and tools)
  uint64_t size_bytes = 0;
};

struct SessionRecord {
  SessionId id = 0;
  int32_t timeout_ms = 0;
};

// One entry of the ACL cache: nodes refer to an ACL list by `ref` (-1 = OPEN_ACL_UNSAFE,
// never stored).
struct AclRecord {
  int64_t ref = 0;
  std::vector<Acl> acls;
};

struct NodeRecord {
  std::string_view path;  // "" for the root, else "/a/b"
  std::string_view data;
  bool data_null = false;  // ZooKeeper distinguishes null data from empty data
  int64_t acl_ref = -1;
  StatPersisted stat;
};

// Optional tail of a snapshot (ZooKeeper's digest trailer).
struct SnapshotDigest {
  Zxid zxid = 0;
  int32_t version = 2;
  int64_t tree_digest = 0;
};

// Receives a snapshot's content. Implemented by the core for load_snapshot().
class PADDOCK_SDK_API SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status on_session(const SessionRecord& session) = 0;
  virtual Status on_acl(const AclRecord& acl) = 0;
  // Parents come before children; the root first.
  virtual Status on_node(const NodeRecord& node) = 0;
  virtual Status on_digest(const SnapshotDigest& digest) = 0;
};

// Writes one snapshot. Calls come in this order: write_sessions, write_acls, write_node*,
// finish. Until finish() returns OK the snapshot is invisible to list_snapshots(); a writer
// destroyed without finish() leaves nothing behind.
class PADDOCK_SDK_API SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  virtual Status write_sessions(const std::vector<SessionRecord>& sessions) = 0;
  virtual Status write_acls(const std::vector<AclRecord>& acls) = 0;
  virtual Status write_node(const NodeRecord& node) = 0;
  // Seals the snapshot; `digest` is written as the trailer when present. With `fsync` the data
  // is durable when finish() returns.
  virtual Status finish(const std::optional<SnapshotDigest>& digest, bool fsync) = 0;
};

enum class EpochKind { kCurrent, kAccepted };

class PADDOCK_SDK_API Storage : public Plugin {
 public:
  // Creates directories as needed and checks the layout. Main thread, once, after configure().
  virtual Status open(const StorageOptions& options) = 0;

  // ---- transaction log ----
  // Buffers one txn entry; durable only after commit(). zxids strictly increase.
  virtual Status append(Zxid zxid, std::string_view txn_entry) = 0;
  // Makes every appended txn durable (flush, and fsync unless force_sync is off).
  virtual Status commit() = 0;
  // The next append starts a new log segment (called before a snapshot).
  virtual Status roll() = 0;
  // Committed transactions with zxid >= `from`, in order, across segments.
  virtual Result<std::unique_ptr<TxnIterator>> read_log(Zxid from) = 0;
  // Drops every transaction with zxid > `last_kept`, and every snapshot named after a zxid
  // > `last_kept` (it would hold transactions that are gone).
  virtual Status truncate_log(Zxid last_kept) = 0;
  // Highest zxid in the log, appended entries not yet committed included (0 when empty).
  // A log corrupted in its middle is reported here and by read_log(), not by open(), so
  // truncate_log() can still repair it.
  virtual Result<Zxid> last_logged_zxid() = 0;

  // ---- snapshots ----
  // Starts a snapshot named after `zxid` (the tree's last applied zxid when it starts).
  virtual Result<std::unique_ptr<SnapshotWriter>> begin_snapshot(Zxid zxid) = 0;
  // Valid-looking snapshots, newest first.
  virtual Result<std::vector<SnapshotInfo>> list_snapshots() = 0;
  // Streams one snapshot into `sink`, verifying its checksums. Nodes reach the sink before
  // the seals are checked: on a failing Status the caller discards what it received.
  virtual Status load_snapshot(const SnapshotInfo& snapshot, SnapshotSink& sink) = 0;

  // ---- epoch records (currentEpoch / acceptedEpoch) ----
  virtual Result<std::optional<int64_t>> read_epoch(EpochKind kind) = 0;
  virtual Status write_epoch(EpochKind kind, int64_t epoch) = 0;

  // Keeps the newest `retain` (at least 3, as ZooKeeper's PurgeTxnLog) snapshots and the logs
  // they need; deletes the rest.
  virtual Status purge(int retain) = 0;
};

}  // namespace paddock::sdk
