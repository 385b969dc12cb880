// The transaction log and the epoch records in paddock-log.sqlite (schema.hpp).
//
// Group commit: append() copies the entry into one reusable buffer (no SQLite call, no
// allocation once the buffer has grown to a batch); commit() writes the batch with reused
// prepared statements inside one SQLite transaction and commits it. With synchronous=FULL in
// WAL mode that commit returns only after the -wal file is fsynced, so a committed batch
// survives a process kill and a power loss; a batch whose commit never finished is rolled
// back by SQLite (its WAL frames fail the checksum or lack a commit frame) and is invisible.
//
// Connections: one for the sync thread (append / commit / roll / truncate), one shared by
// epochs and purge (any one other thread), one per log iterator, one for the checkpointer
// thread that copies the WAL back into the database in the background (so the sync thread
// does not pay for it, unless the WAL grows past a hard limit).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/storage.hpp"
#include "sqlite_db.hpp"

namespace paddock::storage_sqlite {

class TxnStore {
 public:
  explicit TxnStore(sdk::Host* host) : host_(host) {}
  ~TxnStore();
  TxnStore(const TxnStore&) = delete;
  TxnStore& operator=(const TxnStore&) = delete;

  Status open(const std::string& path, bool force_sync);

  Status append(sdk::Zxid zxid, std::string_view entry);
  Status commit();
  Status roll();
  Result<std::unique_ptr<sdk::TxnIterator>> read(sdk::Zxid from);
  Status truncate(sdk::Zxid last_kept);
  sdk::Zxid last_zxid() const noexcept { return last_zxid_.load(std::memory_order_relaxed); }

  // Deletes the segments that start before the segment holding `zxid` (storage-file's
  // PurgeTxnLog rule: the log file that may hold txns of the oldest kept snapshot stays).
  Status purge_before_segment_of(sdk::Zxid zxid);

  Result<std::optional<int64_t>> read_epoch(const char* name);
  Status write_epoch(const char* name, int64_t value);

 private:
  struct Pending {
    sdk::Zxid zxid;
    size_t offset;
    size_t size;
    uint32_t checksum;
  };

  Status write_pending();  // inside the open transaction
  Status fail(Status st);
  void checkpoint_loop();
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);

  sdk::Host* host_;
  std::string path_;
  bool force_sync_ = true;

  // ---- sync thread ----
  Db db_;
  Stmt insert_txn_;
  Stmt insert_segment_;
  std::string pending_bytes_;          // the batch's entries back to back; reused
  std::vector<Pending> pending_;       // reused
  std::vector<sdk::Zxid> pending_segments_;
  bool in_segment_ = false;            // an append since open / roll / truncate
  bool in_transaction_ = false;        // a spilled batch holds the write transaction open
  Status health_;                      // latched: after a failed commit nothing is trusted
  std::atomic<sdk::Zxid> last_zxid_{0};

  // ---- epochs and purge (any one thread) ----
  std::mutex aux_mu_;
  Db aux_db_;

  // ---- background checkpoints ----
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;
  bool ckpt_stop_ = false;
  int wal_frames_ = 0;                 // frames in the WAL after the last commit (sync thread)
  Db ckpt_db_;
  std::thread ckpt_thread_;
};

}  // namespace paddock::storage_sqlite
