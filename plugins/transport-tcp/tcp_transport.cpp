// transport-tcp: the SDK's Transport over plain TCP, on Boost.Asio. Theory of operation in
// README.md beside this file; in short:
//  - one io_context per I/O thread (IoLoop); a connection lives on one loop for its life, so
//    it needs no strand: its state is touched only on that thread, except the output buffer
//    and a few flags, which sit under a small per-connection mutex because send() and close()
//    come from any thread;
//  - every call into the core (on_accept, on_receive, on_closed, connect's done, posted tasks)
//    runs inside a DispatchScope; send() made on the loop's thread inside a scope only appends
//    and marks the connection, and the scope's end writes each marked connection once;
//  - send() from another thread appends and posts one flush, unless one is already owed;
//  - stop() closes everything on each loop, lets each loop drain its handlers and joins.
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

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

#ifndef PADDOCK_VERSION
#define PADDOCK_VERSION "0.0.0"
#endif

namespace paddock::transport_tcp {
namespace {  // nothing here is exported but the two aliases PADDOCK_PLUGIN declares

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
// Sockets bound to an io_context's own executor: no type-erased executor on the hot path.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using ConnectDone = std::function<void(sdk::Result<std::shared_ptr<sdk::Connection>>)>;

// ---------------------------------------------------------------------------------------------
// Configuration

constexpr sdk::ConfigKeyDecl kConfigKeys[] = {
    {"transport.tcp.noDelay", "bool", "true",
     "set TCP_NODELAY on every connection (small replies are not delayed by Nagle)"},
    {"transport.tcp.listenBacklog", "int", "511",
     "backlog of a listening socket (the kernel caps it at net.core.somaxconn)"},
    {"transport.tcp.readBufferSize", "int", "65536",
     "bytes of each connection's receive buffer, the most one read hands to the core"},
    {"transport.tcp.connectTimeoutMs", "int", "5000",
     "milliseconds an outgoing connect may take before it fails"},
};

struct Options {
  bool no_delay = true;
  int listen_backlog = 511;
  size_t read_buffer_size = 64 * 1024;
  std::chrono::milliseconds connect_timeout{5000};
};

// Output buffers above this capacity are released once written, so one burst does not pin
// memory for the connection's life.
constexpr size_t kMaxRetainedBuffer = 1024 * 1024;
// The most one write system call is offered (asio's own default is 64 KiB).
constexpr size_t kMaxWriteChunk = 4 * 1024 * 1024;
// Pause before accepting again after the accept call failed (EMFILE, ENFILE, ENOBUFS ...).
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

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
// Addresses

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

// ---------------------------------------------------------------------------------------------
// IoLoop: one I/O thread and its io_context, plus the registries stop() walks.

class TcpConnection;
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

  void add(const std::shared_ptr<TcpConnection>& connection);
  void remove(TcpConnection* connection);
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
  void defer_flush(std::shared_ptr<TcpConnection> connection) {
    deferred_.push_back(std::move(connection));
  }

 private:
  void run() {
    t_current_loop = this;
#if defined(__linux__)
    const std::string name = "paddock-tcp-" + std::to_string(index_);
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
  std::vector<std::shared_ptr<TcpConnection>> deferred_;  // flush owed at the scope's end
  std::vector<std::shared_ptr<TcpConnection>> flushing_;  // deferred_'s twin, reused
  std::vector<std::shared_ptr<TcpConnection>> connections_;
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
// TcpConnection

class TcpConnection final : public sdk::Connection,
                            public std::enable_shared_from_this<TcpConnection> {
 public:
  static constexpr size_t kNotRegistered = std::numeric_limits<size_t>::max();

  // An accepted socket (already bound to `loop`), or a fresh one for connect().
  TcpConnection(std::shared_ptr<IoLoop> loop, Socket socket, const Options& options)
      : loop_(std::move(loop)),
        options_(options),
        socket_(std::move(socket)),
        read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(options.read_buffer_size)),
        phase_(Phase::kIdle) {}
  TcpConnection(std::shared_ptr<IoLoop> loop, const Options& options)
      : TcpConnection(loop, Socket(loop->context()), options) {
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

  // ---- plugin-internal; the loop's thread unless noted ----

  // Reads both addresses and sets socket options; false when the peer is already gone.
  bool init_socket() {
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    if (ec) return false;
    const auto local = socket_.local_endpoint(ec);
    if (ec) return false;
    remote_address_ = format_endpoint(remote);
    local_address_ = format_endpoint(local);
    if (options_.no_delay) socket_.set_option(tcp::no_delay(true), ec);
    return true;
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
      writing_bytes_ = 0;
    }
    error_code ignored;
    socket_.close(ignored);
    if (resolver_) resolver_->cancel();
    if (connect_timer_) connect_timer_->cancel();
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
  // flight (whose completion calls it again) or before the socket is connected.
  void flush() {
    if (write_in_flight_ || phase_ == Phase::kClosed || phase_ == Phase::kConnecting) return;
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
        writing_bytes_ = writing_.size();
      }
    }
    if (close_now) {
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      finalize(std::string());
      return;
    }
    if (writing_.empty()) return;
    write_in_flight_ = true;
    asio::async_write(
        socket_, asio::buffer(writing_),
        [](const error_code& ec, size_t) -> size_t { return ec ? 0 : kMaxWriteChunk; },
        [self = shared_from_this()](const error_code& ec, size_t) { self->on_written(ec); });
  }

  // connect(): runs on the loop's thread with the loop chosen for the connection.
  void begin_connect(const std::string& host, uint16_t port, ConnectDone done) {
    connect_target_ = join_host_port(host, port);
    connect_done_ = std::move(done);
    if (loop_->stopping()) {
      phase_ = Phase::kClosed;
      connect_failed("transport is stopping");
      return;
    }
    loop_->add(shared_from_this());
    connect_timer_.emplace(loop_->context());
    connect_timer_->expires_after(options_.connect_timeout);
    connect_timer_->async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->phase_ != Phase::kConnecting) return;
      self->connect_timed_out_ = true;
      error_code ignored;
      self->socket_.close(ignored);
      if (self->resolver_) self->resolver_->cancel();
    });
    error_code ec;
    const auto address = asio::ip::make_address(strip_brackets(host), ec);
    if (!ec) {
      socket_.async_connect(tcp::endpoint(address, port), [self = shared_from_this()](
                                                              const error_code& ec) {
        self->on_connected(ec);
      });
      return;
    }
    resolver_.emplace(loop_->context());
    resolver_->async_resolve(
        std::string(host), std::to_string(port),
        [self = shared_from_this()](const error_code& ec, Resolver::results_type results) {
          if (ec || self->phase_ != Phase::kConnecting || self->connect_timed_out_) {
            self->on_connected(ec ? ec : asio::error::operation_aborted);
            return;
          }
          asio::async_connect(self->socket_, results,
                              [self](const error_code& ec, const tcp::endpoint&) {
                                self->on_connected(ec);
                              });
        });
  }

  size_t registry_index = kNotRegistered;  // position in the loop's registry

 private:
  enum class Phase {
    kConnecting,  // connect() in progress
    kIdle,        // connected or accepted, start() not called yet
    kOpen,        // started: reading (unless paused)
    kClosed,      // finalized
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

  // Any thread: stop delivering, drop what is unsent, finalize on the loop's thread.
  void abort(std::string reason) {
    try {
      {
        std::lock_guard lock(mutex_);
        if (close_requested_) return;
        close_requested_ = true;
        sends_open_ = false;
        out_.clear();
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

  void on_written(const error_code& ec) {
    write_in_flight_ = false;
    if (writing_.capacity() > kMaxRetainedBuffer) {
      std::vector<uint8_t>().swap(writing_);
    } else {
      writing_.clear();
    }
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
    socket_.async_read_some(
        asio::buffer(read_buffer_.get(), options_.read_buffer_size),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, size_t size) {
    read_in_flight_ = false;
    if (phase_ == Phase::kClosed || closing_.load(std::memory_order_relaxed)) return;
    if (ec) {
      finalize(ec == asio::error::eof ? std::string() : ec.message());
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

  void on_connected(error_code ec) {
    if (connect_timer_) connect_timer_->cancel();
    if (!ec && phase_ != Phase::kConnecting) ec = asio::error::operation_aborted;
    if (connect_timed_out_) ec = asio::error::timed_out;
    if (ec) {
      connect_failed(ec.message());
      return;
    }
    if (!init_socket()) {
      connect_failed("connection lost right after connecting");
      return;
    }
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

  // Fixed after construction (the addresses once set up, before the core sees them).
  const std::shared_ptr<IoLoop> loop_;  // first: the socket must go before the io_context
  const Options options_;
  Socket socket_;
  const std::unique_ptr<uint8_t[]> read_buffer_;
  std::string remote_address_;
  std::string local_address_;

  // Shared with other threads.
  mutable std::mutex mutex_;
  std::vector<uint8_t> out_;      // guarded: bytes queued by send()
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
  bool write_in_flight_ = false;
  bool read_in_flight_ = false;
  bool in_receive_ = false;
  bool reading_enabled_ = true;
  bool stash_posted_ = false;
  size_t stashed_ = 0;  // bytes read while paused, waiting in read_buffer_
  // connect() only.
  std::string connect_target_;
  ConnectDone connect_done_;
  std::optional<Resolver> resolver_;
  std::optional<Timer> connect_timer_;
  bool connect_timed_out_ = false;
};

void IoLoop::add(const std::shared_ptr<TcpConnection>& connection) {
  connection->registry_index = connections_.size();
  connections_.push_back(connection);
}

void IoLoop::remove(TcpConnection* connection) {
  const size_t index = connection->registry_index;
  if (index >= connections_.size() || connections_[index].get() != connection) return;
  if (index + 1 != connections_.size()) {
    connections_[index] = std::move(connections_.back());
    connections_[index]->registry_index = index;
  }
  connections_.pop_back();  // the caller holds its own reference
  connection->registry_index = TcpConnection::kNotRegistered;
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
  // shortly after, and no on_accept starts once this returns.
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

  // The connection's loop thread.
  void adopt(const std::shared_ptr<IoLoop>& target, Socket socket) {
    if (closed_.load() || target->stopping()) return;
    auto connection = std::make_shared<TcpConnection>(target, std::move(socket), engine_->options);
    if (!connection->init_socket()) return;  // reset before we saw it
    target->add(connection);
    {
      std::lock_guard lock(handler_mutex_);  // pairs with close(): closed, or counted
      if (closed_.load()) {
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
    connection->registry_index = TcpConnection::kNotRegistered;
    connection->finalize(std::string());
  }
}

class TcpListener final : public sdk::Listener {
 public:
  explicit TcpListener(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {}
  ~TcpListener() override { close(); }
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
// TcpTransport

struct ConnectRequest {
  std::shared_ptr<TcpConnection> connection;
  std::string host;
  uint16_t port;
  ConnectDone done;
};

class TcpTransport final : public sdk::Transport {
 public:
  TcpTransport() = default;
  ~TcpTransport() override { stop(); }

  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host& host) override {
    try {
      host_ = &host;
      Options options;
      int64_t backlog = options.listen_backlog;
      int64_t buffer = static_cast<int64_t>(options.read_buffer_size);
      int64_t timeout = options.connect_timeout.count();
      if (auto s = read_bool(config, "transport.tcp.noDelay", options.no_delay); !s) return s;
      if (auto s = read_int(config, "transport.tcp.listenBacklog", 1, 1 << 20, backlog); !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tcp.readBufferSize", 512, 64 << 20, buffer); !s) {
        return s;
      }
      if (auto s = read_int(config, "transport.tcp.connectTimeoutMs", 1, 3600 * 1000, timeout);
          !s) {
        return s;
      }
      options.listen_backlog = static_cast<int>(backlog);
      options.read_buffer_size = static_cast<size_t>(buffer);
      options.connect_timeout = std::chrono::milliseconds(timeout);
      options_ = options;
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
      return std::unique_ptr<sdk::Listener>(std::make_unique<TcpListener>(std::move(state)));
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
          std::make_shared<TcpConnection>(loop, engine->options), host, port, std::move(done)});
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
  sdk::Host* host_ = nullptr;
};

}  // namespace
}  // namespace paddock::transport_tcp

PADDOCK_PLUGIN(kTransport, "tcp", PADDOCK_VERSION, paddock::transport_tcp::kConfigKeys,
               static_cast<uint32_t>(std::size(paddock::transport_tcp::kConfigKeys)),
               paddock::transport_tcp::TcpTransport)
