// The few ZooKeeper client frames paddock-bench writes and reads itself (the readiness probe and
// the native load client): a 4-byte big-endian length, then a jute record (sdk/jute.hpp). No
// sockets here, so every byte can be unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paddock::bench::wire {

// Appends `payload` to `out` behind its length prefix.
void append_frame(std::string& out, std::string_view payload);

// Bytes as they arrive (any split) in, whole frame payloads out.
class FrameBuffer {
 public:
  void append(const char* data, size_t n) { buf_.append(data, n); }
  // The next complete payload, or nullopt until more bytes come. A length outside
  // [0, max_frame] makes bad() true and every later call return nullopt.
  std::optional<std::string_view> next();
  bool bad() const { return bad_; }
  size_t buffered() const { return buf_.size() - pos_; }
  static constexpr int32_t kMaxFrame = 64 << 20;

 private:
  std::string buf_;
  size_t pos_ = 0;
  bool bad_ = false;
};

// ConnectRequest (protocol version 0, no previous session, empty password, not read-only).
std::string connect_request(int32_t session_timeout_ms);
struct ConnectResponse {
  int32_t timeout_ms = 0;  // 0: the server refused the session
  int64_t session_id = 0;
};
std::optional<ConnectResponse> parse_connect_response(std::string_view payload);

// Server notifications (watch events) and pings carry these xids, not a request's.
constexpr int32_t kNotificationXid = -1;
constexpr int32_t kPingXid = -2;

// Request frames of the load client (length prefix included). `value` is the znode data;
// creates are persistent, open ACL (world:anyone, all permissions); versions are -1 (any).
std::string create_frame(int32_t xid, std::string_view path, std::string_view value);
std::string set_data_frame(int32_t xid, std::string_view path, std::string_view value);
std::string get_data_frame(int32_t xid, std::string_view path);
std::string exists_frame(int32_t xid, std::string_view path);
std::string delete_frame(int32_t xid, std::string_view path);
std::string close_session_frame(int32_t xid);
std::string ping_frame();  // xid kPingXid

// ReplyHeader: xid, zxid, err (0 = ok, else a ZooKeeper error code). The body is not needed.
struct ReplyHeader {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;
};
std::optional<ReplyHeader> parse_reply_header(std::string_view payload);


}  // namespace paddock::bench::wire
