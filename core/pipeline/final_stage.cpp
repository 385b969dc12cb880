#include "pipeline/final_stage.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "acl/access.hpp"
#include "paddock/sdk/jute.hpp"
#include "pipeline/prep_stage.hpp"
#include "proto/requests.hpp"
#include "server/client_connection.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"

namespace paddock::pipeline {

using sdk::jute::Reader;
using sdk::jute::Writer;
using tree::DataTree;

namespace {

constexpr size_t kPrefix = 4 + 16;  // frame length + ReplyHeader

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string& scratch() {
  thread_local std::string buf;
  return buf;
}

// One result of a successful multi op.
void write_multi_result(Writer& w, const tree::TxnResult& res) {
  auto type = static_cast<OpCode>(res.type);
  switch (type) {
    case OpCode::kCreate:
      w.write_int(static_cast<int32_t>(OpCode::kCreate));
      w.write_bool(false);
      w.write_int(0);
      w.write_string(res.path);
      break;
    case OpCode::kCreate2:
    case OpCode::kCreateTtl:
    case OpCode::kCreateContainer:
      w.write_int(static_cast<int32_t>(OpCode::kCreate2));
      w.write_bool(false);
      w.write_int(0);
      w.write_string(res.path);
      sdk::jute::write_stat(w, res.stat);
      break;
    case OpCode::kDelete:
    case OpCode::kDeleteContainer:
      w.write_int(static_cast<int32_t>(OpCode::kDelete));
      w.write_bool(false);
      w.write_int(0);
      break;
    case OpCode::kSetData:
      w.write_int(static_cast<int32_t>(OpCode::kSetData));
      w.write_bool(false);
      w.write_int(0);
      sdk::jute::write_stat(w, res.stat);
      break;
    case OpCode::kCheck:
      w.write_int(static_cast<int32_t>(OpCode::kCheck));
      w.write_bool(false);
      w.write_int(0);
      break;
    default:
      w.write_int(-1);
      w.write_bool(false);
      w.write_int(static_cast<int32_t>(res.err));
      w.write_int(static_cast<int32_t>(res.err));
      break;
  }
}

void write_multi_error(Writer& w, ErrorCode err) {
  w.write_int(-1);
  w.write_bool(false);
  w.write_int(static_cast<int32_t>(err));
  w.write_int(static_cast<int32_t>(err));
}

void write_multi_end(Writer& w) {
  w.write_int(-1);
  w.write_bool(true);
  w.write_int(-1);
}

bool can(const server::ServerContext& ctx, const server::ClientConnection* c,
         const std::vector<sdk::Acl>& acl, int32_t perm) {
  if (!c) return true;
  if (acl::world_allows(acl, perm)) return true;
  return ctx.auth->allowed(acl, perm, c->auth_ids());
}

}  // namespace

sdk::Decision FinalStage::process(sdk::RequestView& view) {
  auto& r = static_cast<Request&>(view);
  std::string& frame = scratch();
  frame.assign(kPrefix, '\0');
  ErrorCode err;
  if (r.has_txn) {
    // A write that reached this stage is durable: it is applied even if a processor after
    // the commit refused it, and the client then gets the processor's error.
    err = apply_write(r, frame);
    if (r.rejected) err = r.err;
  } else if (r.rejected) {
    err = r.err;
  } else if (r.answered) {
    frame.append(r.reply_body);  // a processor's answer to a read
    err = ErrorCode::kOk;
  } else {
    err = execute_read(r, frame);
  }
  answer(r, frame, err, ctx_.tree.last_processed_zxid());
  return sdk::Decision::next();
}

void FinalStage::answer(Request& r, std::string& frame, ErrorCode err, Zxid zxid) {
  if (r.type == OpCode::kCreateSession) return;  // answered by finish_connect
  if (!r.cnxn) {
    // A learner's sync completes when everything proposed before it is committed.
    if (r.origin != 0 && r.type == OpCode::kSync) {
      if (auto done = ctx_.remote_sync_done.load()) (*done)(r.origin);
    }
    return;  // server-internal, or a learner's client (the learner answers it)
  }
  if (err == ErrorCode::kSessionMoved) {
    // The session now lives on another server: ZooKeeper closes the connection instead.
    r.cnxn->request_done(std::chrono::nanoseconds(0), zxid, r.type);
    r.cnxn->close();
    return;
  }
  if (err != ErrorCode::kOk) frame.resize(kPrefix);
  Writer w(frame);
  w.patch_int(4, r.cxid);
  // ReplyHeader.zxid at offset 8 (long) and err at 16.
  for (int i = 0; i < 8; ++i) {
    frame[8 + i] = static_cast<char>((static_cast<uint64_t>(zxid) >> (56 - 8 * i)) & 0xff);
  }
  w.patch_int(16, static_cast<int32_t>(err));
  r.cnxn->send_frame(frame);
  r.cnxn->request_done(std::chrono::nanoseconds(steady_ns() - r.received_ns), zxid, r.type);
  if (r.type == OpCode::kCloseSession) r.cnxn->close_after_send();
}

tree::TxnResult FinalStage::apply_txn(std::string_view txn, Request* r, sdk::jute::TxnHeader& h) {
  Reader rd(txn);
  h = sdk::jute::read_txn_header(rd);
  // What a closing session's connection is, before the session goes.
  std::shared_ptr<server::ClientConnection> session_connection;
  if (h.type == static_cast<int32_t>(OpCode::kCloseSession)) {
    if (auto s = ctx_.sessions.get(h.client_id)) {
      std::lock_guard lk(s->mu);
      session_connection = s->connection.lock();
    }
  }
  int32_t create_timeout = 0;
  if (h.type == static_cast<int32_t>(OpCode::kCreateSession)) {
    Reader body(rd.position(), rd.remaining());
    create_timeout = body.read_int();
  }
  tree::TxnResult rc = ctx_.tree.process_txn(h, rd);
  if (ctx_.prep) ctx_.prep->applied(h.zxid);
  switch (static_cast<OpCode>(h.type)) {
    case OpCode::kCreateSession: {
      auto s = ctx_.sessions.add(h.client_id, create_timeout);
      if (r && r->origin != 0) s->owner = r->origin;
      else if (r && r->cnxn) s->owner = ctx_.my_id;
      break;
    }
    case OpCode::kCloseSession: {
      ctx_.sessions.remove(h.client_id);
      bool own_client = r && r->cnxn && r->cnxn.get() == session_connection.get();
      if (own_client) {
        spdlog::info("session 0x{:x} closed by client {}", h.client_id, r->cnxn->remote_address());
      } else {
        if (r && !r->cnxn && r->origin == 0) spdlog::info("session 0x{:x} expired", h.client_id);
        else spdlog::info("session 0x{:x} closed", h.client_id);
        // The client (if connected here) is told by its connection going away.
        if (session_connection) session_connection->close();
      }
      break;
    }
    default:
      break;
  }
  return rc;
}

ErrorCode FinalStage::apply_write(Request& r, std::string& out) {
  sdk::jute::TxnHeader h;
  tree::TxnResult rc = apply_txn(r.txn, &r, h);
  Writer w(out);
  switch (static_cast<OpCode>(h.type)) {
    case OpCode::kCreateSession:
      if (r.cnxn) r.cnxn->finish_connect(true);
      if (r.cnxn) r.cnxn->request_done(std::chrono::nanoseconds(steady_ns() - r.received_ns), h.zxid, r.type);
      return ErrorCode::kOk;
    case OpCode::kCloseSession:
      return ErrorCode::kOk;
    case OpCode::kError:
      return rc.err;
    case OpCode::kMulti: {
      // One result per op; the header's err stays 0 even when an op failed.
      for (const auto& sub : rc.multi) {
        if (rc.err != ErrorCode::kOk) write_multi_error(w, sub.err);
        else write_multi_result(w, sub);
      }
      write_multi_end(w);
      return ErrorCode::kOk;
    }
    case OpCode::kCreate:
      if (rc.err == ErrorCode::kOk) w.write_string(rc.path);
      return rc.err;
    case OpCode::kCreate2:
    case OpCode::kCreateTtl:
    case OpCode::kCreateContainer:
      if (rc.err == ErrorCode::kOk) {
        w.write_string(rc.path);
        sdk::jute::write_stat(w, rc.stat);
      }
      return rc.err;
    case OpCode::kSetData:
    case OpCode::kSetAcl:
      if (rc.err == ErrorCode::kOk) sdk::jute::write_stat(w, rc.stat);
      return rc.err;
    default:
      return rc.err;
  }
}

ErrorCode FinalStage::execute_read(Request& r, std::string& out) {
  Writer w(out);
  Reader rd(r.payload);
  rd.set_max_length(ctx_.config.jute_max_buffer);
  DataTree& tree = ctx_.tree;
  server::ClientConnection* c = r.cnxn.get();

  // The node at `path` if the caller may READ it (else nullptr and the error); the caller
  // holds the tree's read lock.
  auto readable = [&](const std::string& path, ErrorCode& err) -> const tree::Node* {
    const tree::Node* n = tree.find(path);
    if (!n) err = ErrorCode::kNoNode;
    else if (!can(ctx_, c, tree.acl_of(*n), sdk::perms::kRead)) err = ErrorCode::kNoAuth;
    else return n;
    return nullptr;
  };
  auto write_data = [&](const tree::Node& n) {
    if (n.data_null) w.write_null(); else w.write_buffer(n.data);
    sdk::jute::write_stat(w, tree::client_stat(n));
  };
  auto write_children = [&](const tree::Node& n) {
    w.write_int(static_cast<int32_t>(n.children.size()));
    for (const auto& child : n.children) w.write_string(child);
  };

  proto::OpRequest op;
  switch (r.type) {
    case OpCode::kMultiRead:
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
    case OpCode::kWhoAmI:
      break;  // records of their own
    default:
      if (!proto::decode_op(r.type, rd, op)) {
        return proto::has_path_record(r.type) ? ErrorCode::kMarshallingError
                                              : ErrorCode::kUnimplemented;
      }
      break;
  }

  ErrorCode err = ErrorCode::kOk;
  switch (r.type) {
    case OpCode::kSync:
      w.write_string(op.path);
      return ErrorCode::kOk;
    case OpCode::kExists: {
      if (op.path.find('\0') != std::string::npos) return ErrorCode::kBadArguments;
      DataTree::ReadLock lk(tree);
      const tree::Node* n = tree.find(op.path);
      // ZooKeeper 3.8 checks no permission for exists; the watch is set even without a node.
      if (op.watch && c) tree.data_watches().add(op.path, c);
      if (!n) return ErrorCode::kNoNode;
      sdk::jute::write_stat(w, tree::client_stat(*n));
      return ErrorCode::kOk;
    }
    case OpCode::kGetData: {
      DataTree::ReadLock lk(tree);
      const tree::Node* n = readable(op.path, err);
      if (!n) return err;
      if (op.watch && c) tree.data_watches().add(op.path, c);
      write_data(*n);
      return ErrorCode::kOk;
    }
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2: {
      DataTree::ReadLock lk(tree);
      const tree::Node* n = readable(op.path, err);
      if (!n) return err;
      if (op.watch && c) tree.child_watches().add(op.path, c);
      write_children(*n);
      if (r.type == OpCode::kGetChildren2) sdk::jute::write_stat(w, tree::client_stat(*n));
      return ErrorCode::kOk;
    }
    case OpCode::kGetAcl: {
      DataTree::ReadLock lk(tree);
      const tree::Node* n = tree.find(op.path);
      if (!n) return ErrorCode::kNoNode;
      const auto& acl = tree.acl_of(*n);
      if (!can(ctx_, c, acl, sdk::perms::kRead | sdk::perms::kAdmin)) return ErrorCode::kNoAuth;
      bool admin = can(ctx_, c, acl, sdk::perms::kAdmin);
      w.write_int(static_cast<int32_t>(acl.size()));
      for (const auto& a : acl) {
        if (!admin && a.id.scheme == "digest") {
          // Without ADMIN, digest ids are masked ("user:x").
          sdk::Acl masked = a;
          masked.id.id = a.id.id.substr(0, a.id.id.find(':')) + ":x";
          sdk::jute::write_acl(w, masked);
        } else {
          sdk::jute::write_acl(w, a);
        }
      }
      sdk::jute::write_stat(w, tree::client_stat(*n));
      return ErrorCode::kOk;
    }
    case OpCode::kGetAllChildrenNumber: {
      {
        DataTree::ReadLock lk(tree);
        if (!readable(op.path, err)) return err;
      }
      int64_t count = tree.descendant_count(op.path);
      if (count < 0) return ErrorCode::kNoNode;
      w.write_int(static_cast<int32_t>(count));
      return ErrorCode::kOk;
    }
    case OpCode::kGetEphemerals: {
      auto paths = tree.ephemerals_of(r.session_id);
      std::vector<std::string> matched;
      for (auto& p : paths) {
        if (op.path.empty() || op.path == "/" || p.compare(0, op.path.size(), op.path) == 0) {
          matched.push_back(std::move(p));
        }
      }
      w.write_int(static_cast<int32_t>(matched.size()));
      for (const auto& p : matched) w.write_string(p);
      return ErrorCode::kOk;
    }
    case OpCode::kMultiRead: {
      std::vector<proto::OpRequest> ops;
      bool read_only = false;
      if (!proto::decode_multi(rd, ops, read_only) || (!ops.empty() && !read_only)) {
        return ErrorCode::kMarshallingError;
      }
      DataTree::ReadLock lk(tree);
      for (const auto& sub : ops) {
        ErrorCode e = ErrorCode::kOk;
        const tree::Node* n = readable(sub.path, e);
        if (!n) {
          write_multi_error(w, e);
          continue;
        }
        w.write_int(static_cast<int32_t>(sub.type));
        w.write_bool(false);
        w.write_int(0);
        if (sub.type == OpCode::kGetData) write_data(*n); else write_children(*n);
      }
      write_multi_end(w);
      return ErrorCode::kOk;
    }
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
      return set_watches(r, r.type == OpCode::kSetWatches2);
    case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches: {
      if (!c) return ErrorCode::kNoWatcher;
      // WatcherType: 1 children, 2 data, 3 any.
      bool want_child = op.flags == 1 || op.flags == 3;
      bool want_data = op.flags == 2 || op.flags == 3;
      bool found = false;
      DataTree::ReadLock lk(tree);
      if (r.type == OpCode::kCheckWatches) {
        if (want_child && tree.child_watches().contains(op.path, c)) found = true;
        if (want_data && tree.data_watches().contains(op.path, c)) found = true;
      } else {
        if (want_child && tree.child_watches().remove(op.path, c)) found = true;
        if (want_data && tree.data_watches().remove(op.path, c)) found = true;
      }
      return found ? ErrorCode::kOk : ErrorCode::kNoWatcher;
    }
    case OpCode::kWhoAmI: {
      acl::Ids ids = acl::in_java_set_order(c ? c->auth_ids() : acl::Ids{});
      w.write_int(static_cast<int32_t>(ids.size()));
      for (const auto& id : ids) {
        w.write_string(id.scheme);
        w.write_string(ctx_.auth->user_name(id));
      }
      return ErrorCode::kOk;
    }
    case OpCode::kAddWatch: {
      // AddWatchRequest.mode: 0 persistent, 1 persistent-recursive; registered in both the
      // data and child tables, whether or not the node exists; no permission is checked.
      watch::WatchMode mode;
      if (op.flags == 0) mode = watch::WatchMode::kPersistent;
      else if (op.flags == 1) mode = watch::WatchMode::kPersistentRecursive;
      else return ErrorCode::kMarshallingError;
      if (c) {
        DataTree::ReadLock lk(tree);
        tree.data_watches().add(op.path, c, mode);
        tree.child_watches().add(op.path, c, mode);
      }
      w.write_int(0);  // ErrorResponse{0}
      return ErrorCode::kOk;
    }
    default:
      return ErrorCode::kUnimplemented;
  }
}

ErrorCode FinalStage::set_watches(Request& r, bool v2) {
  Reader rd(r.payload);
  rd.set_max_length(ctx_.config.jute_max_buffer);
  proto::SetWatchesRequest req;
  if (!proto::decode_set_watches(rd, v2, req)) return ErrorCode::kMarshallingError;
  server::ClientConnection* c = r.cnxn.get();
  if (!c) return ErrorCode::kOk;
  DataTree& tree = ctx_.tree;
  // Events for changes the client missed go out before the reply (DataTree.setWatches).
  DataTree::ReadLock lk(tree);
  for (const auto& p : req.data) {
    const tree::Node* n = tree.find(p);
    if (!n) c->process(watch::EventType::kNodeDeleted, p);
    else if (n->stat.mzxid > req.relative_zxid) c->process(watch::EventType::kNodeDataChanged, p);
    else tree.data_watches().add(p, c);
  }
  for (const auto& p : req.exist) {
    if (tree.find(p)) c->process(watch::EventType::kNodeCreated, p);
    else tree.data_watches().add(p, c);
  }
  for (const auto& p : req.child) {
    const tree::Node* n = tree.find(p);
    if (!n) c->process(watch::EventType::kNodeDeleted, p);
    else if (n->stat.pzxid > req.relative_zxid) c->process(watch::EventType::kNodeChildrenChanged, p);
    else tree.child_watches().add(p, c);
  }
  // setWatches2: persistent kinds are restored as they were, without events.
  for (const auto& p : req.persistent) {
    tree.data_watches().add(p, c, watch::WatchMode::kPersistent);
    tree.child_watches().add(p, c, watch::WatchMode::kPersistent);
  }
  for (const auto& p : req.persistent_recursive) {
    tree.data_watches().add(p, c, watch::WatchMode::kPersistentRecursive);
    tree.child_watches().add(p, c, watch::WatchMode::kPersistentRecursive);
  }
  return ErrorCode::kOk;
}

}  // namespace paddock::pipeline
