// The in-memory znode tree. Writes arrive only as transactions, applied by one thread in
// zxid order (process_txn, under the exclusive lock, firing watches before it unlocks);
// reads take the shared lock through ReadLock. Mirrors ZooKeeper's DataTree semantics,
// including the idempotent replay rules that make fuzzy snapshots work.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/status.hpp"
#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/types.hpp"
#include "tree/acl_cache.hpp"
#include "util/rw_lock.hpp"
#include "watch/watch_manager.hpp"

namespace paddock::tree {

using sdk::ErrorCode;
using sdk::Stat;
using sdk::StatPersisted;
using sdk::Zxid;
using StringHash = watch::StringHash;

struct Node {
  std::string data;
  bool data_null = false;
  uint32_t digest = 0;  // this node's part of the tree digest, as last added
  int64_t acl_ref = AclCache::kOpenAclUnsafeRef;
  StatPersisted stat;
  std::unordered_set<std::string, StringHash, std::equal_to<>> children;
};

// The client-visible Stat of a node (cversion and ephemeralOwner translated).
Stat client_stat(const Node& node);

// Outcome of applying one transaction (one entry per sub-op for multi).
struct TxnResult {
  int32_t type = 0;         // the txn type applied (-1 when it failed)
  ErrorCode err = ErrorCode::kOk;
  std::string path;
  Stat stat;                // create / setData / setACL
  std::vector<TxnResult> multi;
};

class DataTree {
 public:
  DataTree();
  DataTree(const DataTree&) = delete;
  DataTree& operator=(const DataTree&) = delete;

  // ---- reads: hold a ReadLock while using find() and the node it returns ----
  class ReadLock {
   public:
    explicit ReadLock(const DataTree& t) : lk_(t.mu_) {}
   private:
    std::shared_lock<util::RwLock> lk_;
  };
  const Node* find(std::string_view path) const;
  // The ACL list of a node (OPEN_ACL_UNSAFE for -1; empty if the reference is unknown).
  const std::vector<sdk::Acl>& acl_of(const Node& node) const;
  AclList acl_list_of(const Node& node) const;
  watch::WatchManager& data_watches() { return data_watches_; }
  watch::WatchManager& child_watches() { return child_watches_; }

  // A copy of what prep needs about a node, taken under the shared lock.
  struct NodeInfo {
    StatPersisted stat;
    int32_t num_children = 0;
    AclList acl;
    int64_t data_length = 0;
  };
  std::optional<NodeInfo> node_info(std::string_view path) const;
  // Paths of the ephemerals a session owns.
  std::vector<std::string> ephemerals_of(sdk::SessionId session) const;
  // All ephemerals (session -> paths), for the dump four-letter word.
  std::vector<std::pair<sdk::SessionId, std::vector<std::string>>> all_ephemerals() const;
  // Number of descendants of `path` (getAllChildrenNumber); -1 if there is no such node.
  int64_t descendant_count(std::string_view path) const;
  // Containers and TTL nodes due for deletion at wall-clock `now_ms` (ContainerManager's
  // getCandidates): empty containers that had children (or, with `max_never_used_ms` > 0,
  // that are older than it), empty TTL nodes whose mtime is more than their TTL ago.
  std::vector<std::string> expiry_candidates(int64_t now_ms, int64_t max_never_used_ms) const;

  // ---- quotas (/zookeeper/quota/<path>/zookeeper_limits and zookeeper_stats) ----
  // What a write would do to the quota covering `path` (ZooKeeperServer.checkQuota): the
  // quota's path and one line per limit passed (soft or hard); `hard` if a hard limit is.
  struct QuotaVerdict {
    std::string quota_path;  // "" when no quota covers `path` or nothing is passed
    std::vector<std::string> messages;
    bool hard = false;
  };
  QuotaVerdict check_quota(std::string_view path, int64_t bytes_diff, int64_t count_diff) const;
  // The longest quota'd path that is `path` or one of its ancestors; "" if none.
  std::string quota_prefix_of(std::string_view path) const;

  // ---- writes ----
  // Applies one txn entry: header plus body (`body` positioned after the header).
  // `replay` is set while recovering from the log (idempotent-tolerant rules apply).
  TxnResult process_txn(const sdk::jute::TxnHeader& header, sdk::jute::Reader& body,
                        bool replay = false);

  // Drops all watches of a closing connection.
  void remove_watcher(watch::Watcher* w);

  // ---- snapshots ----
  // Writes the tree fuzzily (node by node under the shared lock, so writes continue).
  sdk::Status serialize(sdk::SnapshotWriter& writer) const;
  // Replaces the content with nodes fed by a snapshot (used before serving).
  class Loader;
  std::unique_ptr<Loader> begin_load();
  // Back to a fresh tree: the root and the /zookeeper system nodes only.
  void reset();

  // ---- statistics ----
  // ZooKeeper counts the root twice ("" and "/"); this does the same, so "Node count" matches.
  size_t node_count() const;
  size_t ephemeral_count() const;
  int64_t approximate_data_size() const;
  Zxid last_processed_zxid() const;
  void set_last_processed_zxid(Zxid zxid);
  // ZooKeeper's tree digest (the 64-bit sum of every node's CRC-32 digest) with the zxid it
  // belongs to, read together.
  std::pair<Zxid, int64_t> digest() const;
  // ZooKeeper's digest log (DataTree.digestLog), what `hash` prints: the tree digest after
  // every transaction whose zxid is a multiple of 128, the newest 1024 of them, oldest first.
  struct ZxidDigest {
    Zxid zxid = 0;
    int64_t digest = 0;
  };
  std::vector<ZxidDigest> digest_log() const;

 private:
  using NodeMap = std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>>;

  Node* find_mut(std::string_view path);
  TxnResult apply(const sdk::jute::TxnHeader& h, int32_t type, sdk::jute::Reader& body, bool replay);
  ErrorCode create_node(std::string_view path, std::optional<std::string> data,
                        const std::vector<sdk::Acl>& acl, int64_t ephemeral_owner,
                        int32_t parent_cversion, Zxid zxid, int64_t time, Stat* out);
  ErrorCode delete_node(std::string_view path, Zxid zxid);
  ErrorCode set_data(std::string_view path, std::optional<std::string> data, int32_t version,
                     Zxid zxid, int64_t time, Stat* out);
  ErrorCode set_acl(std::string_view path, const std::vector<sdk::Acl>& acl, int32_t version,
                    Stat* out);
  void kill_session(sdk::SessionId session, const std::vector<std::string>& listed, Zxid zxid);
  // Quota bookkeeping (the caller holds the exclusive lock).
  std::string quota_prefix_locked(std::string_view path) const;
  void update_quota_stat(const std::string& quota_path, int64_t bytes_diff, int64_t count_diff);
  void recount_quota(const std::string& quota_path);
  void on_quota_node_created(std::string_view path);
  void on_quota_node_deleted(std::string_view path);
  void setup_quotas();
  void add_system_nodes();
  void clear_locked();
  // ZooKeeper's DigestCalculator: CRC-32 of path, data and stat fields; 0 under /zookeeper/.
  static uint64_t node_digest(std::string_view path, const Node& node);
  void digest_add(std::string_view path, Node& node) {
    node.digest = static_cast<uint32_t>(node_digest(path, node));
    digest_ += node.digest;
  }
  void digest_remove(std::string_view, const Node& node) { digest_ -= node.digest; }

  mutable util::RwLock mu_;
  NodeMap nodes_;
  AclCache acls_;
  std::unordered_map<sdk::SessionId, std::set<std::string>> ephemerals_;
  std::set<std::string> containers_;
  std::set<std::string> ttls_;
  std::set<std::string, std::less<>> quota_paths_;  // paths with a zookeeper_limits node
  int64_t data_size_ = 0;
  uint64_t digest_ = 0;  // wraps around, as ZooKeeper's long sum
  std::atomic<Zxid> last_processed_zxid_{0};
  watch::WatchManager data_watches_;
  watch::WatchManager child_watches_;
  mutable std::mutex digest_log_mu_;  // readers of the log never take the tree lock
  std::deque<ZxidDigest> digest_log_;
};

// Feeds a snapshot into a tree: implements the storage SDK's SnapshotSink.
class DataTree::Loader : public sdk::SnapshotSink {
 public:
  explicit Loader(DataTree& tree);
  sdk::Status on_session(const sdk::SessionRecord& session) override;
  sdk::Status on_acl(const sdk::AclRecord& acl) override;
  sdk::Status on_node(const sdk::NodeRecord& node) override;
  sdk::Status on_digest(const sdk::SnapshotDigest& digest) override;
  // Checks the loaded tree is whole and drops unused ACL entries.
  sdk::Status finish();
  const std::vector<sdk::SessionRecord>& sessions() const { return sessions_; }

 private:
  DataTree& tree_;
  std::vector<sdk::SessionRecord> sessions_;
  bool saw_root_ = false;
};

}  // namespace paddock::tree
