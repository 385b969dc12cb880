#include "zk_wire.hpp"

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::bench::wire {

namespace jute = paddock::sdk::jute;
using sdk::OpCode;

void append_frame(std::string& out, std::string_view payload) {
  jute::Writer w(out);
  w.write_int(static_cast<int32_t>(payload.size()));
  w.write_raw(payload);
}

std::optional<std::string_view> FrameBuffer::next() {
  if (bad_) return std::nullopt;
  if (buf_.size() - pos_ < 4) {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return std::nullopt;
  }
  jute::Reader r(buf_.data() + pos_, 4);
  int32_t len = r.read_int();
  if (len < 0 || len > kMaxFrame) {
    bad_ = true;
    return std::nullopt;
  }
  if (buf_.size() - pos_ - 4 < static_cast<size_t>(len)) {
    // Keep the buffer from growing without bound: drop what was consumed before waiting.
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return std::nullopt;
  }
  std::string_view payload(buf_.data() + pos_ + 4, static_cast<size_t>(len));
  pos_ += 4 + static_cast<size_t>(len);
  return payload;
}

std::string connect_request(int32_t session_timeout_ms) {
  std::string payload;
  jute::Writer w(payload);
  w.write_int(0);   // protocolVersion
  w.write_long(0);  // lastZxidSeen
  w.write_int(session_timeout_ms);
  w.write_long(0);  // sessionId: a new session
  w.write_buffer(std::string(16, '\0'));
  w.write_bool(false);  // readOnly
  std::string frame;
  append_frame(frame, payload);
  return frame;
}

std::optional<ConnectResponse> parse_connect_response(std::string_view payload) {
  jute::Reader r(payload);
  r.read_int();  // protocolVersion
  ConnectResponse c;
  c.timeout_ms = r.read_int();
  c.session_id = r.read_long();
  if (!r.ok()) return std::nullopt;
  return c;
}

namespace {

// xid, type, then whatever `body` writes; returned with its length prefix.
template <typename Body>
std::string request(int32_t xid, OpCode op, Body&& body) {
  std::string frame(4, '\0');
  jute::Writer w(frame);
  w.write_int(xid);
  w.write_int(static_cast<int32_t>(op));
  body(w);
  w.patch_int(0, static_cast<int32_t>(frame.size() - 4));
  return frame;
}

}  // namespace

std::string create_frame(int32_t xid, std::string_view path, std::string_view value) {
  return request(xid, OpCode::kCreate, [&](jute::Writer& w) {
    w.write_string(path);
    w.write_buffer(value);
    jute::write_acl_list(w, {sdk::Acl{sdk::perms::kAll, sdk::Id{"world", "anyone"}}});
    w.write_int(0);  // flags: persistent
  });
}

std::string set_data_frame(int32_t xid, std::string_view path, std::string_view value) {
  return request(xid, OpCode::kSetData, [&](jute::Writer& w) {
    w.write_string(path);
    w.write_buffer(value);
    w.write_int(-1);
  });
}

std::string get_data_frame(int32_t xid, std::string_view path) {
  return request(xid, OpCode::kGetData, [&](jute::Writer& w) {
    w.write_string(path);
    w.write_bool(false);  // no watch
  });
}

std::string exists_frame(int32_t xid, std::string_view path) {
  return request(xid, OpCode::kExists, [&](jute::Writer& w) {
    w.write_string(path);
    w.write_bool(false);
  });
}

std::string delete_frame(int32_t xid, std::string_view path) {
  return request(xid, OpCode::kDelete, [&](jute::Writer& w) {
    w.write_string(path);
    w.write_int(-1);
  });
}

std::string close_session_frame(int32_t xid) {
  return request(xid, OpCode::kCloseSession, [](jute::Writer&) {});
}

std::string ping_frame() {
  return request(kPingXid, OpCode::kPing, [](jute::Writer&) {});
}

std::optional<ReplyHeader> parse_reply_header(std::string_view payload) {
  jute::Reader r(payload);
  ReplyHeader h;
  h.xid = r.read_int();
  h.zxid = r.read_long();
  h.err = r.read_int();
  if (!r.ok()) return std::nullopt;
  return h;
}

}  // namespace paddock::bench::wire
