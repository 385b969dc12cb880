#include "proto/requests.hpp"

namespace paddock::proto {

using sdk::jute::Reader;

bool has_path_record(OpCode type) {
  switch (type) {
    case OpCode::kCreate: case OpCode::kCreate2: case OpCode::kCreateContainer:
    case OpCode::kCreateTtl: case OpCode::kDelete: case OpCode::kCheck: case OpCode::kSetData:
    case OpCode::kSetAcl: case OpCode::kExists: case OpCode::kGetData: case OpCode::kGetChildren:
    case OpCode::kGetChildren2: case OpCode::kGetAcl: case OpCode::kSync:
    case OpCode::kGetAllChildrenNumber: case OpCode::kGetEphemerals: case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches: case OpCode::kAddWatch:
      return true;
    default:
      return false;
  }
}

bool decode_op(OpCode type, Reader& r, OpRequest& out) {
  out.type = type;
  switch (type) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl:
      out.path = r.read_string();
      out.data = r.read_optional_buffer();
      out.acl = sdk::jute::read_acl_list(r);
      out.flags = r.read_int();
      if (type == OpCode::kCreateTtl) out.ttl = r.read_long();
      break;
    case OpCode::kDelete:
    case OpCode::kCheck:
      out.path = r.read_string();
      out.version = r.read_int();
      break;
    case OpCode::kSetData:
      out.path = r.read_string();
      out.data = r.read_optional_buffer();
      out.version = r.read_int();
      break;
    case OpCode::kSetAcl:
      out.path = r.read_string();
      out.acl = sdk::jute::read_acl_list(r);
      out.version = r.read_int();
      break;
    case OpCode::kExists:
    case OpCode::kGetData:
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2:
      out.path = r.read_string();
      out.watch = r.read_bool();
      break;
    case OpCode::kGetAcl:
    case OpCode::kSync:
    case OpCode::kGetAllChildrenNumber:
    case OpCode::kGetEphemerals:
      out.path = r.read_string();
      break;
    case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches:
    case OpCode::kAddWatch:
      out.path = r.read_string();
      out.flags = r.read_int();
      break;
    default:
      return false;
  }
  return r.ok();
}

bool decode_multi(Reader& r, std::vector<OpRequest>& ops, bool& read_only) {
  ops.clear();
  bool saw_read = false;
  bool saw_write = false;
  // Each op is preceded by a MultiHeader{type, done, err}; done=true ends the list.
  for (;;) {
    int32_t type = r.read_int();
    bool done = r.read_bool();
    r.read_int();  // err, unused in requests
    if (!r.ok()) return false;
    if (done) break;
    auto op = static_cast<OpCode>(type);
    switch (op) {
      case OpCode::kCreate:
      case OpCode::kCreate2:
      case OpCode::kCreateTtl:
      case OpCode::kCreateContainer:
      case OpCode::kDelete:
      case OpCode::kSetData:
      case OpCode::kCheck:
        saw_write = true;
        break;
      case OpCode::kGetChildren:
      case OpCode::kGetData:
        saw_read = true;
        break;
      default:
        return false;
    }
    if (saw_read && saw_write) return false;
    OpRequest req;
    if (!decode_op(op, r, req)) return false;
    ops.push_back(std::move(req));
  }
  read_only = saw_read;
  return true;
}

bool decode_connect(Reader& r, ConnectRequest& out) {
  out.protocol_version = r.read_int();
  out.last_zxid_seen = r.read_long();
  out.timeout_ms = r.read_int();
  out.session_id = r.read_long();
  out.password = std::string(r.read_view());
  if (!r.ok()) return false;
  // The readOnly flag trails the jute record; clients before 3.4 do not send it.
  if (r.remaining() >= 1) {
    out.read_only = r.read_bool();
    out.has_read_only_byte = true;
  }
  return true;
}

namespace {
void read_paths(Reader& r, std::vector<std::string>& out) {
  int32_t n = r.read_count(4);
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.read_string());
}
}  // namespace

bool decode_set_watches(Reader& r, bool v2, SetWatchesRequest& out) {
  out.relative_zxid = r.read_long();
  read_paths(r, out.data);
  read_paths(r, out.exist);
  read_paths(r, out.child);
  if (v2) {
    read_paths(r, out.persistent);
    read_paths(r, out.persistent_recursive);
  }
  return r.ok();
}

}  // namespace paddock::proto
