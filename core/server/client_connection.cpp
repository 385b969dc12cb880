#include "server/client_connection.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "paddock/sdk/jute.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/request.hpp"
#include "proto/requests.hpp"
#include "server/four_letter_words.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"
#include "util/wall_clock.hpp"

namespace paddock::server {

using sdk::ErrorCode;
using sdk::OpCode;
using sdk::jute::Reader;
using sdk::jute::Writer;

namespace {

constexpr size_t kReplyHeaderSize = 4 + 16;  // length + ReplyHeader

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using util::wall_ms;

// Request.isValid of ZooKeeper 3.8, less what a client may not send on its own.
bool is_client_op(int32_t type) {
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreate: case OpCode::kCreate2: case OpCode::kCreateTtl:
    case OpCode::kCreateContainer: case OpCode::kDelete: case OpCode::kExists:
    case OpCode::kGetAcl: case OpCode::kGetChildren: case OpCode::kGetAllChildrenNumber:
    case OpCode::kGetChildren2: case OpCode::kGetData: case OpCode::kGetEphemerals:
    case OpCode::kMulti: case OpCode::kMultiRead: case OpCode::kReconfig:
    case OpCode::kSetAcl: case OpCode::kSetData: case OpCode::kSetWatches:
    case OpCode::kSetWatches2: case OpCode::kSync: case OpCode::kCheckWatches:
    case OpCode::kRemoveWatches: case OpCode::kAddWatch: case OpCode::kWhoAmI:
    case OpCode::kCloseSession:
      return true;
    default:
      return false;
  }
}

std::string ip_of(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ConnectionRegistry

bool ConnectionRegistry::add(const std::shared_ptr<ClientConnection>& c, const std::string& ip,
                             int32_t limit) {
  std::lock_guard lk(mu_);
  int32_t& n = per_ip_[ip];
  if (limit > 0 && n >= limit) {
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  conns_[c.get()] = c;
  return true;
}

void ConnectionRegistry::remove(const ClientConnection* c, const std::string& ip) {
  std::lock_guard lk(mu_);
  if (conns_.erase(c) == 0) return;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
}

std::vector<std::shared_ptr<ClientConnection>> ConnectionRegistry::all() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<ClientConnection>> out;
  for (const auto& [p, w] : conns_) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

size_t ConnectionRegistry::size() const {
  std::lock_guard lk(mu_);
  return conns_.size();
}

// ---------------------------------------------------------------------------------------
// ClientConnection

ClientConnection::ClientConnection(ServerContext& ctx, std::shared_ptr<sdk::Connection> conn)
    : ctx_(ctx), conn_(std::move(conn)), established_ms_(wall_ms()) {
  // ip:<address>, plus what auth plugins derive from the connection (x509: the subject of
  // the TLS client certificate, read during the handshake that preceded this).
  std::string subject = conn_->peer_certificate_subject();
  auth_ = ctx_.auth->connection_ids({conn_->remote_address(), subject}, remote_ip());
}

ClientConnection::~ClientConnection() = default;

std::string ClientConnection::remote_ip() const { return ip_of(conn_->remote_address()); }

acl::Ids ClientConnection::auth_ids() const {
  std::lock_guard lk(auth_mu_);
  return auth_;
}

void ClientConnection::on_receive(const uint8_t* data, size_t size) {
  if (state_ == State::kClosed) return;
  inbuf_.append(reinterpret_cast<const char*>(data), size);
  parse();
}

void ClientConnection::parse() {
  while (state_ != State::kClosed && state_ != State::kConnecting) {
    size_t avail = inbuf_.size() - inpos_;
    if (state_ == State::kNew) {
      if (avail < 4) break;
      if (handle_four_letter_word()) return;
      state_ = State::kAwaitConnect;
    }
    if (avail < 4) break;
    Reader hdr(inbuf_.data() + inpos_, 4);
    int32_t len = hdr.read_int();
    if (len < 0 || len > ctx_.config.jute_max_buffer) {
      spdlog::warn("closing connection from {}: frame length {} outside 0..{} (jute.maxbuffer)",
                   remote_address(), len, ctx_.config.jute_max_buffer);
      close();
      return;
    }
    if (avail < 4 + static_cast<size_t>(len)) {
      if (inbuf_.capacity() < inpos_ + 4 + static_cast<size_t>(len)) {
        inbuf_.reserve(inpos_ + 4 + static_cast<size_t>(len));
      }
      break;
    }
    std::string_view frame(inbuf_.data() + inpos_ + 4, static_cast<size_t>(len));
    inpos_ += 4 + static_cast<size_t>(len);
    if (state_ == State::kAwaitConnect) {
      handle_connect(frame);
    } else {
      handle_request(frame, 4 + static_cast<size_t>(len));
    }
  }
  if (inpos_ > 0 && (inpos_ == inbuf_.size() || inpos_ > 65536)) {
    inbuf_.erase(0, inpos_);
    inpos_ = 0;
  }
}

bool ClientConnection::handle_four_letter_word() {
  auto answer = four_letter_word(ctx_, std::string_view(inbuf_).substr(inpos_));
  if (answer.kind == FourLetterAnswer::Kind::kNotAWord) return false;
  if (answer.kind == FourLetterAnswer::Kind::kIncomplete) return true;  // stmk awaits its mask
  inpos_ += answer.consumed;
  state_ = State::kClosed;
  if (!answer.text.empty()) conn_->send(answer.text.data(), answer.text.size());
  conn_->close_after_send();
  return true;
}

void ClientConnection::send_connect_response(int32_t timeout, int64_t session_id,
                                             const std::string& password) {
  std::string frame(4, '\0');
  Writer w(frame);
  w.write_int(0);  // protocolVersion
  w.write_int(timeout);
  w.write_long(session_id);
  w.write_buffer(password);
  if (!old_client_) w.write_bool(ctx_.read_only.load());  // readOnly: a read-only server
  send_frame(frame);
}

void ClientConnection::handle_connect(std::string_view frame) {
  if (!ctx_.serving.load()) {
    // An ensemble member without a leader: the client tries another server.
    spdlog::debug("closing connection from {}: not serving (no leader yet)", remote_address());
    close();
    return;
  }
  Reader r(frame);
  r.set_max_length(ctx_.config.jute_max_buffer);
  proto::ConnectRequest req;
  if (!proto::decode_connect(r, req)) {
    spdlog::warn("closing connection from {}: malformed connect request ({} bytes)",
                 remote_address(), frame.size());
    close();
    return;
  }
  ctx_.stats.packet_received();
  received_.fetch_add(1, std::memory_order_relaxed);
  old_client_ = !req.has_read_only_byte;
  sdk::Zxid last = ctx_.tree.last_processed_zxid();
  if (req.last_zxid_seen > last) {
    spdlog::warn("refusing session request from {}: client has seen zxid 0x{:x}, ours is 0x{:x}",
                 remote_address(), req.last_zxid_seen, last);
    close();
    return;
  }
  int32_t timeout = std::clamp(req.timeout_ms, ctx_.config.min_session_timeout_ms,
                               ctx_.config.max_session_timeout_ms);
  timeout_ms_ = timeout;
  auto self = shared_from_this();
  if (ctx_.read_only.load()) {
    handle_read_only_connect(req, timeout);
    return;
  }
  if (req.session_id == 0) {
    auto s = ctx_.sessions.create(timeout);
    {
      std::lock_guard lk(s->mu);
      s->connection = self;
    }
    session_ = s;
    session_id_ = s->id;
    state_ = State::kConnecting;
    auto rq = std::make_unique<pipeline::Request>();
    rq->cnxn = self;
    rq->session_ref = s;
    rq->session_id = s->id;
    rq->type = OpCode::kCreateSession;
    rq->session_timeout = timeout;
    rq->wire_size = frame.size() + 4;
    rq->received_ns = steady_ns();
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    ctx_.stats.outstanding.fetch_add(1, std::memory_order_relaxed);
    submit(std::move(rq));
    return;
  }
  auto s = ctx_.sessions.get(req.session_id);
  auto revalidate = ctx_.revalidate_remote.load();
  if (!s && revalidate && req.password == session::password_for(req.session_id)) {
    // Unknown here, maybe known to the leader.
    s = ctx_.sessions.add(req.session_id, timeout);
  }
  // As ZooKeeper does, the session's current connection goes first, whether or not this
  // resume then succeeds.
  std::shared_ptr<ClientConnection> previous;
  if (s) {
    std::lock_guard lk(s->mu);
    previous = s->connection.lock();
  }
  if (previous && previous != self) previous->close();
  if (!s || s->closing.load() || req.password != session::password_for(req.session_id)) {
    spdlog::info("session 0x{:x} from {} is {}: answering expired", req.session_id,
                 remote_address(), s ? (s->closing.load() ? "closing" : "given a wrong password") : "unknown");
    send_connect_response(0, 0, std::string(16, '\0'));
    state_ = State::kClosed;
    conn_->close_after_send();
    return;
  }
  // A learner asks the leader (REVALIDATE); standalone servers and leaders know themselves.
  if (revalidate) {
    state_ = State::kConnecting;
    int64_t id = req.session_id;
    (*revalidate)(id, timeout, [self, id, timeout](bool valid) {
      self->conn_->post([self, id, timeout, valid] { self->finish_resume(id, timeout, valid); });
    });
    return;
  }
  s->owner = ctx_.my_id;
  attach_session(s, timeout);
}

void ClientConnection::handle_read_only_connect(const proto::ConnectRequest& req, int32_t timeout) {
  // A read-only server takes only clients that accept one, and keeps their sessions to
  // itself (ZooKeeper's local sessions): sessions of the ensemble cannot be resumed here.
  if (!req.read_only) {
    spdlog::info("refusing session request from {}: this server is read-only and the client "
                 "does not accept a read-only server", remote_address());
    close();
    return;
  }
  std::shared_ptr<session::Session> s;
  if (req.session_id != 0) {
    s = ctx_.sessions.get(req.session_id);
    if (!s || !s->local.load() || req.password != session::password_for(req.session_id)) {
      spdlog::info("refusing session 0x{:x} from {}: this server is read-only", req.session_id,
                   remote_address());
      close();
      return;
    }
    std::shared_ptr<ClientConnection> previous;
    {
      std::lock_guard lk(s->mu);
      previous = s->connection.lock();
    }
    if (previous && previous.get() != this) previous->close();
  } else {
    s = ctx_.sessions.create(timeout);
    s->local = true;
  }
  attach_session(s, timeout);
}

void ClientConnection::finish_resume(int64_t id, int32_t timeout, bool valid) {
  if (state_ != State::kConnecting) return;
  if (!valid) {
    spdlog::info("session 0x{:x} from {} is unknown to the leader: answering expired", id, remote_address());
    send_connect_response(0, 0, std::string(16, '\0'));
    state_ = State::kClosed;
    conn_->close_after_send();
    return;
  }
  attach_session(ctx_.sessions.add(id, timeout), timeout);
  parse();
}

void ClientConnection::attach_session(const std::shared_ptr<session::Session>& s, int32_t timeout) {
  auto self = shared_from_this();
  {
    std::lock_guard lk(s->mu);
    s->connection = self;
  }
  s->timeout_ms = timeout;
  ctx_.sessions.touch(*s);
  session_ = s;
  session_id_ = s->id;
  state_ = State::kConnected;
  spdlog::info("session 0x{:x} reconnected from {}, timeout {} ms", s->id, remote_address(), timeout);
  send_connect_response(timeout, s->id, session::password_for(s->id));
}

void ClientConnection::finish_connect(bool valid) {
  if (valid) {
    spdlog::info("session 0x{:x} opened for {}, timeout {} ms", session_id(), remote_address(),
                 session_timeout());
    send_connect_response(session_timeout(), session_id(), session::password_for(session_id()));
  } else {
    send_connect_response(0, 0, std::string(16, '\0'));
    conn_->close_after_send();
    return;
  }
  auto self = shared_from_this();
  conn_->post([self] {
    if (self->state_ != State::kConnecting) return;
    self->state_ = State::kConnected;
    self->parse();
  });
}

void ClientConnection::send_header_only(int32_t xid, sdk::Zxid zxid, ErrorCode err) {
  std::string frame(4, '\0');
  Writer w(frame);
  w.write_int(xid);
  w.write_long(zxid);
  w.write_int(static_cast<int32_t>(err));
  send_frame(frame);
}

void ClientConnection::handle_request(std::string_view frame, size_t wire_size) {
  ctx_.stats.packet_received();
  received_.fetch_add(1, std::memory_order_relaxed);
  Reader r(frame);
  int32_t xid = r.read_int();
  int32_t type = r.read_int();
  if (!r.ok()) {
    spdlog::warn("closing connection from {}: request shorter than its header", remote_address());
    close();
    return;
  }
  if (session_) ctx_.sessions.touch(*session_);
  last_cxid_.store(xid, std::memory_order_relaxed);
  std::string_view body = frame.substr(8);
  switch (static_cast<OpCode>(type)) {
    case OpCode::kPing:
      last_op_.store(type, std::memory_order_relaxed);
      send_header_only(xid, ctx_.tree.last_processed_zxid(), ErrorCode::kOk);
      return;
    case OpCode::kAuth:
      handle_auth(xid, body);
      return;
    case OpCode::kCloseSession:
      if (session_ && session_->local.load()) {
        // A read-only server's own session: nothing to log or replicate.
        ctx_.sessions.remove(session_->id);
        send_header_only(xid, ctx_.tree.last_processed_zxid(), ErrorCode::kOk);
        close_after_send();
        return;
      }
      break;
    case OpCode::kSasl: {
      // No SASL is configured: refuse, as ZooKeeper does without a JAAS section.
      std::string out(4, '\0');
      Writer w(out);
      w.write_int(xid);
      w.write_long(0);
      w.write_int(static_cast<int32_t>(ErrorCode::kAuthFailed));
      w.write_null();
      send_frame(out);
      close_after_send();
      return;
    }
    default:
      break;
  }
  if (!is_client_op(type)) {
    spdlog::warn("closing connection from {}: unsupported opcode {}", remote_address(), type);
    send_header_only(xid, -1, ErrorCode::kUnimplemented);
    close_after_send();
    return;
  }
  auto rq = std::make_unique<pipeline::Request>();
  rq->cnxn = shared_from_this();
  rq->session_ref = session_;
  rq->session_id = session_id();
  rq->cxid = xid;
  rq->type = static_cast<OpCode>(type);
  rq->payload.assign(body);
  rq->wire_size = wire_size;
  rq->received_ns = steady_ns();
  // The path a request names, for processors and logs (the first string of its record).
  if (body.size() >= 4 && rq->type != OpCode::kMulti && rq->type != OpCode::kMultiRead &&
      rq->type != OpCode::kSetWatches && rq->type != OpCode::kSetWatches2 &&
      rq->type != OpCode::kCloseSession && rq->type != OpCode::kWhoAmI) {
    Reader pr(body);
    if (auto p = pr.read_optional_view()) rq->first_path.assign(*p);
  }
  last_op_.store(type, std::memory_order_relaxed);
  int32_t n = outstanding_.fetch_add(1, std::memory_order_relaxed) + 1;
  ctx_.stats.outstanding.fetch_add(1, std::memory_order_relaxed);
  if (n >= ctx_.config.global_outstanding_limit && !reading_paused_.exchange(true)) {
    conn_->set_reading(false);
  }
  submit(std::move(rq));
}

void ClientConnection::submit(std::unique_ptr<pipeline::Request> rq) {
  pipeline::Pipeline* p = ctx_.active_pipeline.load(std::memory_order_acquire);
  if (!p) {
    // The server stopped serving (its role is changing): the client will reconnect.
    close();
    return;
  }
  p->submit(std::move(rq));
}

void ClientConnection::handle_auth(int32_t xid, std::string_view body) {
  Reader r(body);
  r.read_int();  // type, unused
  std::string scheme = r.read_string();
  std::string auth = std::string(r.read_view());
  ErrorCode err = ErrorCode::kAuthFailed;
  if (r.ok()) {
    std::string subject = conn_->peer_certificate_subject();
    std::lock_guard lk(auth_mu_);
    err = ctx_.auth->authenticate(scheme, auth, {conn_->remote_address(), subject}, auth_);
  }
  send_header_only(xid, 0, err);
  if (err != ErrorCode::kOk) {
    spdlog::warn("authentication with scheme '{}' failed for {}", scheme, remote_address());
    close_after_send();
  }
}

void ClientConnection::send_frame(std::string& frame) {
  Writer w(frame);
  w.patch_int(0, static_cast<int32_t>(frame.size() - 4));
  conn_->send(frame.data(), frame.size());
  ctx_.stats.packet_sent();
  ctx_.stats.response_size(static_cast<int64_t>(frame.size()));
  sent_.fetch_add(1, std::memory_order_relaxed);
}

void ClientConnection::process(watch::EventType type, std::string_view path) {
  std::string frame;
  frame.reserve(kReplyHeaderSize + 12 + path.size());
  frame.append(4, '\0');
  Writer w(frame);
  w.write_int(-1);  // xid: notification
  w.write_long(-1);
  w.write_int(0);
  w.write_int(static_cast<int32_t>(type));
  w.write_int(3);  // SyncConnected
  w.write_string(path);
  send_frame(frame);
}

bool ClientConnection::may_read(const std::vector<sdk::Acl>& acl) const {
  if (acl::world_allows(acl, sdk::perms::kRead)) return true;
  std::lock_guard lk(auth_mu_);
  return ctx_.auth->allowed(acl, sdk::perms::kRead, auth_);
}

void ClientConnection::request_done(std::chrono::nanoseconds latency, sdk::Zxid zxid, OpCode op) {
  int64_t latency_ms = latency.count() / 1000000;
  ctx_.stats.record_latency_ms(latency_ms);
  ctx_.stats.requests.observe(op, latency.count() / 1000);  // metrics: per-op latency histogram
  ctx_.stats.outstanding.fetch_sub(1, std::memory_order_relaxed);
  last_zxid_.store(zxid, std::memory_order_relaxed);
  last_response_ms_.store(wall_ms(), std::memory_order_relaxed);
  last_latency_.store(latency_ms, std::memory_order_relaxed);
  total_latency_.fetch_add(latency_ms, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  int64_t cur = max_latency_.load(std::memory_order_relaxed);
  while (latency_ms > cur && !max_latency_.compare_exchange_weak(cur, latency_ms)) {}
  cur = min_latency_.load(std::memory_order_relaxed);
  while ((cur < 0 || latency_ms < cur) && !min_latency_.compare_exchange_weak(cur, latency_ms)) {}
  int32_t n = outstanding_.fetch_sub(1, std::memory_order_relaxed) - 1;
  if (reading_paused_.load(std::memory_order_relaxed) &&
      n <= ctx_.config.global_outstanding_limit / 2) {
    resume_reading();
  }
}

void ClientConnection::resume_reading() {
  if (reading_paused_.exchange(false)) conn_->set_reading(true);
}

void ClientConnection::close_after_send() { conn_->close_after_send(); }

void ClientConnection::close() {
  state_ = State::kClosed;
  conn_->close();
}

void ClientConnection::on_closed(const std::string& reason) {
  state_ = State::kClosed;
  ctx_.tree.remove_watcher(this);
  ctx_.connections.remove(this, remote_ip());
  if (session_) {
    std::lock_guard lk(session_->mu);
    if (session_->connection.lock().get() == this) session_->connection.reset();
  }
  if (reason.empty()) {
    spdlog::debug("connection from {} closed (session 0x{:x})", remote_address(), session_id());
  } else {
    spdlog::debug("connection from {} closed (session 0x{:x}): {}", remote_address(), session_id(), reason);
  }
}

void ClientConnection::reset_stats() {
  received_ = 0;
  sent_ = 0;
  min_latency_ = -1;
  max_latency_ = 0;
  total_latency_ = 0;
  latency_count_ = 0;
  last_latency_ = 0;
}

admin::ConnectionInfo ClientConnection::info() const {
  admin::ConnectionInfo i;
  i.remote_address = remote_address();
  i.interest_ops = reading_paused_.load(std::memory_order_relaxed) ? 0 : 1;
  i.outstanding_requests = outstanding_.load(std::memory_order_relaxed);
  i.packets_received = received_.load(std::memory_order_relaxed);
  i.packets_sent = sent_.load(std::memory_order_relaxed);
  i.session_id = session_id();
  i.last_operation = short_op_name(last_op_.load(std::memory_order_relaxed));
  i.established_ms = established_ms_;
  i.session_timeout = session_timeout();
  i.last_cxid = last_cxid_.load(std::memory_order_relaxed);
  i.last_zxid = last_zxid_.load(std::memory_order_relaxed);
  i.last_response_time_ms = last_response_ms_.load(std::memory_order_relaxed);
  i.last_latency = last_latency_.load(std::memory_order_relaxed);
  int64_t min_lat = min_latency_.load(std::memory_order_relaxed);
  i.min_latency = min_lat < 0 ? 0 : min_lat;
  int64_t count = latency_count_.load(std::memory_order_relaxed);
  i.avg_latency = count ? total_latency_.load(std::memory_order_relaxed) / count : 0;
  i.max_latency = max_latency_.load(std::memory_order_relaxed);
  return i;
}

}  // namespace paddock::server
