#include "txn/txn.hpp"

namespace paddock::txn {

using sdk::OpCode;

void write_create(Writer& w, int32_t type, const CreateTxn& t) {
  w.write_string(t.path);
  w.write_optional_buffer(t.data);
  sdk::jute::write_acl_list(w, t.acl);
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreateContainer:
      w.write_int(t.parent_cversion);
      break;
    case OpCode::kCreateTtl:
      w.write_int(t.parent_cversion);
      w.write_long(t.ttl);
      break;
    default:
      w.write_bool(t.ephemeral);
      w.write_int(t.parent_cversion);
      break;
  }
}

bool read_create(Reader& r, int32_t type, CreateTxn& t) {
  t.path = r.read_string();
  t.data = r.read_optional_buffer();
  t.acl = sdk::jute::read_acl_list(r);
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreateContainer:
      t.parent_cversion = r.read_int();
      break;
    case OpCode::kCreateTtl:
      t.parent_cversion = r.read_int();
      t.ttl = r.read_long();
      break;
    default:
      t.ephemeral = r.read_bool();
      // CreateTxnV0 (pre-3.3 logs) ends here: parentCVersion -1.
      t.parent_cversion = r.remaining() >= 4 ? r.read_int() : -1;
      break;
  }
  return r.ok();
}

void write_delete(Writer& w, const DeleteTxn& t) { w.write_string(t.path); }

void write_set_data(Writer& w, const SetDataTxn& t) {
  w.write_string(t.path);
  w.write_optional_buffer(t.data);
  w.write_int(t.version);
}

void write_set_acl(Writer& w, const SetAclTxn& t) {
  w.write_string(t.path);
  sdk::jute::write_acl_list(w, t.acl);
  w.write_int(t.version);
}

void write_check(Writer& w, const CheckVersionTxn& t) {
  w.write_string(t.path);
  w.write_int(t.version);
}

void write_create_session(Writer& w, const CreateSessionTxn& t) { w.write_int(t.timeout_ms); }

void write_close_session(Writer& w, const CloseSessionTxn& t) {
  w.write_int(static_cast<int32_t>(t.paths_to_delete.size()));
  for (const auto& p : t.paths_to_delete) w.write_string(p);
}

void write_error(Writer& w, const ErrorTxn& t) { w.write_int(t.err); }

void write_multi(Writer& w, const std::vector<SubTxn>& subs) {
  w.write_int(static_cast<int32_t>(subs.size()));
  for (const auto& s : subs) {
    w.write_int(s.type);
    w.write_buffer(s.data);
  }
}

bool read_multi(Reader& r, std::vector<SubTxn>& subs) {
  int32_t n = r.read_count(8);
  subs.clear();
  subs.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    SubTxn s;
    s.type = r.read_int();
    s.data = r.read_string();
    subs.push_back(std::move(s));
  }
  return r.ok();
}

}  // namespace paddock::txn
