// One client connection on the client port: framing, the connect handshake, four-letter
// words, decoding requests into the pipeline, and writing replies and watch events.
//
// Threads: on_receive / on_closed run on the connection's I/O thread. Replies and watch
// events may be sent from the sync thread too; they go out in the order they are sent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acl/access.hpp"
#include "admin/server_info.hpp"
#include "paddock/sdk/transport.hpp"
#include "paddock/sdk/types.hpp"
#include "server/server_context.hpp"
#include "watch/watch_manager.hpp"

namespace paddock::session { struct Session; }
namespace paddock::pipeline { struct Request; }
namespace paddock::proto { struct ConnectRequest; }

namespace paddock::server {

class ClientConnection;

// Live client connections, for stat / cons / dump and the per-address limit.
class ConnectionRegistry {
 public:
  // False when `ip` already has `limit` connections (limit 0 = unlimited).
  bool add(const std::shared_ptr<ClientConnection>& c, const std::string& ip, int32_t limit);
  void remove(const ClientConnection* c, const std::string& ip);
  std::vector<std::shared_ptr<ClientConnection>> all() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<const ClientConnection*, std::weak_ptr<ClientConnection>> conns_;
  std::unordered_map<std::string, int32_t> per_ip_;
};

class ClientConnection final : public sdk::ConnectionHandler,
                               public watch::Watcher,
                               public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(ServerContext& ctx, std::shared_ptr<sdk::Connection> conn);
  ~ClientConnection() override;

  // sdk::ConnectionHandler (I/O thread)
  void on_receive(const uint8_t* data, size_t size) override;
  void on_closed(const std::string& reason) override;

  // watch::Watcher (applying thread)
  void process(watch::EventType type, std::string_view path) override;
  int64_t watcher_session() const override { return session_id_.load(std::memory_order_relaxed); }
  bool may_read(const std::vector<sdk::Acl>& acl) const override;

  // ---- replies (any thread) ----
  // `frame` starts with 4 bytes reserved for the length, which this fills in.
  void send_frame(std::string& frame);
  // Answers the connect request once its createSession is committed.
  void finish_connect(bool valid);
  // One request of this connection was answered, `latency` after it arrived (recorded in the
  // server's statistics and per-op latency metrics).
  void request_done(std::chrono::nanoseconds latency, sdk::Zxid zxid, sdk::OpCode op);
  void close_after_send();
  void close();

  acl::Ids auth_ids() const;
  const std::string& remote_address() const { return conn_->remote_address(); }
  std::string remote_ip() const;
  int64_t session_id() const { return session_id_.load(std::memory_order_relaxed); }
  int32_t session_timeout() const { return timeout_ms_.load(std::memory_order_relaxed); }

  // What stat / cons and the AdminServer's connections report about this connection.
  admin::ConnectionInfo info() const;
  void reset_stats();

 private:
  enum class State { kNew, kAwaitConnect, kConnecting, kConnected, kClosed };

  void parse();
  bool handle_four_letter_word();
  void handle_connect(std::string_view frame);
  void finish_resume(int64_t id, int32_t timeout, bool valid);
  void handle_read_only_connect(const proto::ConnectRequest& req, int32_t timeout);
  void attach_session(const std::shared_ptr<session::Session>& s, int32_t timeout);
  void handle_request(std::string_view frame, size_t wire_size);
  void handle_auth(int32_t xid, std::string_view body);
  void send_header_only(int32_t xid, sdk::Zxid zxid, sdk::ErrorCode err);
  void send_connect_response(int32_t timeout, int64_t session_id, const std::string& password);
  void resume_reading();
  void submit(std::unique_ptr<pipeline::Request> rq);

  ServerContext& ctx_;
  std::shared_ptr<sdk::Connection> conn_;
  std::shared_ptr<session::Session> session_;
  std::atomic<State> state_{State::kNew};  // set to kClosed by close() from any thread
  std::string inbuf_;
  size_t inpos_ = 0;
  bool old_client_ = false;  // no readOnly byte in the connect request
  std::atomic<int64_t> session_id_{0};
  std::atomic<int32_t> timeout_ms_{0};
  std::atomic<int32_t> outstanding_{0};
  std::atomic<bool> reading_paused_{false};

  mutable std::mutex auth_mu_;
  acl::Ids auth_;

  // cons statistics
  const int64_t established_ms_;
  std::atomic<int64_t> received_{0}, sent_{0};
  std::atomic<int64_t> last_cxid_{0}, last_zxid_{0}, last_response_ms_{0}, last_latency_{0};
  std::atomic<int64_t> min_latency_{-1}, max_latency_{0}, total_latency_{0}, latency_count_{0};
  std::atomic<int32_t> last_op_{0};
};

}  // namespace paddock::server
