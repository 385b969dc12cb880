#include "pipeline/prep_stage.hpp"

#include <chrono>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "server/client_connection.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"
#include "tree/path.hpp"

namespace paddock::pipeline {

using sdk::jute::Reader;
using sdk::jute::Writer;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_normal_ephemeral(int64_t owner) {
  return owner != 0 && owner != sdk::kContainerEphemeralOwner &&
         (static_cast<uint64_t>(owner) & sdk::kTtlMask) != sdk::kTtlMask;
}

std::string parent_key(const std::string& path) {
  // ZooKeeper's parent of "/a" is "" (its name for the root); ours is "/".
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

sdk::Decision PrepStage::process(sdk::RequestView& view) {
  auto& r = static_cast<Request&>(view);
  if (r.rejected) return sdk::Decision::next();
  if (ctx_.read_only.load(std::memory_order_relaxed) &&
      (r.is_write() || r.type == OpCode::kSync) && r.type != OpCode::kCreateSession &&
      r.type != OpCode::kCloseSession) {
    // A read-only server (ZooKeeper's ReadOnlyRequestProcessor): no txn, no zxid.
    return sdk::Decision::reject(sdk::ErrorCode::kNotReadOnly);
  }
  if (!r.is_write()) return sdk::Decision::next();
  if (!prep_write(r)) {
    // No zxid is left in this epoch: the leader is stepping down for a new election, and the
    // write did not happen (the client sees what it would see when the leader goes).
    return sdk::Decision::reject(sdk::ErrorCode::kConnectionLoss);
  }
  return sdk::Decision::next();
}

void PrepStage::reset(Zxid last_zxid) {
  std::lock_guard lk(mu_);
  by_path_.clear();
  outstanding_.clear();
  undo_.clear();
  in_multi_ = false;
  rolled_over_ = false;
  last_zxid_ = last_zxid;
}

size_t PrepStage::outstanding_changes() const {
  std::lock_guard lk(mu_);
  return outstanding_.size();
}

void PrepStage::applied(Zxid zxid) {
  std::lock_guard lk(mu_);
  while (!outstanding_.empty() && outstanding_.front().first <= zxid) {
    const std::string& path = outstanding_.front().second;
    auto it = by_path_.find(path);
    if (it != by_path_.end() && it->second.zxid <= zxid) by_path_.erase(it);
    outstanding_.pop_front();
  }
}

std::optional<PrepStage::ChangeRecord> PrepStage::find_record(const std::string& path) {
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    if (!it->second.stat) return std::nullopt;
    return it->second;
  }
  auto info = ctx_.tree.node_info(path.empty() ? std::string_view("/") : std::string_view(path));
  if (!info) return std::nullopt;
  ChangeRecord rec;
  rec.zxid = -1;
  rec.path = path;
  rec.stat = info->stat;
  rec.child_count = info->num_children;
  rec.acl = std::move(info->acl);
  rec.data_length = info->data_length;
  return rec;
}

PrepStage::ChangeRecord PrepStage::record_for(const std::string& path) {
  auto rec = find_record(path);
  if (!rec) throw Fail{sdk::ErrorCode::kNoNode};
  return std::move(*rec);
}

void PrepStage::add_change(ChangeRecord rec) {
  if (in_multi_) {
    auto it = by_path_.find(rec.path);
    undo_.push_back({rec.path, it == by_path_.end() ? std::nullopt : std::optional(it->second)});
  }
  outstanding_.emplace_back(rec.zxid, rec.path);
  std::string key = rec.path;
  by_path_.insert_or_assign(std::move(key), std::move(rec));
}

void PrepStage::rollback(size_t undo_mark) {
  while (undo_.size() > undo_mark) {
    Undo& u = undo_.back();
    if (u.previous) by_path_.insert_or_assign(u.path, std::move(*u.previous));
    else by_path_.erase(u.path);
    outstanding_.pop_back();
    undo_.pop_back();
  }
}

acl::Ids PrepStage::ids_of(const Request& r) {
  if (r.cnxn) return r.cnxn->auth_ids();
  return r.forwarded_auth;
}

void PrepStage::check_session(const Request& r) {
  std::shared_ptr<session::Session> s = r.session_ref ? r.session_ref : ctx_.sessions.get(r.session_id);
  if (!s || s->closing.load()) throw Fail{sdk::ErrorCode::kSessionExpired};
  // In an ensemble a session's writes must come through the server its client is on.
  if (ctx_.my_id != 0) {
    int64_t owner = s->owner.load();
    int64_t via = r.origin != 0 ? r.origin : ctx_.my_id;
    if (owner != 0 && owner != via) throw Fail{sdk::ErrorCode::kSessionMoved};
  }
}

void PrepStage::check_acl(const Request& r, const std::vector<sdk::Acl>& acl, int32_t perm) {
  if (!r.cnxn && r.origin == 0) return;  // server-internal requests act as the server itself
  if (acl::world_allows(acl, perm)) return;
  if (!ctx_.auth->allowed(acl, perm, ids_of(r))) throw Fail{sdk::ErrorCode::kNoAuth};
}

void PrepStage::check_quota(const std::string& path, int64_t bytes_diff, int64_t count_diff) {
  auto verdict = ctx_.tree.check_quota(path, bytes_diff, count_diff);
  if (verdict.quota_path.empty()) return;
  for (const auto& m : verdict.messages) spdlog::warn("{}", m);
  if (verdict.hard && ctx_.config.enforce_quota) throw Fail{sdk::ErrorCode::kQuotaExceeded};
}

void PrepStage::prep_delete_container(Request& r, std::string& body) {
  // ContainerManager's request: the path is the payload; no session or permission check.
  Reader rd(r.payload);
  std::string path = rd.read_string();
  if (!rd.ok() || path.rfind('/') == std::string::npos || path.find('\0') != std::string::npos) {
    throw Fail{sdk::ErrorCode::kBadArguments};
  }
  ChangeRecord node = record_for(path);
  if (node.child_count > 0) throw Fail{sdk::ErrorCode::kNotEmpty};
  if (is_normal_ephemeral(node.stat->ephemeral_owner)) throw Fail{sdk::ErrorCode::kBadVersion};
  ChangeRecord parent = record_for(parent_key(path));
  Writer w(body);
  txn::write_delete(w, {path});
  record_delete(path, r.txn_zxid, std::move(parent));
}

void PrepStage::record_delete(const std::string& path, Zxid zxid, ChangeRecord parent) {
  parent.zxid = zxid;
  parent.child_count--;
  parent.stat->pzxid = zxid;
  add_change(std::move(parent));
  ChangeRecord gone;
  gone.zxid = zxid;
  gone.path = path;
  gone.child_count = -1;
  add_change(std::move(gone));
}

int32_t PrepStage::check_version(int32_t current, int32_t expected) {
  if (expected != -1 && expected != current) throw Fail{sdk::ErrorCode::kBadVersion};
  return current + 1;
}

int32_t PrepStage::op_to_txn(Request& r, const proto::OpRequest& op, std::string& out) {
  Writer w(out);
  const Zxid zxid = r.txn_zxid;
  switch (op.type) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl: {
      int32_t flags = op.flags;
      if (flags < 0 || flags > 6) throw Fail{sdk::ErrorCode::kBadArguments};
      auto mode = static_cast<sdk::CreateMode>(flags);
      bool ttl_mode = mode == sdk::CreateMode::kPersistentWithTtl ||
                      mode == sdk::CreateMode::kPersistentSequentialWithTtl;
      bool ephemeral = mode == sdk::CreateMode::kEphemeral ||
                       mode == sdk::CreateMode::kEphemeralSequential;
      bool sequential = mode == sdk::CreateMode::kPersistentSequential ||
                        mode == sdk::CreateMode::kEphemeralSequential ||
                        mode == sdk::CreateMode::kPersistentSequentialWithTtl;
      bool container = mode == sdk::CreateMode::kContainer;
      // TTL nodes need extended types (zookeeper.extendedTypesEnabled); EphemeralType's TTL
      // range is 1 .. 2^40-1 ms, and no other mode takes a TTL.
      if (ttl_mode && !ctx_.config.extended_types_enabled) throw Fail{sdk::ErrorCode::kUnimplemented};
      if (ttl_mode ? (op.ttl <= 0 || op.ttl > 0xFFFFFFFFFFLL) : op.ttl >= 0) {
        throw Fail{sdk::ErrorCode::kBadArguments};
      }
      check_session(r);
      std::string path = op.path;
      size_t last_slash = path.rfind('/');
      if (last_slash == std::string::npos || path.find('\0') != std::string::npos) {
        throw Fail{sdk::ErrorCode::kBadArguments};
      }
      std::vector<sdk::Acl> acl = op.acl;
      if (auto code = ctx_.auth->fixup(acl, ids_of(r)); code != sdk::ErrorCode::kOk) {
        throw Fail{code};
      }
      ChangeRecord parent = record_for(parent_key(path));
      check_acl(r, *parent.acl, sdk::perms::kCreate);
      int32_t parent_cversion = parent.stat->cversion;
      if (sequential) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "%010d", parent_cversion);
        path += suffix;
      }
      if (!tree::is_valid_path(path)) throw Fail{sdk::ErrorCode::kBadArguments};
      if (find_record(path)) throw Fail{sdk::ErrorCode::kNodeExists};
      if (is_normal_ephemeral(parent.stat->ephemeral_owner)) {
        throw Fail{sdk::ErrorCode::kNoChildrenForEphemerals};
      }
      int32_t new_cversion = parent_cversion + 1;
      const int64_t data_length = op.data ? static_cast<int64_t>(op.data->size()) : 0;
      check_quota(path, data_length, 1);
      txn::CreateTxn t;
      t.path = path;
      t.data = op.data;
      t.acl = acl;
      t.ephemeral = ephemeral;
      t.parent_cversion = new_cversion;
      t.ttl = op.ttl;
      txn::write_create(w, static_cast<int32_t>(op.type), t);
      if (r.first_path.empty()) r.first_path = path;

      int64_t owner = 0;
      if (container) owner = sdk::kContainerEphemeralOwner;
      else if (ttl_mode) owner = static_cast<int64_t>(sdk::kTtlMask | static_cast<uint64_t>(op.ttl));
      else if (ephemeral) owner = r.session_id;
      parent.zxid = zxid;
      parent.child_count++;
      parent.stat->cversion = new_cversion;
      parent.stat->pzxid = zxid;
      add_change(std::move(parent));
      ChangeRecord node;
      node.zxid = zxid;
      node.path = path;
      sdk::StatPersisted s;
      s.czxid = s.mzxid = s.pzxid = zxid;
      s.ctime = s.mtime = r.time;
      s.ephemeral_owner = owner;
      node.stat = s;
      node.acl = std::make_shared<const std::vector<sdk::Acl>>(std::move(acl));
      node.data_length = data_length;
      add_change(std::move(node));
      return static_cast<int32_t>(op.type);
    }
    case OpCode::kDelete: {
      check_session(r);
      const std::string& path = op.path;
      size_t last_slash = path.rfind('/');
      if (last_slash == std::string::npos || path.find('\0') != std::string::npos ||
          tree::is_special_path(path)) {
        throw Fail{sdk::ErrorCode::kBadArguments};
      }
      ChangeRecord parent = record_for(parent_key(path));
      check_acl(r, *parent.acl, sdk::perms::kDelete);
      ChangeRecord node = record_for(path);
      check_version(node.stat->version, op.version);
      if (node.child_count > 0) throw Fail{sdk::ErrorCode::kNotEmpty};
      txn::write_delete(w, {path});
      record_delete(path, zxid, std::move(parent));
      return static_cast<int32_t>(OpCode::kDelete);
    }
    case OpCode::kSetData: {
      check_session(r);
      if (!tree::is_valid_path(op.path)) throw Fail{sdk::ErrorCode::kBadArguments};
      ChangeRecord node = record_for(op.path);
      check_acl(r, *node.acl, sdk::perms::kWrite);
      const int64_t data_length = op.data ? static_cast<int64_t>(op.data->size()) : 0;
      check_quota(op.path, data_length - node.data_length, 0);
      int32_t version = check_version(node.stat->version, op.version);
      txn::write_set_data(w, {op.path, op.data, version});
      node.data_length = data_length;
      node.zxid = zxid;
      node.stat->version = version;
      node.stat->mtime = r.time;
      node.stat->mzxid = zxid;
      add_change(std::move(node));
      return static_cast<int32_t>(OpCode::kSetData);
    }
    case OpCode::kSetAcl: {
      check_session(r);
      if (!tree::is_valid_path(op.path)) throw Fail{sdk::ErrorCode::kBadArguments};
      std::vector<sdk::Acl> acl = op.acl;
      if (auto code = ctx_.auth->fixup(acl, ids_of(r)); code != sdk::ErrorCode::kOk) {
        throw Fail{code};
      }
      ChangeRecord node = record_for(op.path);
      check_acl(r, *node.acl, sdk::perms::kAdmin);
      int32_t version = check_version(node.stat->aversion, op.version);
      txn::write_set_acl(w, {op.path, acl, version});
      node.zxid = zxid;
      node.stat->aversion = version;
      node.acl = std::make_shared<const std::vector<sdk::Acl>>(std::move(acl));
      add_change(std::move(node));
      return static_cast<int32_t>(OpCode::kSetAcl);
    }
    case OpCode::kCheck: {
      check_session(r);
      if (!tree::is_valid_path(op.path)) throw Fail{sdk::ErrorCode::kBadArguments};
      ChangeRecord node = record_for(op.path);
      check_acl(r, *node.acl, sdk::perms::kRead);
      txn::write_check(w, {op.path, check_version(node.stat->version, op.version)});
      return static_cast<int32_t>(OpCode::kCheck);
    }
    default:
      throw Fail{sdk::ErrorCode::kMarshallingError};
  }
}

bool PrepStage::prep_write(Request& r) {
  std::lock_guard lk(mu_);
  if (sdk::zxid_counter(last_zxid_ + 1) == 0xffffffffLL && on_zxid_rollover_) {
    // The counter would wrap: ZooKeeper forces a new election (a new epoch) instead, and
    // proposes nothing more in this one.
    if (!rolled_over_) on_zxid_rollover_();
    rolled_over_ = true;
    return false;
  }
  r.txn_zxid = ++last_zxid_;
  r.time = wall_ms();
  r.has_txn = true;
  int32_t type = static_cast<int32_t>(r.type);
  std::string body;
  try {
    switch (r.type) {
      case OpCode::kCreateSession: {
        // A session a learner created: the leader tracks it from now on, owned by that learner.
        if (r.origin != 0) {
          auto s = ctx_.sessions.add(r.session_id, r.session_timeout);
          s->owner = r.origin;
        }
        Writer w(body);
        txn::write_create_session(w, {r.session_timeout});
        break;
      }
      case OpCode::kCloseSession: {
        // The session's ephemerals as they will be once everything in flight is applied.
        std::vector<std::string> current = ctx_.tree.ephemerals_of(r.session_id);
        std::set<std::string> paths(current.begin(), current.end());
        for (const auto& [zxid, path] : outstanding_) {
          auto it = by_path_.find(path);
          if (it == by_path_.end()) continue;
          if (!it->second.stat) paths.erase(path);
          else if (it->second.stat->ephemeral_owner == r.session_id) paths.insert(path);
        }
        txn::CloseSessionTxn t;
        for (const auto& p : paths) {
          try {
            ChangeRecord parent = record_for(parent_key(p));
            parent.zxid = r.txn_zxid;
            parent.child_count--;
            parent.stat->pzxid = r.txn_zxid;
            add_change(std::move(parent));
          } catch (const Fail&) {
          }
          ChangeRecord gone;
          gone.zxid = r.txn_zxid;
          gone.path = p;
          gone.child_count = -1;
          add_change(std::move(gone));
          t.paths_to_delete.push_back(p);
        }
        Writer w(body);
        txn::write_close_session(w, t);
        if (auto s = r.session_ref ? r.session_ref : ctx_.sessions.get(r.session_id)) s->closing = true;
        break;
      }
      case OpCode::kMulti: {
        Reader rd(r.payload);
        rd.set_max_length(ctx_.config.jute_max_buffer);
        std::vector<proto::OpRequest> ops;
        bool read_only = false;
        if (!proto::decode_multi(rd, ops, read_only) || read_only) {
          throw Fail{sdk::ErrorCode::kMarshallingError};
        }
        if (!ops.empty() && r.first_path.empty()) r.first_path = ops.front().path;
        std::vector<txn::SubTxn> subs;
        subs.reserve(ops.size());
        in_multi_ = true;
        undo_.clear();
        bool failed = false;
        for (const auto& op : ops) {
          txn::SubTxn sub;
          if (failed) {
            sub.type = static_cast<int32_t>(OpCode::kError);
            Writer w(sub.data);
            txn::write_error(w, {static_cast<int32_t>(sdk::ErrorCode::kRuntimeInconsistency)});
          } else {
            try {
              sub.type = op_to_txn(r, op, sub.data);
            } catch (const Fail& f) {
              failed = true;
              rollback(0);
              sub.type = static_cast<int32_t>(OpCode::kError);
              sub.data.clear();
              Writer w(sub.data);
              txn::write_error(w, {static_cast<int32_t>(f.code)});
            }
          }
          subs.push_back(std::move(sub));
        }
        in_multi_ = false;
        undo_.clear();
        Writer w(body);
        txn::write_multi(w, subs);
        break;
      }
      case OpCode::kReconfig:
        throw Fail{sdk::ErrorCode::kReconfigDisabled};
      case OpCode::kDeleteContainer:
        prep_delete_container(r, body);
        break;
      default: {
        Reader rd(r.payload);
        rd.set_max_length(ctx_.config.jute_max_buffer);
        proto::OpRequest op;
        if (!proto::decode_op(r.type, rd, op)) throw Fail{sdk::ErrorCode::kMarshallingError};
        type = op_to_txn(r, op, body);
        break;
      }
    }
  } catch (const Fail& f) {
    in_multi_ = false;
    undo_.clear();
    type = static_cast<int32_t>(OpCode::kError);
    body.clear();
    Writer w(body);
    txn::write_error(w, {static_cast<int32_t>(f.code)});
    r.err = f.code;
  }
  r.txn.clear();
  r.txn.reserve(sdk::jute::kTxnHeaderSize + body.size());
  Writer w(r.txn);
  sdk::jute::write_txn_header(w, {r.session_id, r.cxid, r.txn_zxid, r.time, type});
  w.write_raw(body);
  return true;
}

}  // namespace paddock::pipeline
