// paddock-bench's own load client: ZooKeeper frames (zk_wire.hpp) over a plain TCP socket or a
// TLS connection (OpenSSL), for servers the C client cannot reach (Debian's libzookeeper-mt has
// no TLS). During a run each session has its own thread: it writes every free slot's request in
// one batch, reads replies as they come (a session's replies arrive in request order, so the
// oldest outstanding request is the one answered), records each and sends the slot's next.
// Between runs one keep-alive thread pings every session, as the C client does.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>

#include "common.hpp"
#include "load_engine.hpp"
#include "probe.hpp"
#include "zk_wire.hpp"

namespace paddock::bench {

namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "no OpenSSL error queued";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// The client side of TLS: trust store, optional client certificate, TLS 1.2 or newer.
class TlsContext {
 public:
  explicit TlsContext(const TlsFiles& files) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) throw BenchError("TLS: " + ssl_error_text());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!files.ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, files.ca.c_str(), nullptr) != 1) {
        throw BenchError("--tls-ca " + files.ca + ": " + ssl_error_text());
      }
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      verify_ = true;
    }
    if (!files.cert.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, files.cert.c_str()) != 1) {
        throw BenchError("--tls-cert " + files.cert + ": " + ssl_error_text());
      }
      const std::string& key = files.key.empty() ? files.cert : files.key;
      if (SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(ctx_) != 1) {
        throw BenchError("--tls-key " + key + ": " + ssl_error_text());
      }
    }
  }
  ~TlsContext() { SSL_CTX_free(ctx_); }
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL* new_connection(int fd, const std::string& ip) const {
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr) throw BenchError("TLS: " + ssl_error_text());
    SSL_set_fd(ssl, fd);
    // The targets are IP addresses: check the certificate's IP subjectAltName.
    if (verify_) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.c_str());
    return ssl;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  bool verify_ = false;
};

// A connected non-blocking socket, with TLS on it or not.
class Stream {
 public:
  enum : ssize_t { kWouldBlock = 0, kFailed = -1 };

  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Stream() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int fd() const { return fd_; }

  // Bytes read or written (> 0), kWouldBlock, or kFailed (closed or broken; why() says).
  ssize_t read_some(char* buf, size_t n) {
    if (ssl_ == nullptr) {
      ssize_t r = ::recv(fd_, buf, n, 0);
      if (r > 0) return r;
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return kWouldBlock;
      why_ = r == 0 ? "the server closed the connection" : std::string("recv: ") + std::strerror(errno);
      return kFailed;
    }
    int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
    return r > 0 ? r : ssl_status(r, "TLS read");
  }
  ssize_t write_some(const char* buf, size_t n) {
    if (ssl_ == nullptr) {
      ssize_t r = ::send(fd_, buf, n, MSG_NOSIGNAL);
      if (r > 0) return r;
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return kWouldBlock;
      why_ = std::string("send: ") + std::strerror(errno);
      return kFailed;
    }
    int r = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
    return r > 0 ? r : ssl_status(r, "TLS write");
  }
  // Runs the TLS handshake (nothing to do without TLS) until `deadline_ns`.
  bool handshake(int64_t deadline_ns) {
    if (ssl_ == nullptr) return true;
    for (;;) {
      int r = SSL_connect(ssl_);
      if (r == 1) return true;
      int e = SSL_get_error(ssl_, r);
      short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (events == 0) {
        why_ = "TLS handshake: " + ssl_error_text();
        long v = SSL_get_verify_result(ssl_);
        if (v != X509_V_OK) why_ += std::string(" (") + X509_verify_cert_error_string(v) + ")";
        return false;
      }
      if (!wait(events, deadline_ns)) {
        why_ = "TLS handshake: timed out";
        return false;
      }
    }
  }
  // Polls for `events`; false once the deadline has passed.
  bool wait(short events, int64_t deadline_ns) const {
    int64_t left_ms = (deadline_ns - now_ns()) / 1000000;
    if (left_ms <= 0) return false;
    pollfd p{fd_, events, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    return true;
  }
  // Writes all of `bytes` (blocking up to the deadline).
  bool write_all(std::string_view bytes, int64_t deadline_ns) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = write_some(bytes.data() + off, bytes.size() - off);
      if (n == kFailed) return false;
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (!wait(POLLOUT | POLLIN, deadline_ns)) {
        why_ = "write timed out";
        return false;
      }
    }
    return true;
  }
  // Reads whatever is there into `frames`; false when the connection failed.
  bool read_available(wire::FrameBuffer& frames) {
    char buf[65536];
    for (;;) {
      ssize_t n = read_some(buf, sizeof buf);
      if (n == kFailed) return false;
      if (n == kWouldBlock) return true;
      frames.append(buf, static_cast<size_t>(n));
    }
  }
  const std::string& why() const { return why_; }

 private:
  ssize_t ssl_status(int r, const char* what) {
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return kWouldBlock;
    if (e == SSL_ERROR_ZERO_RETURN) {
      why_ = "the server closed the TLS connection";
    } else if (e == SSL_ERROR_SYSCALL) {
      why_ = std::string(what) + ": " + (errno != 0 ? std::strerror(errno) : "connection closed");
    } else {
      why_ = std::string(what) + ": " + ssl_error_text();
    }
    return kFailed;
  }

  int fd_;
  SSL* ssl_;
  std::string why_;
};

struct Outstanding {
  int32_t xid = 0;
  Op op = Op::kGetData;
  int64_t start_ns = 0;
  std::string path;
};

struct NativeConn : Session {
  std::unique_ptr<Stream> stream;
  wire::FrameBuffer frames;
  int32_t next_xid = 1;
  std::string lost;  // why the connection is gone ("" while it works)
  std::thread worker;

  // Reads the next whole frame, blocking up to the deadline.
  std::optional<std::string> read_frame(int64_t deadline_ns) {
    for (;;) {
      if (auto f = frames.next()) return std::string(*f);
      if (frames.bad() || !stream->read_available(frames)) return std::nullopt;
      if (auto f = frames.next()) return std::string(*f);
      if (!stream->wait(POLLIN, deadline_ns)) return std::nullopt;
    }
  }
};

std::string frame_for(int32_t xid, Op op, const std::string& path, const std::string& value) {
  switch (op) {
    case Op::kCreate: return wire::create_frame(xid, path, value);
    case Op::kSetData: return wire::set_data_frame(xid, path, value);
    case Op::kGetData: return wire::get_data_frame(xid, path);
    case Op::kExists: return wire::exists_frame(xid, path);
    case Op::kDelete: return wire::delete_frame(xid, path);
  }
  return {};
}

// One session's share of a run: W slots, closed loop, until every slot retired. `quit` is the
// hard stop after the drain bound (the slots still out are given up).
void drive(NativeConn& c, RunPlan& r, int slots, const std::atomic<bool>& quit) {
  if (!c.lost.empty()) {
    r.abort("session " + std::to_string(c.index) + " lost: " + c.lost);
    for (int i = 0; i < slots; ++i) r.slot_done();
    return;
  }
  std::deque<Outstanding> out;
  std::string pending;  // request bytes not yet written
  size_t pending_off = 0;
  int free_slots = slots;  // neither out nor retired
  int retired = 0;
  // The connection broke: what was out completes with CONNECTIONLOSS, every slot retires.
  auto fail = [&](const std::string& why) {
    c.lost = why;
    r.abort("session " + std::to_string(c.index) + ": " + why);
    for (const auto& o : out) {
      record_completion(c, r, o.op, o.path, o.start_ns, zk_error::kConnectionLoss);
      r.slot_done();
    }
    for (int i = 0; i < free_slots; ++i) r.slot_done();
  };
  while (retired < slots) {
    while (free_slots > 0) {
      --free_slots;
      Outstanding o;
      if (!next_request(c, r, o.op, o.path)) {
        ++retired;
        continue;
      }
      o.xid = c.next_xid++;
      o.start_ns = now_ns();
      pending += frame_for(o.xid, o.op, o.path, *r.value);
      out.push_back(std::move(o));
    }
    if (out.empty()) break;  // every slot retired
    if (quit.load(std::memory_order_relaxed)) return;  // given up: the run was aborted
    while (pending_off < pending.size()) {
      ssize_t n = c.stream->write_some(pending.data() + pending_off, pending.size() - pending_off);
      if (n == Stream::kFailed) return fail(c.stream->why());
      if (n == Stream::kWouldBlock) break;
      pending_off += static_cast<size_t>(n);
    }
    if (pending_off == pending.size()) {
      pending.clear();
      pending_off = 0;
    }
    pollfd p{c.stream->fd(), static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
    ::poll(&p, 1, 100);
    if (!c.stream->read_available(c.frames)) return fail(c.stream->why());
    while (auto f = c.frames.next()) {
      auto h = wire::parse_reply_header(*f);
      if (!h) return fail("malformed reply");
      if (h->xid == wire::kPingXid || h->xid == wire::kNotificationXid) continue;
      if (out.empty() || h->xid != out.front().xid) {
        return fail("reply xid " + std::to_string(h->xid) + " out of order");
      }
      Outstanding o = std::move(out.front());
      out.pop_front();
      record_completion(c, r, o.op, o.path, o.start_ns, h->err);
      ++free_slots;
    }
    if (c.frames.bad()) return fail("a reply frame with a bad length");
  }
}

class NativeClient final : public LoadClient {
 public:
  explicit NativeClient(const LoadConfig& cfg) : LoadClient(cfg) {
    if (cfg_.tls) tls_ = std::make_unique<TlsContext>(cfg_.tls_files);
    std::string where = std::string(cfg_.tls ? "tls://" : "") + cfg_.hostport();
    for (int i = 0; i < cfg_.connections; ++i) {
      throw_if_interrupted();
      auto c = std::make_unique<NativeConn>();
      c->index = i;
      c->rng = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(i + 1) + static_cast<uint64_t>(now_ns());
      int64_t deadline = now_ns() + 20'000'000'000LL;
      std::string why;
      int fd = tcp_connect(cfg_.host, cfg_.port, 20000, &why);
      if (fd < 0) throw BenchError("no session to " + where + ": " + why + " (is a server listening?)");
      SSL* ssl = nullptr;
      try {
        if (tls_) ssl = tls_->new_connection(fd, cfg_.host);
      } catch (...) {
        ::close(fd);
        throw;
      }
      c->stream = std::make_unique<Stream>(fd, ssl);
      if (!c->stream->handshake(deadline) ||
          !c->stream->write_all(wire::connect_request(cfg_.session_timeout_ms), deadline)) {
        throw BenchError("no session to " + where + ": " + c->stream->why());
      }
      auto reply = c->read_frame(deadline);
      auto session = reply ? wire::parse_connect_response(*reply) : std::nullopt;
      if (!session) {
        throw BenchError("no session to " + where + ": " +
                         (c->stream->why().empty() ? "no handshake reply" : c->stream->why()));
      }
      if (session->timeout_ms <= 0) throw BenchError("session to " + where + " refused");
      session_timeout_ms_ = session->timeout_ms;
      sessions_.push_back(c.get());
      conns_.push_back(std::move(c));
    }
    start_keepalive();
  }

  ~NativeClient() override {
    stop_keepalive();
    // closeSession on each live session, so the server need not wait for them to expire.
    int64_t deadline = now_ns() + 2'000'000'000LL;
    for (auto& c : conns_) {
      if (c->lost.empty() && c->stream->write_all(wire::close_session_frame(c->next_xid++), deadline)) {
        c->read_frame(deadline);
      }
    }
  }

 protected:
  void start_run(RunPlan& plan) override {
    stop_keepalive();
    quit_ = false;
    for (auto& c : conns_) {
      NativeConn* conn = c.get();
      conn->worker = std::thread([this, conn, &plan] { drive(*conn, plan, cfg_.outstanding, quit_); });
    }
  }
  void end_run(RunPlan&, bool drained) override {
    if (!drained) quit_ = true;
    for (auto& c : conns_) {
      if (c->worker.joinable()) c->worker.join();
    }
    // A session whose slots were given up has requests still out: no further run on it.
    if (!drained) {
      for (auto& c : conns_) c->lost = "requests left outstanding by an earlier run";
    }
    start_keepalive();
  }

 private:
  // A ping on every session a third of the session timeout after the last one, until stopped.
  void start_keepalive() {
    keepalive_stop_ = false;
    keepalive_ = std::thread([this] {
      int64_t period_ns = int64_t{std::max(session_timeout_ms_ / 3, 100)} * 1000000;
      int64_t next = now_ns() + period_ns;
      while (!keepalive_stop_.load()) {
        usleep(50000);
        for (auto& c : conns_) {
          if (!c->lost.empty()) continue;
          if (!c->stream->read_available(c->frames)) {
            c->lost = c->stream->why();
            continue;
          }
          while (c->frames.next()) {
          }  // ping replies and notifications
        }
        if (now_ns() < next) continue;
        next = now_ns() + period_ns;
        for (auto& c : conns_) {
          if (c->lost.empty() && !c->stream->write_all(wire::ping_frame(), now_ns() + period_ns)) {
            c->lost = c->stream->why();
          }
        }
      }
    });
  }
  void stop_keepalive() {
    keepalive_stop_ = true;
    if (keepalive_.joinable()) keepalive_.join();
  }

  std::unique_ptr<TlsContext> tls_;
  std::vector<std::unique_ptr<NativeConn>> conns_;
  int session_timeout_ms_ = 30000;
  std::atomic<bool> quit_{false};
  std::atomic<bool> keepalive_stop_{false};
  std::thread keepalive_;
};

}  // namespace

std::unique_ptr<LoadClient> make_native_client(const LoadConfig& cfg) {
  return std::make_unique<NativeClient>(cfg);
}

}  // namespace paddock::bench
