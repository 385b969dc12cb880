// Prep: validates writes against the tree plus the changes still in flight, assigns the
// zxid and builds the transaction (ZooKeeper's PrepRequestProcessor). A write that fails
// validation still becomes a txn: an ErrorTxn that consumes a zxid, as in ZooKeeper.
// Reads pass through untouched.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "acl/access.hpp"
#include "paddock/sdk/processor.hpp"
#include "pipeline/request.hpp"
#include "proto/requests.hpp"
#include "tree/acl_cache.hpp"
#include "server/server_context.hpp"
#include "txn/txn.hpp"

namespace paddock::pipeline {

class PrepStage final : public sdk::Processor {
 public:
  explicit PrepStage(server::ServerContext& ctx) : ctx_(ctx) {}

  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext&) override { return {}; }
  sdk::Decision process(sdk::RequestView& view) override;
  void stop() override {}

  // The zxid the next write gets is last + 1.
  void set_last_zxid(Zxid zxid) { last_zxid_ = zxid; }
  Zxid last_zxid() const { return last_zxid_; }
  // Called by the final stage once the txn with `zxid` is in the tree.
  void applied(Zxid zxid);
  size_t outstanding_changes() const;
  // Forgets every change in flight (a leader stepping down, a learner resynchronising).
  void reset(Zxid last_zxid);
  // Called (under prep's lock) when the next zxid's counter would wrap.
  void set_rollover_handler(std::function<void()> f) { on_zxid_rollover_ = std::move(f); }

 private:
  struct ChangeRecord {
    Zxid zxid = -1;
    std::string path;
    std::optional<sdk::StatPersisted> stat;  // nullopt: deleted
    int32_t child_count = 0;
    tree::AclList acl;
    int64_t data_length = 0;  // for quota checks
  };
  struct Undo {
    std::string path;
    std::optional<ChangeRecord> previous;
  };
  // Failure of one op: the code a client sees.
  struct Fail {
    sdk::ErrorCode code;
  };

  // False when the epoch has no zxid left (the rollover handler has been told).
  bool prep_write(Request& r);
  // Builds the txn body of one op into `out`, recording its changes; throws Fail.
  int32_t op_to_txn(Request& r, const proto::OpRequest& op, std::string& out);
  // The state of `path` once everything in flight is applied; nullopt if it will not exist.
  std::optional<ChangeRecord> find_record(const std::string& path);
  // Same, failing with NONODE.
  ChangeRecord record_for(const std::string& path);
  void add_change(ChangeRecord rec);
  void rollback(size_t undo_mark);
  void check_acl(const Request& r, const std::vector<sdk::Acl>& acl, int32_t perm);
  void check_session(const Request& r);
  // Quotas (ZooKeeperServer.checkQuota): exceeded limits are logged; a hard one fails the
  // write with QUOTAEXCEEDED when enforceQuota is set.
  void check_quota(const std::string& path, int64_t bytes_diff, int64_t count_diff);
  void prep_delete_container(Request& r, std::string& body);
  // The pending changes of deleting `path`: gone, and one child fewer under `parent`.
  void record_delete(const std::string& path, Zxid zxid, ChangeRecord parent);
  static acl::Ids ids_of(const Request& r);
  static int32_t check_version(int32_t current, int32_t expected);

  server::ServerContext& ctx_;
  mutable std::mutex mu_;  // guards the change records (final removes them)
  std::unordered_map<std::string, ChangeRecord> by_path_;
  std::deque<std::pair<Zxid, std::string>> outstanding_;  // zxid order
  std::vector<Undo> undo_;  // changes of the multi being prepared
  bool in_multi_ = false;
  Zxid last_zxid_ = 0;
  std::function<void()> on_zxid_rollover_;
  bool rolled_over_ = false;
};

}  // namespace paddock::pipeline
