// transport-tls: the SDK's Transport over TLS (OpenSSL through Boost.Asio's ssl::stream).
// Theory of operation in README.md beside this file. It is transport-tcp's design with a TLS
// handshake in front and a close_notify behind:
//  - one io_context per I/O thread (IoLoop); a connection lives on one loop for its life, so
//    it needs no strand: its state (the SSL object included) is touched only on that thread,
//    except the output buffer and a few flags, which sit under a small per-connection mutex
//    because send() and close() come from any thread;
//  - an accepted socket is handshaken on its loop before the core hears of it: on_accept only
//    ever sees connections whose peer passed verification, with the peer's certificate subject
//    known; a failed or timed-out handshake is logged and the socket closed;
//  - connect() connects, then runs a client handshake verifying the server against the trust
//    store (and its name, with ssl.hostnameVerification), all within the connect timeout;
//  - every call into the core runs inside a DispatchScope; send() made on the loop's thread
//    inside a scope only appends and marks the connection, and the scope's end writes each
//    marked connection once; send() from another thread appends and posts one flush;
//  - close_after_send() writes what is queued, then a TLS close_notify (waiting a short while
//    for the peer's), then closes; close() closes at once;
//  - stop() closes everything on each loop, lets each loop drain its handlers and joins.
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#endif

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/status.hpp"
#include "paddock/sdk/transport.hpp"
#include "tls_context.hpp"

#ifndef PADDOCK_VERSION
#define PADDOCK_VERSION "0.0.0"
#endif

namespace paddock::transport_tls {
namespace {  // nothing here is exported but the two aliases PADDOCK_PLUGIN declares

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
// Sockets bound to an io_context's own executor: no type-erased executor on the hot path.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Stream = ssl::stream<Socket>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using ConnectDone = std::function<void(sdk::Result<std::shared_ptr<sdk::Connection>>)>;

// ---------------------------------------------------------------------------------------------
// Configuration

constexpr sdk::ConfigKeyDecl kConfigKeys[] = {
    // ZooKeeper 3.8's names and meanings.
    {"ssl.keyStore.location", "path", nullptr,
     "PEM file with this server's certificate (chain) and its private key"},
    {"ssl.keyStore.password", "string", nullptr,
     "password of an encrypted private key in the key store (unused otherwise)"},
    {"ssl.keyStore.type", "string", nullptr, "key store format; PEM is the one supported"},
    {"ssl.trustStore.location", "path", nullptr,
     "PEM file with the CA certificates peers must chain to (default: the system's CAs)"},
    {"ssl.trustStore.password", "string", nullptr, "accepted for ZooKeeper configs; unused for PEM"},
    {"ssl.trustStore.type", "string", nullptr, "trust store format; PEM is the one supported"},
    {"ssl.clientAuth", "string", "need",
     "client certificates on accepted connections: need, want or none"},
    {"ssl.protocol", "string", "TLSv1.3",
     "TLS protocol: TLSv1.2 or TLSv1.3 (TLSv1.3 also enables TLSv1.2)"},
    {"ssl.enabledProtocols", "list", nullptr,
     "protocols enabled, e.g. TLSv1.3,TLSv1.2 (default: from ssl.protocol)"},
    {"ssl.ciphersuites", "list", nullptr,
     "enabled cipher suites, Java (IANA) or OpenSSL names (default: OpenSSL's)"},
    {"ssl.hostnameVerification", "bool", "true",
     "outgoing connections check that the peer's certificate names the host connected to"},
    // The transport's own.
    {"transport.tls.noDelay", "bool", "true",
     "set TCP_NODELAY on every connection (small replies are not delayed by Nagle)"},
    {"transport.tls.listenBacklog", "int", "511",
     "backlog of a listening socket (the kernel caps it at net.core.somaxconn)"},
    {"transport.tls.readBufferSize", "int", "16384",
     "bytes of each connection's receive buffer (one TLS record holds at most 16384)"},
    {"transport.tls.connectTimeoutMs", "int", "5000",
     "milliseconds an outgoing connect, TLS handshake included, may take"},
    {"transport.tls.handshakeTimeoutMs", "int", "10000",
     "milliseconds an accepted connection has to complete its TLS handshake"},
    {"transport.tls.recordPerSend", "bool", "true",
     "each reply is written in TLS records of its own, as ZooKeeper's are (false: a batch of "
     "replies shares records, fewer writes; kazoo then may see a reply late)"},
};

struct Options {
  bool no_delay = true;
  int listen_backlog = 511;
  size_t read_buffer_size = 16 * 1024;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{10000};
  bool record_per_send = true;
  TlsSettings tls;
};

// Output buffers above this capacity are released once written, so one burst does not pin
// memory for the connection's life.
constexpr size_t kMaxRetainedBuffer = 1024 * 1024;
// Pause before accepting again after the accept call failed (EMFILE, ENFILE, ENOBUFS ...).
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// How long writing close_notify may take before the socket closes anyway.
constexpr std::chrono::milliseconds kCloseNotifyTimeout{500};

sdk::Status read_bool(const sdk::PluginConfig& config, std::string_view key, bool& out) {
  const auto value = config.get(key);
  if (!value) return sdk::Status::ok();
  std::string lower(*value);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true") {
    out = true;
  } else if (lower == "false") {
    out = false;
  } else {
    return sdk::Status::error(std::string(key) + ": expected true or false, found '" +
                              std::string(*value) + "'");
  }
  return sdk::Status::ok();
}

sdk::Status read_int(const sdk::PluginConfig& config, std::string_view key, int64_t min,
                     int64_t max, int64_t& out) {
  const auto value = config.get(key);
  if (!value) return sdk::Status::ok();
  int64_t parsed = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
  if (ec != std::errc() || ptr != end || parsed < min || parsed > max) {
    return sdk::Status::error(std::string(key) + ": expected an integer from " +
                              std::to_string(min) + " to " + std::to_string(max) + ", found '" +
                              std::string(*value) + "'");
  }
  out = parsed;
  return sdk::Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Addresses and certificates

// "ip:port", IPv6 unbracketed as the SDK asks; IPv4-mapped IPv6 (a "::" listener accepting an
// IPv4 peer) is shown as plain IPv4.
std::string format_endpoint(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string() + ":" + std::to_string(endpoint.port());
}

std::string join_host_port(std::string_view host, uint16_t port) {
  return std::string(host) + ":" + std::to_string(port);
}

// Accepts "[::1]" as well as "::1".
std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// The subject of the certificate the peer presented, RFC 2253 ("CN=client,O=Example", most
// specific first, as Java's X500Principal.getName() prints it; non-ASCII left as UTF-8), or
// "" when it presented none.
std::string peer_subject(SSL* ssl) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  X509* cert = SSL_get1_peer_certificate(ssl);
#else
  X509* cert = SSL_get_peer_certificate(ssl);
#endif
  if (cert == nullptr) return std::string();
  std::string subject;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, flags) >= 0) {
      char* data = nullptr;
      const long size = BIO_get_mem_data(bio, &data);
      if (size > 0 && data != nullptr) subject.assign(data, static_cast<size_t>(size));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return subject;
}

// Why a handshake failed, in words: OpenSSL's reason plus, for a certificate that did not
// verify, the verification's own ("certificate verify failed: unable to get local issuer
// certificate").
std::string handshake_error_text(const error_code& ec, SSL* ssl) {
  std::string text = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      text += std::string(": ") + X509_verify_cert_error_string(verify);
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// IoLoop: one I/O thread and its io_context, plus the registries stop() walks.

class TlsConnection;
class ListenerState;
class IoLoop;

// The loop whose thread this is; null on every other thread.
thread_local IoLoop* t_current_loop = nullptr;

class IoLoop {
 public:
  IoLoop(unsigned index, sdk::Host* host)
      : context_(1),
        work_(asio::make_work_guard(context_)),
        reactor_anchor_(context_),
        index_(index),
        host_(host) {}
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  asio::io_context& context() { return context_; }

  bool on_thread() const { return t_current_loop == this; }

  // Queues `task` on this loop. From another thread this is refused (false, `task` left as
  // it was) once stop() has begun, so nothing is queued that the loop would never run.
  template <typename F>
  bool post(F&& task) {
    if (on_thread()) {
      asio::post(context_, std::forward<F>(task));
      return true;
    }
    std::lock_guard lock(post_mutex_);
    if (!taking_posts_) return false;
    asio::post(context_, std::forward<F>(task));
    return true;
  }

  void start_thread() {
    thread_ = std::thread([this] { run(); });
  }

  // stop(), step 2 (after close_all was posted): refuse further posts from other threads and
  // let run() return once the queued handlers are done.
  void release() {
    {
      std::lock_guard lock(post_mutex_);
      taking_posts_ = false;
    }
    work_.reset();
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

  void log(sdk::LogLevel level, std::string_view message) const {
    if (host_ == nullptr) return;
    try {
      host_->log(level, message);
    } catch (...) {
    }
  }

  // ---- the rest: this loop's thread only ----

  // stop(), step 1: closes this loop's listeners and connections (each of which gets its
  // on_closed) and turns away connections handed over later.
  void close_all();
  bool stopping() const { return stopping_; }

  void add(const std::shared_ptr<TlsConnection>& connection);
  void remove(TlsConnection* connection);
  void add(const std::shared_ptr<ListenerState>& listener) { listeners_.push_back(listener); }
  void remove(ListenerState* listener) {
    auto it = std::find_if(listeners_.begin(), listeners_.end(),
                           [listener](const auto& l) { return l.get() == listener; });
    if (it != listeners_.end()) listeners_.erase(it);
  }

  void enter_dispatch() { ++dispatch_depth_; }
  void leave_dispatch() {
    if (--dispatch_depth_ == 0 && !deferred_.empty()) flush_deferred();
  }
  bool in_dispatch() const { return dispatch_depth_ > 0; }
  void defer_flush(std::shared_ptr<TlsConnection> connection) {
    deferred_.push_back(std::move(connection));
  }

 private:
  void run() {
    t_current_loop = this;
#if defined(__linux__)
    const std::string name = "paddock-tls-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#endif
    for (;;) {
      try {
        context_.run();
        return;
      } catch (const std::exception& e) {  // our handlers catch; this is the last resort
        log(sdk::LogLevel::kError, std::string("I/O thread: unexpected exception: ") + e.what());
      } catch (...) {
        log(sdk::LogLevel::kError, "I/O thread: unexpected exception");
      }
    }
  }

  void flush_deferred();

  asio::io_context context_;
  asio::executor_work_guard<Executor> work_;
  // Owning a timer makes Asio create the reactor (epoll, eventfd, timerfd) here, in start(),
  // instead of lazily at some first connection, where running out of descriptors would
  // surface far from its cause.
  Timer reactor_anchor_;
  const unsigned index_;
  sdk::Host* const host_;
  std::thread thread_;

  std::mutex post_mutex_;
  bool taking_posts_ = true;  // guarded by post_mutex_

  // This loop's thread only.
  bool stopping_ = false;
  int dispatch_depth_ = 0;
  std::vector<std::shared_ptr<TlsConnection>> deferred_;  // flush owed at the scope's end
  std::vector<std::shared_ptr<TlsConnection>> flushing_;  // deferred_'s twin, reused
  std::vector<std::shared_ptr<TlsConnection>> connections_;
  std::vector<std::shared_ptr<ListenerState>> listeners_;
};

// Marks a call into the core: send()s made meanwhile on this thread are written at its end.
class DispatchScope {
 public:
  explicit DispatchScope(IoLoop& loop) : loop_(loop) { loop_.enter_dispatch(); }
  ~DispatchScope() { loop_.leave_dispatch(); }
  DispatchScope(const DispatchScope&) = delete;
  DispatchScope& operator=(const DispatchScope&) = delete;

 private:
  IoLoop& loop_;
};

std::string exception_text(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// ---------------------------------------------------------------------------------------------
// TlsConnection

class TlsConnection final : public sdk::Connection,
                            public std::enable_shared_from_this<TlsConnection> {
 public:
  static constexpr size_t kNotRegistered = std::numeric_limits<size_t>::max();
  // Runs on the loop's thread when an accepted connection's handshake has succeeded.
  using Handshaken = std::function<void(const std::shared_ptr<TlsConnection>&)>;

  // An accepted socket (already bound to `loop`), or a fresh one for connect().
  TlsConnection(std::shared_ptr<IoLoop> loop, Socket socket, const Options& options)
      : loop_(std::move(loop)),
        options_(options),
        stream_(std::move(socket), *options_.tls.context),
        read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(options.read_buffer_size)),
        phase_(Phase::kIdle) {}
  TlsConnection(std::shared_ptr<IoLoop> loop, const Options& options)
      : TlsConnection(loop, Socket(loop->context()), options) {
    phase_ = Phase::kConnecting;
  }

  // ---- sdk::Connection ----

  void start(std::shared_ptr<sdk::ConnectionHandler> handler) override {
    try {
      if (loop_->on_thread()) {
        start_on_thread(std::move(handler));
      } else {
        loop_->post([self = shared_from_this(), h = std::move(handler)]() mutable {
          self->start_on_thread(std::move(h));
        });
      }
    } catch (...) {
    }
  }

  void send(const void* data, size_t size) override {
    if (size == 0) return;
    try {
      bool schedule = false;
      {
        std::lock_guard lock(mutex_);
        if (!sends_open_) return;
        const auto* bytes = static_cast<const uint8_t*>(data);
        out_.insert(out_.end(), bytes, bytes + size);
        if (options_.record_per_send) out_sizes_.push_back(size);
        schedule = !flush_owed_;
        flush_owed_ = true;
      }
      if (schedule) schedule_flush();
    } catch (...) {  // only bad_alloc can get here
      abort("out of memory queueing " + std::to_string(size) + " bytes");
    }
  }

  void close_after_send() override {
    try {
      bool schedule = false;
      {
        std::lock_guard lock(mutex_);
        if (!sends_open_) return;
        sends_open_ = false;
        draining_ = true;
        schedule = !flush_owed_;
        flush_owed_ = true;
      }
      closing_.store(true, std::memory_order_relaxed);  // no more on_receive
      if (schedule) schedule_flush();
    } catch (...) {
    }
  }

  void close() override { abort(std::string()); }

  void set_reading(bool enabled) override {
    try {
      if (loop_->on_thread()) {
        apply_reading(enabled);
      } else {
        loop_->post([self = shared_from_this(), enabled] { self->apply_reading(enabled); });
      }
    } catch (...) {
    }
  }

  void post(std::function<void()> task) override {
    if (!task) return;
    try {
      IoLoop* loop = loop_.get();  // the task only runs while the loop's thread does
      loop_->post([loop, task = std::move(task)] {
        DispatchScope scope(*loop);
        try {
          task();
        } catch (...) {
          loop->log(sdk::LogLevel::kError,
                    "task posted to a connection threw: " + exception_text(std::current_exception()));
        }
      });
    } catch (...) {
    }
  }

  bool on_io_thread() const override { return loop_->on_thread(); }
  const std::string& remote_address() const override { return remote_address_; }
  const std::string& local_address() const override { return local_address_; }

  size_t pending_send_bytes() const override {
    std::lock_guard lock(mutex_);
    return out_.size() + writing_bytes_;
  }

  // Set once the handshake has succeeded, before the core sees the connection.
  std::string peer_certificate_subject() const override { return peer_subject_; }

  // ---- plugin-internal; the loop's thread unless noted ----

  // Reads both addresses and sets socket options; false when the peer is already gone.
  bool init_socket() {
    error_code ec;
    auto& socket = stream_.next_layer();
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return false;
    const auto local = socket.local_endpoint(ec);
    if (ec) return false;
    remote_address_ = format_endpoint(remote);
    local_address_ = format_endpoint(local);
    if (options_.no_delay) socket.set_option(tcp::no_delay(true), ec);
    return true;
  }

  // An accepted connection: runs the server handshake, bounded by handshakeTimeoutMs, then
  // hands the connection to `done`. A failure is logged and the socket closed; the core
  // never hears of it.
  void begin_server_handshake(Handshaken done) {
    phase_ = Phase::kHandshaking;
    switch (options_.tls.client_auth) {
      case ClientAuth::kNeed:
        stream_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
        break;
      case ClientAuth::kWant:
        stream_.set_verify_mode(ssl::verify_peer);
        break;
      case ClientAuth::kNone:
        stream_.set_verify_mode(ssl::verify_none);
        break;
    }
    arm_timer(options_.handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this(),
                                                        done = std::move(done)](const error_code& ec) {
      self->on_server_handshake(ec, done);
    });
  }

  // Closes the socket and tells the handler, once. The caller holds a reference.
  void finalize(const std::string& reason) {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    closing_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      sends_open_ = false;
      close_requested_ = true;
      flush_owed_ = true;  // nothing schedules a flush any more
      std::vector<uint8_t>().swap(out_);
      out_sizes_.clear();
      writing_bytes_ = 0;
    }
    error_code ignored;
    stream_.next_layer().close(ignored);
    if (resolver_) resolver_->cancel();
    if (timer_) timer_->cancel();
    loop_->remove(this);
    if (auto handler = std::move(handler_)) {
      DispatchScope scope(*loop_);
      try {
        handler->on_closed(reason);
      } catch (...) {
        loop_->log(sdk::LogLevel::kError, "on_closed for " + remote_address_ +
                                              " threw: " + exception_text(std::current_exception()));
      }
    }
  }

  // Writes what send() queued. Safe to call redundantly: it does nothing while a write is in
  // flight (whose completion calls it again) or before the handshake is done.
  void flush() {
    if (write_in_flight_ || phase_ == Phase::kClosed || phase_ == Phase::kConnecting ||
        phase_ == Phase::kHandshaking || phase_ == Phase::kShuttingDown) {
      return;
    }
    bool close_now = false;
    {
      std::lock_guard lock(mutex_);
      if (out_.empty()) {
        writing_bytes_ = 0;
        if (draining_) {
          close_now = true;
        } else {
          flush_owed_ = false;
        }
      } else {
        out_.swap(writing_);  // appends go on into the other buffer during the write
        out_sizes_.swap(writing_sizes_);
        writing_bytes_ = writing_.size();
      }
    }
    if (close_now) {
      begin_shutdown();
      return;
    }
    if (writing_.empty()) return;
    // With recordPerSend, each send() is written on its own (Asio's ssl stream would pack
    // small buffers of one write into one record): a client whose TLS library reads a whole
    // record and then waits on the socket (kazoo) never finds a second reply already
    // decrypted and waiting. Otherwise the batch goes in as few records as it needs.
    write_buffers_.clear();
    if (writing_sizes_.empty()) {
      write_buffers_.emplace_back(writing_.data(), writing_.size());
    } else {
      size_t offset = 0;
      for (const size_t size : writing_sizes_) {
        write_buffers_.emplace_back(writing_.data() + offset, size);
        offset += size;
      }
    }
    write_in_flight_ = true;
    write_next(encrypt_ahead());
  }

  // With records per send(), encrypts every buffer but the last straight into the TLS engine's
  // outgoing buffer while it has room for them; each still gets records of its own. The async
  // write of the next buffer then sends all of that ciphertext with its own, in one socket
  // write, instead of one socket write (and one completion) per reply. Returns the index of
  // the first buffer left to the async writes.
  size_t encrypt_ahead() {
    // A TLS record adds at most this much to its at most 16 KiB of data (header, MAC or tag,
    // IV, padding), whichever cipher was agreed.
    constexpr size_t kRecordOverhead = 512;
    constexpr size_t kMaxRecordData = 16384;
    SSL* ssl = stream_.native_handle();
    BIO* out = SSL_get_wbio(ssl);
    size_t i = 0;
    for (; i + 1 < write_buffers_.size(); ++i) {
      const asio::const_buffer b = write_buffers_[i];
      const size_t need = b.size() + (b.size() / kMaxRecordData + 1) * kRecordOverhead;
      if (out == nullptr || BIO_ctrl_get_write_guarantee(out) < need) break;
      ERR_clear_error();
      const int n = SSL_write(ssl, b.data(), static_cast<int>(b.size()));
      if (n <= 0) break;  // the async write retries this very buffer and reports any error
      if (static_cast<size_t>(n) < b.size()) {
        write_buffers_[i] = b + static_cast<size_t>(n);  // the rest goes the usual way
        break;
      }
    }
    return i;
  }

  // Writes write_buffers_[index] and, when it is done, the next one.
  void write_next(size_t index) {
    asio::async_write(stream_, write_buffers_[index],
                      [self = shared_from_this(), index](const error_code& ec, size_t) {
                        if (!ec && index + 1 < self->write_buffers_.size() &&
                            self->phase_ != Phase::kClosed) {
                          self->write_next(index + 1);
                          return;
                        }
                        self->on_written(ec);
                      });
  }

  // connect(): runs on the loop's thread with the loop chosen for the connection.
  void begin_connect(const std::string& host, uint16_t port, ConnectDone done) {
    connect_host_ = std::string(strip_brackets(host));
    connect_target_ = join_host_port(host, port);
    connect_done_ = std::move(done);
    if (loop_->stopping()) {
      phase_ = Phase::kClosed;
      connect_failed("transport is stopping");
      return;
    }
    loop_->add(shared_from_this());
    arm_timer(options_.connect_timeout);  // covers connecting and the handshake
    error_code ec;
    const auto address = asio::ip::make_address(connect_host_, ec);
    if (!ec) {
      stream_.next_layer().async_connect(
          tcp::endpoint(address, port),
          [self = shared_from_this()](const error_code& ec) { self->on_connected(ec); });
      return;
    }
    resolver_.emplace(loop_->context());
    resolver_->async_resolve(
        connect_host_, std::to_string(port),
        [self = shared_from_this()](const error_code& ec, Resolver::results_type results) {
          if (ec || self->phase_ != Phase::kConnecting || self->timed_out_) {
            self->on_connected(ec ? ec : asio::error::operation_aborted);
            return;
          }
          asio::async_connect(self->stream_.next_layer(), results,
                              [self](const error_code& ec, const tcp::endpoint&) {
                                self->on_connected(ec);
                              });
        });
  }

  size_t registry_index = kNotRegistered;  // position in the loop's registry

 private:
  enum class Phase {
    kConnecting,    // connect(): TCP connect in progress
    kHandshaking,   // TLS handshake in progress (accepted or connected)
    kIdle,          // handshaken, start() not called yet
    kOpen,          // started: reading (unless paused)
    kShuttingDown,  // close_after_send: everything written, close_notify under way
    kClosed,        // finalized
  };

  void start_on_thread(std::shared_ptr<sdk::ConnectionHandler> handler) {
    if (!handler) return;
    if (phase_ == Phase::kClosed) {
      // Closed before start() got here (stop() racing a late start): still one on_closed.
      loop_->post([handler = std::move(handler)] {
        try {
          handler->on_closed("connection closed before start");
        } catch (...) {
        }
      });
      return;
    }
    if (phase_ != Phase::kIdle) return;
    handler_ = std::move(handler);
    phase_ = Phase::kOpen;
    maybe_read();
  }

  // One timer per connection, used in turn for the connect, the handshake and close_notify.
  // On expiry the socket closes, which ends whatever operation is pending with an error.
  // A generation number tells an expiry already queued when the timer was re-armed or
  // disarmed from the one that counts.
  void arm_timer(std::chrono::milliseconds after) {
    if (!timer_) timer_.emplace(loop_->context());
    timed_out_ = false;
    const uint64_t generation = ++timer_generation_;
    timer_->expires_after(after);
    timer_->async_wait([self = shared_from_this(), generation](const error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->phase_ == Phase::kClosed) return;
      self->timed_out_ = true;
      if (self->phase_ == Phase::kShuttingDown) {
        self->finalize(std::string());
        return;
      }
      error_code ignored;
      self->stream_.next_layer().close(ignored);
      if (self->resolver_) self->resolver_->cancel();
    });
  }

  void disarm_timer() {
    ++timer_generation_;
    if (timer_) timer_->cancel();
  }

  void on_server_handshake(const error_code& ec, const Handshaken& done) {
    disarm_timer();
    if (phase_ != Phase::kHandshaking) return;  // closed meanwhile (stop())
    if (ec || timed_out_) {
      const std::string why = timed_out_ ? "no handshake within " +
                                               std::to_string(options_.handshake_timeout.count()) +
                                               " ms"
                                         : handshake_error_text(ec, stream_.native_handle());
      loop_->log(sdk::LogLevel::kWarn,
                 "TLS handshake with " + remote_address_ + " failed: " + why + "; closed");
      finalize(std::string());  // no handler yet: nobody to tell
      return;
    }
    peer_subject_ = peer_subject(stream_.native_handle());
    phase_ = Phase::kIdle;
    done(shared_from_this());
  }

  // Any thread: stop delivering, drop what is unsent, finalize on the loop's thread.
  void abort(std::string reason) {
    try {
      {
        std::lock_guard lock(mutex_);
        if (close_requested_) return;
        close_requested_ = true;
        sends_open_ = false;
        out_.clear();
        out_sizes_.clear();
      }
      closing_.store(true, std::memory_order_relaxed);
      // Even on the loop's thread this is posted: on_closed never runs inside a core call.
      loop_->post([self = shared_from_this(), reason = std::move(reason)] {
        self->finalize(reason);
      });
    } catch (...) {
    }
  }

  void schedule_flush() {
    if (loop_->on_thread()) {
      if (loop_->in_dispatch()) {
        loop_->defer_flush(shared_from_this());
      } else {
        flush();
      }
    } else {
      loop_->post([self = shared_from_this()] { self->flush(); });
    }
  }

  // close_after_send, once everything queued is written: close_notify, then close. As
  // ZooKeeper's Netty does, the peer's close_notify is not waited for: marking it received
  // makes the shutdown complete once ours is written (and keeps it from reading beside a
  // read that may still be out). A peer that does not read gets kCloseNotifyTimeout.
  void begin_shutdown() {
    if (phase_ == Phase::kClosed || phase_ == Phase::kShuttingDown) return;
    phase_ = Phase::kShuttingDown;
    arm_timer(kCloseNotifyTimeout);
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    stream_.async_shutdown([self = shared_from_this()](const error_code&) {
      self->finalize(std::string());
    });
  }

  void on_written(const error_code& ec) {
    write_in_flight_ = false;
    if (writing_.capacity() > kMaxRetainedBuffer) {
      std::vector<uint8_t>().swap(writing_);
      std::vector<size_t>().swap(writing_sizes_);
    } else {
      writing_.clear();
      writing_sizes_.clear();
    }
    write_buffers_.clear();
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      finalize(ec.message());
      return;
    }
    flush();
  }

  bool may_read() const {
    return phase_ == Phase::kOpen && !read_in_flight_ && !in_receive_ && reading_enabled_ &&
           stashed_ == 0 && !closing_.load(std::memory_order_relaxed);
  }

  void maybe_read() {
    if (!may_read()) return;
    read_in_flight_ = true;
    stream_.async_read_some(
        asio::buffer(read_buffer_.get(), options_.read_buffer_size),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, size_t size) {
    read_in_flight_ = false;
    if (phase_ != Phase::kOpen || closing_.load(std::memory_order_relaxed)) return;
    if (ec) {
      // The peer's close_notify, or a plain end of stream: an orderly close either way.
      const bool orderly = ec == asio::error::eof || ec == ssl::error::stream_truncated;
      finalize(orderly ? std::string() : ec.message());
      return;
    }
    if (!reading_enabled_) {  // paused while the read was out: hold the bytes until resumed
      stashed_ = size;
      return;
    }
    deliver(size);
    maybe_read();
  }

  void deliver(size_t size) {
    in_receive_ = true;  // the buffer is the core's until on_receive returns: no read into it
    {
      DispatchScope scope(*loop_);
      try {
        handler_->on_receive(read_buffer_.get(), size);
      } catch (...) {
        const std::string what = exception_text(std::current_exception());
        loop_->log(sdk::LogLevel::kError, "on_receive for " + remote_address_ + " threw: " + what);
        abort("connection handler threw: " + what);
      }
    }
    in_receive_ = false;
  }

  void apply_reading(bool enabled) {
    reading_enabled_ = enabled;
    if (!enabled || phase_ != Phase::kOpen) return;
    if (stashed_ == 0) {
      maybe_read();
    } else if (!stash_posted_) {  // deliver later, never inside the core's set_reading call
      stash_posted_ = true;
      asio::post(loop_->context(), [self = shared_from_this()] { self->deliver_stash(); });
    }
  }

  void deliver_stash() {
    stash_posted_ = false;
    if (phase_ != Phase::kOpen || !reading_enabled_ || stashed_ == 0 ||
        closing_.load(std::memory_order_relaxed)) {
      return;
    }
    const size_t size = std::exchange(stashed_, 0);
    deliver(size);
    maybe_read();
  }

  // connect(): TCP is up; the client handshake follows, verifying the server.
  void on_connected(error_code ec) {
    if (!ec && phase_ != Phase::kConnecting) ec = asio::error::operation_aborted;
    if (timed_out_) ec = asio::error::timed_out;
    if (ec) {
      connect_failed(ec.message());
      return;
    }
    if (!init_socket()) {
      connect_failed("connection lost right after connecting");
      return;
    }
    SSL* ssl = stream_.native_handle();
    stream_.set_verify_mode(ssl::verify_peer);
    error_code address_ec;
    asio::ip::make_address(connect_host_, address_ec);
    const bool is_address = !address_ec;
    if (!is_address) SSL_set_tlsext_host_name(ssl, connect_host_.c_str());  // SNI: names only
    if (options_.tls.hostname_verification) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      const int set = is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, connect_host_.c_str())
                                 : SSL_set1_host(ssl, connect_host_.c_str());
      if (set != 1) {
        connect_failed("cannot set up hostname verification for '" + connect_host_ + "'");
        return;
      }
    }
    phase_ = Phase::kHandshaking;
    stream_.async_handshake(ssl::stream_base::client, [self = shared_from_this()](
                                                          const error_code& ec) {
      self->on_client_handshake(ec);
    });
  }

  void on_client_handshake(error_code ec) {
    disarm_timer();
    if (!ec && phase_ != Phase::kHandshaking) ec = asio::error::operation_aborted;
    if (timed_out_) {
      connect_failed("timed out during the TLS handshake");
      return;
    }
    if (ec) {
      connect_failed("TLS handshake failed: " + handshake_error_text(ec, stream_.native_handle()));
      return;
    }
    peer_subject_ = peer_subject(stream_.native_handle());
    phase_ = Phase::kIdle;
    DispatchScope scope(*loop_);
    bool owed = false;
    {
      std::lock_guard lock(mutex_);
      owed = flush_owed_;  // send() before the connect completed
    }
    if (owed) loop_->defer_flush(shared_from_this());
    auto done = std::move(connect_done_);
    try {
      done(std::shared_ptr<sdk::Connection>(shared_from_this()));
    } catch (...) {
      loop_->log(sdk::LogLevel::kError, "connect callback for " + connect_target_ +
                                            " threw: " + exception_text(std::current_exception()));
    }
  }

  void connect_failed(const std::string& why) {
    auto done = std::move(connect_done_);
    finalize(std::string());  // no handler yet: no on_closed
    DispatchScope scope(*loop_);
    try {
      done(sdk::Status::error("cannot connect to " + connect_target_ + ": " + why));
    } catch (...) {
      loop_->log(sdk::LogLevel::kError, "connect callback for " + connect_target_ +
                                            " threw: " + exception_text(std::current_exception()));
    }
  }

  // Fixed after construction (the addresses and the subject once set up, before the core
  // sees the connection).
  const std::shared_ptr<IoLoop> loop_;  // first: the stream must go before the io_context
  const Options options_;               // holds the SSL context the stream uses
  Stream stream_;
  const std::unique_ptr<uint8_t[]> read_buffer_;
  std::string remote_address_;
  std::string local_address_;
  std::string peer_subject_;

  // Shared with other threads.
  mutable std::mutex mutex_;
  std::vector<uint8_t> out_;      // guarded: bytes queued by send()
  std::vector<size_t> out_sizes_;  // guarded: their send() sizes (with recordPerSend)
  size_t writing_bytes_ = 0;      // guarded: size of the write in flight
  bool flush_owed_ = false;       // guarded: a flush is posted, deferred or its write in flight
  bool sends_open_ = true;        // guarded: false after close / close_after_send
  bool draining_ = false;         // guarded: close_after_send asked
  bool close_requested_ = false;  // guarded: close() asked (or finalized)
  std::atomic<bool> closing_{false};  // stop delivering bytes

  // The loop's thread only.
  Phase phase_;
  std::shared_ptr<sdk::ConnectionHandler> handler_;  // released at finalize: no cycle
  std::vector<uint8_t> writing_;  // the buffer being written
  std::vector<size_t> writing_sizes_;
  std::vector<asio::const_buffer> write_buffers_;  // views of writing_, one per send()
  bool write_in_flight_ = false;
  bool read_in_flight_ = false;
  bool in_receive_ = false;
  bool reading_enabled_ = true;
  bool stash_posted_ = false;
  size_t stashed_ = 0;  // bytes read while paused, waiting in read_buffer_
  std::optional<Timer> timer_;  // connect / handshake / close_notify deadline
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  // connect() only.
  std::string connect_host_;
  std::string connect_target_;
  ConnectDone connect_done_;
  std::optional<Resolver> resolver_;
};

void IoLoop::add(const std::shared_ptr<TlsConnection>& connection) {
  connection->registry_index = connections_.size();
  connections_.push_back(connection);
}

void IoLoop::remove(TlsConnection* connection) {
  const size_t index = connection->registry_index;
  if (index >= connections_.size() || connections_[index].get() != connection) return;
  if (index + 1 != connections_.size()) {
    connections_[index] = std::move(connections_.back());
    connections_[index]->registry_index = index;
  }
  connections_.pop_back();  // the caller holds its own reference
  connection->registry_index = TlsConnection::kNotRegistered;
}

void IoLoop::flush_deferred() {
  // Held above zero so that sends made by callbacks reached from here (a drained connection's
  // on_closed) are deferred to the next round rather than recursing.
  ++dispatch_depth_;
  while (!deferred_.empty()) {
    flushing_.swap(deferred_);
    for (auto& connection : flushing_) {
      try {
        connection->flush();
      } catch (...) {
        log(sdk::LogLevel::kError, "flush failed: " + exception_text(std::current_exception()));
      }
    }
    flushing_.clear();
  }
  --dispatch_depth_;
}

// ---------------------------------------------------------------------------------------------
// Listening

struct Engine {
  Engine(const Options& o, sdk::Host* h) : options(o), host(h) {}
  std::shared_ptr<IoLoop> pick() {
    return loops[next.fetch_add(1, std::memory_order_relaxed) % loops.size()];
  }
  void log(sdk::LogLevel level, std::string_view message) const {
    if (host == nullptr) return;
    try {
      host->log(level, message);
    } catch (...) {
    }
  }

  const Options options;
  sdk::Host* const host;
  std::vector<std::shared_ptr<IoLoop>> loops;  // fixed once started
  std::atomic<uint32_t> next{0};
};

class ListenerState : public std::enable_shared_from_this<ListenerState> {
  // First, so destroyed last: the io_context must outlive the acceptor and the timer.
  const std::shared_ptr<Engine> engine_;
  const std::shared_ptr<IoLoop> loop_;  // where the acceptor lives

 public:
  ListenerState(std::shared_ptr<Engine> engine, std::shared_ptr<IoLoop> loop,
                sdk::AcceptHandler& handler)
      : engine_(std::move(engine)),
        loop_(std::move(loop)),
        acceptor(loop_->context()),
        handler_(handler),
        retry_timer_(loop_->context()) {}

  // Set up by listen() before begin(), then left alone.
  Acceptor acceptor;
  uint16_t port = 0;
  std::string where;  // "host:port" with the port bound, for messages

  // The loop's thread: registers and starts accepting.
  void begin() {
    if (closed_.load() || loop_->stopping()) {
      close_on_thread();
      return;
    }
    loop_->add(shared_from_this());
    accept_next();
  }

  // Any thread. From a thread that is not an I/O thread, returns once the socket is closed
  // and no on_accept of this listener runs any more, so the AcceptHandler may go. From an I/O
  // thread it never blocks (waiting there for another loop could deadlock): the socket closes
  // shortly after, and no on_accept starts once this returns. Connections still in their
  // handshake are closed when it ends.
  void close() {
    const bool may_block = t_current_loop == nullptr;
    if (!closed_.exchange(true)) {
      if (loop_->on_thread()) {
        close_on_thread();
      } else {
        auto closed = std::make_shared<std::promise<void>>();
        auto done = closed->get_future();
        // Refused only when stop() has begun, and stop() closes the acceptor itself.
        if (loop_->post([self = shared_from_this(), closed] {
              self->close_on_thread();
              closed->set_value();
            }) &&
            may_block) {
          done.wait();
        }
      }
    }
    if (may_block) {
      std::unique_lock lock(handler_mutex_);
      handler_idle_.wait(lock, [this] { return accepting_now_ == 0; });
    }
  }

  void close_on_thread() {
    closed_.store(true);
    error_code ignored;
    acceptor.close(ignored);
    retry_timer_.cancel();
    loop_->remove(this);
  }

 private:
  void accept_next() {
    if (closed_.load()) return;
    auto target = engine_->pick();  // round-robin: the socket is born on its loop
    acceptor.async_accept(target->context(),
                          [self = shared_from_this(), target](const error_code& ec,
                                                              Socket socket) mutable {
                            self->on_accepted(ec, std::move(socket), std::move(target));
                          });
  }

  void on_accepted(const error_code& ec, Socket socket, std::shared_ptr<IoLoop> target) {
    if (closed_.load()) return;
    if (ec) {
      on_accept_error(ec);
      return;
    }
    last_error_ = 0;
    accept_next();
    if (target == loop_) {
      adopt(target, std::move(socket));
      return;
    }
    target->post([self = shared_from_this(), target, socket = std::move(socket)]() mutable {
      self->adopt(target, std::move(socket));
    });  // refused during stop(): the socket closes
  }

  void on_accept_error(const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec == asio::error::connection_aborted) {  // that peer gave up; the next may not
      accept_next();
      return;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM ...: pause, retry, and say so once per spell.
    if (last_error_ != ec.value()) {
      last_error_ = ec.value();
      engine_->log(sdk::LogLevel::kWarn, "accepting on " + where + " failed: " + ec.message() +
                                             "; retrying every " +
                                             std::to_string(kAcceptRetryDelay.count()) + " ms");
    }
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->accept_next();
    });
  }

  // The connection's loop thread: registers it (so stop() closes it) and starts its handshake.
  void adopt(const std::shared_ptr<IoLoop>& target, Socket socket) {
    if (closed_.load() || target->stopping()) return;
    std::shared_ptr<TlsConnection> connection;
    try {
      connection = std::make_shared<TlsConnection>(target, std::move(socket), engine_->options);
    } catch (...) {  // SSL_new failed (out of memory)
      engine_->log(sdk::LogLevel::kError,
                   "cannot set up TLS for an accepted connection: " +
                       exception_text(std::current_exception()));
      return;
    }
    if (!connection->init_socket()) return;  // reset before we saw it
    target->add(connection);
    connection->begin_server_handshake(
        [self = shared_from_this(), target](const std::shared_ptr<TlsConnection>& c) {
          self->deliver(target, c);
        });
  }

  // The connection's loop thread, once its handshake succeeded: tells the core.
  void deliver(const std::shared_ptr<IoLoop>& target,
               const std::shared_ptr<TlsConnection>& connection) {
    {
      std::lock_guard lock(handler_mutex_);  // pairs with close(): closed, or counted
      if (closed_.load() || target->stopping()) {
        connection->finalize(std::string());
        return;
      }
      ++accepting_now_;
    }
    {
      DispatchScope scope(*target);
      try {
        handler_.on_accept(connection);
      } catch (...) {
        engine_->log(sdk::LogLevel::kError, "on_accept for " + connection->remote_address() +
                                                " threw: " +
                                                exception_text(std::current_exception()));
        connection->close();
      }
    }
    std::lock_guard lock(handler_mutex_);
    if (--accepting_now_ == 0) handler_idle_.notify_all();
  }

  sdk::AcceptHandler& handler_;
  std::atomic<bool> closed_{false};
  std::mutex handler_mutex_;
  std::condition_variable handler_idle_;
  int accepting_now_ = 0;  // guarded: on_accept calls running, for close() to wait out
  // The acceptor loop's thread only.
  Timer retry_timer_;
  int last_error_ = 0;
};

void IoLoop::close_all() {
  stopping_ = true;
  auto listeners = std::move(listeners_);
  listeners_.clear();
  for (auto& listener : listeners) listener->close_on_thread();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& connection : connections) {
    connection->registry_index = TlsConnection::kNotRegistered;
    connection->finalize(std::string());
  }
}

class TlsListener final : public sdk::Listener {
 public:
  explicit TlsListener(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {}
  ~TlsListener() override { close(); }
  uint16_t port() const override { return state_->port; }
  void close() override {
    try {
      state_->close();
    } catch (...) {
    }
  }

 private:
  std::shared_ptr<ListenerState> state_;
};

// ---------------------------------------------------------------------------------------------
// TlsTransport

struct ConnectRequest {
  std::shared_ptr<TlsConnection> connection;
  std::string host;
  uint16_t port;
  ConnectDone done;
};

class TlsTransport final : public sdk::Transport {
 public:
  TlsTransport() = default;
  ~TlsTransport() override { stop(); }

  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host& host) override {
    try {
      host_ = &host;
      Options options;
      int64_t backlog = options.listen_backlog;
      int64_t buffer = static_cast<int64_t>(options.read_buffer_size);
      int64_t connect_timeout = options.connect_timeout.count();
      int64_t handshake_timeout = options.handshake_timeout.count();
      if (auto s = read_bool(config, "transport.tls.noDelay", options.no_delay); !s) return s;
      if (auto s = read_bool(config, "transport.tls.recordPerSend", options.record_per_send); !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tls.listenBacklog", 1, 1 << 20, backlog); !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tls.readBufferSize", 512, 64 << 20, buffer); !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tls.connectTimeoutMs", 1, 3600 * 1000,
                            connect_timeout);
          !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tls.handshakeTimeoutMs", 1, 3600 * 1000,
                            handshake_timeout);
          !s) {
        return s;
      }
      auto tls = load_tls_settings(config);
      if (!tls) return tls.status();
      options.listen_backlog = static_cast<int>(backlog);
      options.read_buffer_size = static_cast<size_t>(buffer);
      options.connect_timeout = std::chrono::milliseconds(connect_timeout);
      options.handshake_timeout = std::chrono::milliseconds(handshake_timeout);
      options.tls = std::move(tls.value());
      options_ = std::move(options);
      configured_ = true;
      return sdk::Status::ok();
    } catch (...) {
      return sdk::Status::error("configure: " + exception_text(std::current_exception()));
    }
  }

  sdk::Status start(unsigned io_threads) override {
    std::lock_guard lock(mutex_);
    if (state_ != State::kCreated) {
      return sdk::Status::error(state_ == State::kRunning ? "transport already started"
                                                          : "transport was stopped");
    }
    if (!configured_) return sdk::Status::error("transport is not configured");
    if (io_threads == 0) return sdk::Status::error("io_threads must be at least 1");
    auto engine = std::make_shared<Engine>(options_, host_);
    try {
      for (unsigned i = 0; i < io_threads; ++i) {
        engine->loops.push_back(std::make_shared<IoLoop>(i, host_));
      }
      for (auto& loop : engine->loops) loop->start_thread();
    } catch (...) {
      for (auto& loop : engine->loops) loop->release();
      for (auto& loop : engine->loops) loop->join();
      return sdk::Status::error("cannot start I/O threads: " +
                                exception_text(std::current_exception()));
    }
    engine_ = std::move(engine);
    state_ = State::kRunning;
    return sdk::Status::ok();
  }

  sdk::Result<std::unique_ptr<sdk::Listener>> listen(const std::string& host, uint16_t port,
                                                     sdk::AcceptHandler& handler) override {
    const std::string_view shown = host.empty() ? std::string_view("0.0.0.0") : host;
    const std::string where = join_host_port(shown, port);
    auto fail = [&where](const std::string& why) -> sdk::Status {
      return sdk::Status::error("cannot listen on " + where + ": " + why);
    };
    try {
      auto engine = running_engine();
      if (!engine) return fail("transport is not running");
      auto loop = engine->pick();
      error_code ec;
      tcp::endpoint endpoint;
      bool any_v6 = false;
      const std::string_view name = strip_brackets(host);
      if (name.empty() || name == "0.0.0.0") {
        endpoint = tcp::endpoint(tcp::v4(), port);
      } else if (name == "::") {
        endpoint = tcp::endpoint(tcp::v6(), port);
        any_v6 = true;
      } else if (auto address = asio::ip::make_address(name, ec); !ec) {
        endpoint = tcp::endpoint(address, port);
      } else {
        Resolver resolver(loop->context());
        auto results = resolver.resolve(std::string(name), std::to_string(port), ec);
        if (ec) return fail(ec.message());
        if (results.empty()) return fail("host has no address");
        endpoint = results.begin()->endpoint();
      }

      auto state = std::make_shared<ListenerState>(engine, loop, handler);
      Acceptor& acceptor = state->acceptor;
      if (acceptor.open(endpoint.protocol(), ec); ec) return fail(ec.message());
      acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (any_v6) acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" means all
      if (acceptor.bind(endpoint, ec); ec) return fail(ec.message());
      if (acceptor.listen(engine->options.listen_backlog, ec); ec) return fail(ec.message());
      const auto bound = acceptor.local_endpoint(ec);
      if (ec) return fail(ec.message());
      state->port = bound.port();
      state->where = join_host_port(shown, state->port);
      if (!loop->post([state] { state->begin(); })) return fail("transport is stopping");
      return std::unique_ptr<sdk::Listener>(std::make_unique<TlsListener>(std::move(state)));
    } catch (...) {
      return fail(exception_text(std::current_exception()));
    }
  }

  void connect(const std::string& host, uint16_t port, ConnectDone done) override {
    if (!done) return;
    const std::string target = join_host_port(host, port);
    try {
      auto engine = running_engine();
      if (!engine) {
        done(sdk::Status::error("cannot connect to " + target + ": transport is not running"));
        return;
      }
      auto loop = engine->pick();
      auto request = std::make_shared<ConnectRequest>(ConnectRequest{
          std::make_shared<TlsConnection>(loop, engine->options), host, port, std::move(done)});
      if (!loop->post([request] {
            request->connection->begin_connect(request->host, request->port,
                                               std::move(request->done));
          })) {
        request->done(
            sdk::Status::error("cannot connect to " + target + ": transport is stopping"));
      }
    } catch (...) {
      if (done) {
        try {
          done(sdk::Status::error("cannot connect to " + target + ": " +
                                  exception_text(std::current_exception())));
        } catch (...) {
        }
      }
    }
  }

  void stop() override {
    std::shared_ptr<Engine> engine;
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::kRunning) return;
      for (const auto& loop : engine_->loops) {
        if (loop->on_thread()) {
          engine_->log(sdk::LogLevel::kError, "stop() called on an I/O thread; ignored");
          return;
        }
      }
      state_ = State::kStopped;
      engine = engine_;
    }
    // Close everything first (each loop on its own thread), then let each loop drain and end.
    for (auto& loop : engine->loops) {
      IoLoop* l = loop.get();
      try {
        loop->post([l] { l->close_all(); });
      } catch (...) {
      }
    }
    for (auto& loop : engine->loops) loop->release();
    for (auto& loop : engine->loops) loop->join();
  }

 private:
  enum class State { kCreated, kRunning, kStopped };

  std::shared_ptr<Engine> running_engine() {
    std::lock_guard lock(mutex_);
    return state_ == State::kRunning ? engine_ : nullptr;
  }

  std::mutex mutex_;
  State state_ = State::kCreated;  // guarded by mutex_
  std::shared_ptr<Engine> engine_;
  Options options_;
  bool configured_ = false;
  sdk::Host* host_ = nullptr;
};

}  // namespace
}  // namespace paddock::transport_tls

PADDOCK_PLUGIN(kTransport, "tls", PADDOCK_VERSION, paddock::transport_tls::kConfigKeys,
               static_cast<uint32_t>(std::size(paddock::transport_tls::kConfigKeys)),
               paddock::transport_tls::TlsTransport)
