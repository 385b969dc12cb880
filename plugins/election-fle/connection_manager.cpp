#include "connection_manager.hpp"

#include <atomic>
#include <exception>
#include <utility>

namespace paddock::election_fle {

// ---------------------------------------------------------------------------------------------
// PeerConnection: one election connection, either end. An accepted connection first reads the
// peer's initial message; then both kinds read frames. Callbacks run on the connection's I/O
// thread, one at a time, so the read state needs no lock.

class PeerConnection final : public sdk::ConnectionHandler,
                             public std::enable_shared_from_this<PeerConnection> {
 public:
  enum class Role { kInitiator, kAcceptor };

  PeerConnection(std::weak_ptr<ConnectionManager> manager,
                 std::shared_ptr<sdk::Connection> connection, Role role, sdk::ServerId sid)
      : manager_(std::move(manager)),
        connection_(std::move(connection)),
        phase_(role == Role::kAcceptor ? Phase::kHandshake : Phase::kFrames),
        handshake_done_(role == Role::kInitiator),
        sid_(sid) {}

  void on_receive(const uint8_t* data, size_t size) override {
    auto manager = manager_.lock();
    if (!manager || phase_ == Phase::kClosing) return;
    CallbackGate::Pass pass(manager->gate_);
    if (!pass) return;
    try {
      read(*manager, data, size);
    } catch (...) {  // allocation failure and the like: drop this connection, never the process
      manager->log(sdk::LogLevel::kError, "election connection " + describe() + ": " +
                                              exception_text(std::current_exception()));
      close();
    }
  }

  void on_closed(const std::string& reason) override {
    phase_ = Phase::kClosing;
    if (auto manager = manager_.lock()) manager->on_closed(shared_from_this(), reason);
  }

  void send(const Frame& frame) { connection_->send(frame->data(), frame->size()); }
  void send_raw(const std::vector<uint8_t>& bytes) {
    connection_->send(bytes.data(), bytes.size());
  }
  void start() { connection_->start(shared_from_this()); }
  void close() {
    closing_.store(true);
    connection_->close();
  }
  void close_after_send() {
    closing_.store(true);
    connection_->close_after_send();
  }

  bool handshake_done() const { return handshake_done_.load(); }
  bool closing() const { return closing_.load(); }
  sdk::ServerId sid() const { return sid_.load(); }
  void set_sid(sdk::ServerId sid) { sid_.store(sid); }
  std::string describe() const {
    return (handshake_done() ? "with server " + std::to_string(sid()) + " " : "") + "(" +
           connection_->remote_address() + ")";
  }

 private:
  enum class Phase { kHandshake, kFrames, kClosing };

  static std::string exception_text(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return x.what();
    } catch (...) {
      return "unknown exception";
    }
  }

  void fail(ConnectionManager& manager, const std::string& why) {
    manager.log(sdk::LogLevel::kWarn, "election connection " + describe() + ": " + why +
                                          "; closing it");
    phase_ = Phase::kClosing;
    close();
  }

  void read(ConnectionManager& manager, const uint8_t* data, size_t size) {
    // Whole frames straight from the transport's buffer when nothing is pending.
    const uint8_t* p = data;
    size_t avail = size;
    if (!pending_.empty()) {
      pending_.insert(pending_.end(), data, data + size);
      p = pending_.data();
      avail = pending_.size();
    }
    size_t pos = 0;
    while (phase_ != Phase::kClosing && !closing_.load()) {
      const uint8_t* at = p + pos;
      const size_t left = avail - pos;
      if (phase_ == Phase::kHandshake) {
        InitialMessage message;
        size_t consumed = 0;
        std::string error;
        const ParseStatus status = parse_initial_message(at, left, message, consumed, error);
        if (status == ParseStatus::kNeedMore) break;
        if (status == ParseStatus::kError) {
          fail(manager, "bad initial message: " + error);
          break;
        }
        pos += consumed;
        phase_ = Phase::kFrames;
        handshake_done_.store(true);
        manager.on_handshake(shared_from_this(), std::move(message));
        continue;
      }
      if (left < kFrameHeader) break;
      const auto length = static_cast<int32_t>(get_be32(at));
      if (length <= 0 || length > kMaxFrame) {
        fail(manager, "frame length " + std::to_string(length) + " (1.." +
                          std::to_string(kMaxFrame) + " expected)");
        break;
      }
      if (left < kFrameHeader + static_cast<size_t>(length)) break;
      manager.deliver(sid(), at + kFrameHeader, static_cast<size_t>(length));
      pos += kFrameHeader + static_cast<size_t>(length);
    }
    if (phase_ == Phase::kClosing || closing_.load()) {
      std::vector<uint8_t>().swap(pending_);
    } else if (pending_.empty()) {
      pending_.assign(p + pos, p + avail);
    } else {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos));
      if (pending_.empty()) std::vector<uint8_t>().swap(pending_);  // a 512 KiB frame is rare
    }
  }

  const std::weak_ptr<ConnectionManager> manager_;
  const std::shared_ptr<sdk::Connection> connection_;
  Phase phase_;                   // I/O thread only
  std::vector<uint8_t> pending_;  // I/O thread only: bytes of an incomplete message
  std::atomic<bool> handshake_done_;
  std::atomic<bool> closing_{false};
  std::atomic<sdk::ServerId> sid_;
};

// ---------------------------------------------------------------------------------------------

class ConnectionManager::Acceptor final : public sdk::AcceptHandler {
 public:
  explicit Acceptor(ConnectionManager& manager) : manager_(manager) {}
  void on_accept(std::shared_ptr<sdk::Connection> connection) override {
    manager_.on_accept(std::move(connection));
  }

 private:
  ConnectionManager& manager_;
};

ConnectionManager::ConnectionManager(sdk::Transport& transport, Options options,
                                     MessageSink sink, Log log)
    : transport_(transport),
      options_(std::move(options)),
      sink_(std::move(sink)),
      log_(std::move(log)),
      initial_message_(encode_initial_message(
          options_.my_id,
          format_host_port(options_.listen_address.host, options_.listen_address.port))),
      acceptor_(std::make_unique<Acceptor>(*this)) {}

ConnectionManager::~ConnectionManager() { stop(); }

sdk::Status ConnectionManager::start() {
  auto listener =
      transport_.listen(options_.listen_address.host, options_.listen_address.port, *acceptor_);
  if (!listener) return listener.status();
  std::lock_guard lock(mutex_);
  if (stopped_) {
    (*listener)->close();
    return sdk::Status::error("election stopped before it started");
  }
  listener_ = std::move(listener.value());
  return sdk::Status::ok();
}

void ConnectionManager::stop() {
  std::unique_ptr<sdk::Listener> listener;
  std::set<std::shared_ptr<PeerConnection>> open;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    listener = std::move(listener_);
    open.swap(open_);
    for (auto& [sid, link] : links_) link.connection.reset();
  }
  if (listener) listener->close();  // returns once no on_accept runs (off the I/O threads)
  for (const auto& peer : open) peer->close();
  timers_.stop();
  gate_.close_and_wait();
}

void ConnectionManager::log(sdk::LogLevel level, const std::string& message) const {
  if (!log_) return;
  try {
    log_(level, message);
  } catch (...) {
  }
}

void ConnectionManager::on_accept(std::shared_ptr<sdk::Connection> connection) {
  CallbackGate::Pass pass(gate_);
  if (!pass) {
    connection->close();
    return;
  }
  auto peer = std::make_shared<PeerConnection>(weak_from_this(), connection,
                                               PeerConnection::Role::kAcceptor, 0);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      connection->close();
      return;
    }
    open_.insert(peer);
  }
  peer->start();
  if (options_.handshake_timeout_ms > 0) {
    timers_.schedule(std::chrono::milliseconds(options_.handshake_timeout_ms),
                     [weak_peer = std::weak_ptr<PeerConnection>(peer),
                      weak_self = weak_from_this(), ms = options_.handshake_timeout_ms] {
                       auto p = weak_peer.lock();
                       if (!p || p->handshake_done() || p->closing()) return;
                       if (auto self = weak_self.lock()) {
                         CallbackGate::Pass pass(self->gate_);
                         if (pass) {
                           self->log(sdk::LogLevel::kWarn,
                                     "election connection " + p->describe() +
                                         ": no initial message within " + std::to_string(ms) +
                                         " ms; closing it");
                         }
                       }
                       p->close();
                     });
  }
}

void ConnectionManager::connect_one(sdk::ServerId sid, std::optional<HostPort> address) {
  HostPort target;
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || connecting_.contains(sid)) return;
    if (auto it = links_.find(sid); it != links_.end() && it->second.connection) return;
    if (address) {
      target = std::move(*address);
    } else if (auto it = options_.peer_addresses.find(sid); it != options_.peer_addresses.end()) {
      target = it->second;
    } else {
      return;  // not a configured server and never announced an address: nowhere to go
    }
    connecting_.insert(sid);
  }
  transport_.connect(target.host, target.port,
                     [weak = weak_from_this(), sid, target](
                         sdk::Result<std::shared_ptr<sdk::Connection>> result) {
                       if (auto self = weak.lock()) {
                         self->on_connected(sid, target, std::move(result));
                       } else if (result) {
                         result.value()->close();
                       }
                     });
}

void ConnectionManager::on_connected(sdk::ServerId sid, const HostPort& target,
                                     sdk::Result<std::shared_ptr<sdk::Connection>> result) {
  CallbackGate::Pass pass(gate_);
  {
    std::lock_guard lock(mutex_);
    connecting_.erase(sid);
  }
  if (!result) {
    if (pass) {
      log(sdk::LogLevel::kDebug, "cannot open election connection to server " +
                                     std::to_string(sid) + ": " + result.status().message());
    }
    return;
  }
  auto connection = result.value();
  if (!pass) {
    connection->close();
    return;
  }
  auto peer = std::make_shared<PeerConnection>(weak_from_this(), connection,
                                               PeerConnection::Role::kInitiator, sid);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      connection->close();
      return;
    }
    open_.insert(peer);
  }
  peer->start();
  peer->send_raw(initial_message_);
  if (sid > options_.my_id) {
    // The larger id keeps the connection it starts: the peer reads our initial message,
    // drops this connection and connects back (QuorumCnxManager.startConnection).
    log(sdk::LogLevel::kDebug, "server " + std::to_string(sid) +
                                   " has the larger id; closing our connection to " +
                                   format_host_port(target.host, target.port) +
                                   " after the initial message");
    peer->close_after_send();
    return;
  }
  establish(sid, peer);
}

void ConnectionManager::on_handshake(const std::shared_ptr<PeerConnection>& peer,
                                     InitialMessage message) {
  sdk::ServerId sid = message.sid;
  {
    std::lock_guard lock(mutex_);
    if (sid == kLegacyObserverId) sid = next_observer_id_--;
  }
  peer->set_sid(sid);
  if (sid < options_.my_id) {
    // We have the larger id: drop what we think is up with that server, close this one and
    // connect back, to the announced address if one was given (handleConnection).
    std::shared_ptr<PeerConnection> old;
    {
      std::lock_guard lock(mutex_);
      if (auto it = links_.find(sid); it != links_.end()) old = std::move(it->second.connection);
    }
    if (old) old->close();
    peer->close();
    log(sdk::LogLevel::kDebug, "server " + std::to_string(sid) +
                                   " has the smaller id; closing its connection and connecting "
                                   "back");
    std::optional<HostPort> address;
    if (!message.addresses.empty()) address = message.addresses.front();
    connect_one(sid, std::move(address));
  } else if (sid == options_.my_id) {
    log(sdk::LogLevel::kWarn, "election connection " + peer->describe() +
                                  " announces our own server id (a configuration error?); "
                                  "closing it");
    peer->close();
  } else {
    establish(sid, peer);
  }
}

void ConnectionManager::establish(sdk::ServerId sid, const std::shared_ptr<PeerConnection>& peer) {
  std::shared_ptr<PeerConnection> old;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      peer->close();
      return;
    }
    Link& link = links_[sid];
    old = std::exchange(link.connection, peer);
    // The queued message, else the last one sent again (SendWorker.run): the peer may have
    // lost it with the previous connection. Sent under the lock so frames keep their order.
    Frame frame = link.queued ? std::exchange(link.queued, nullptr) : link.last_sent;
    if (frame) {
      link.last_sent = frame;
      peer->send(frame);
    }
  }
  if (old && old != peer) old->close();
  log(sdk::LogLevel::kInfo, "election connection " + peer->describe() + " established");
}

void ConnectionManager::on_closed(const std::shared_ptr<PeerConnection>& peer,
                                  const std::string& reason) {
  bool was_established = false;
  {
    std::lock_guard lock(mutex_);
    open_.erase(peer);
    if (auto it = links_.find(peer->sid()); it != links_.end() && it->second.connection == peer) {
      it->second.connection.reset();
      was_established = true;
    }
  }
  if (!was_established) return;
  CallbackGate::Pass pass(gate_);
  if (pass) {
    log(sdk::LogLevel::kInfo, "election connection " + peer->describe() + " closed" +
                                  (reason.empty() ? "" : ": " + reason));
  }
}

void ConnectionManager::deliver(sdk::ServerId sid, const uint8_t* data, size_t size) {
  CallbackGate::Pass pass(gate_);
  if (!pass) return;
  try {
    sink_(sid, data, size);
  } catch (...) {  // the sink does not throw by contract; a bad message must not end the read
    log(sdk::LogLevel::kError, "handling a message from server " + std::to_string(sid) + " threw");
  }
}

void ConnectionManager::to_send(sdk::ServerId sid, Frame frame) {
  if (!frame || frame->size() < kFrameHeader) return;
  if (sid == options_.my_id) {  // looped back, so our own vote is counted like any other
    deliver(sid, frame->data() + kFrameHeader, frame->size() - kFrameHeader);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    Link& link = links_[sid];
    if (link.connection) {
      link.connection->send(frame);
      link.last_sent = std::move(frame);
      return;
    }
    link.queued = std::move(frame);  // replaces an unsent older message
  }
  connect_one(sid);
}

void ConnectionManager::connect_all() {
  std::vector<sdk::ServerId> sids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [sid, link] : links_) {
      if (!link.connection) sids.push_back(sid);
    }
  }
  for (const sdk::ServerId sid : sids) connect_one(sid);
}

bool ConnectionManager::have_delivered() const {
  std::lock_guard lock(mutex_);
  for (const auto& [sid, link] : links_) {
    if (!link.queued) return true;
  }
  return false;
}

std::vector<sdk::ServerId> ConnectionManager::connected_peers() const {
  std::lock_guard lock(mutex_);
  std::vector<sdk::ServerId> out;
  for (const auto& [sid, link] : links_) {
    if (link.connection) out.push_back(sid);
  }
  return out;
}

}  // namespace paddock::election_fle
