// Test harness for the election-fle plugin: loads paddock-election-fle.so and
// paddock-transport-tcp.so through Boost.DLL exactly as the core does, and plays the core
// for several election instances in one process (a TestContext per node: state, current vote,
// zxid, epoch, peers). After look_for_leader returns, a node's "core" adopts the vote and the
// state, as QuorumPeer does. Also a scripted peer speaking the election wire protocol over
// plain POSIX sockets, for byte-level checks. Everything on 127.0.0.1; every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include "paddock/sdk/election.hpp"
#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/transport.hpp"
#include "paddock/sdk/types.hpp"

namespace fle_test {

namespace sdk = paddock::sdk;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;  // bound on any wait for something that must happen

// ---- plugins --------------------------------------------------------------------------------

// Loaded once, never unloaded: objects they made may live until the process ends.
inline const boost::dll::shared_library& plugin_library(const std::string& file) {
  static std::mutex mutex;
  static auto* libraries = new std::map<std::string, boost::dll::shared_library*>();
  std::lock_guard lock(mutex);
  auto& slot = (*libraries)[file];
  if (slot == nullptr) {
    const char* build_dir = std::getenv("PADDOCK_BUILD_DIR");
    if (build_dir == nullptr) throw std::runtime_error("PADDOCK_BUILD_DIR is not set");
    const auto path = std::filesystem::path(build_dir) / "lib" / "paddock" / "plugins" / file;
    slot = new boost::dll::shared_library(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  }
  return *slot;
}

inline const sdk::PluginDescriptor& descriptor(const std::string& file) {
  return plugin_library(file).get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
}

inline std::unique_ptr<sdk::Plugin> create_plugin(const std::string& file) {
  auto& create = plugin_library(file).get_alias<sdk::Plugin*()>("paddock_plugin_create");
  return std::unique_ptr<sdk::Plugin>(create());
}

constexpr const char* kElectionFile = "paddock-election-fle.so";
constexpr const char* kTransportFile = "paddock-transport-tcp.so";

class FakeHost : public sdk::Host {
 public:
  explicit FakeHost(std::string tag = {}) : tag_(std::move(tag)) {}
  void log(sdk::LogLevel level, std::string_view message) override {
    static const bool verbose = std::getenv("PADDOCK_TEST_VERBOSE") != nullptr;
    if (verbose) {
      std::fprintf(stderr, "[%s] %d %.*s\n", tag_.c_str(), static_cast<int>(level),
                   static_cast<int>(message.size()), message.data());
    }
    std::lock_guard lock(mutex_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool logged(std::string_view needle) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }

 private:
  const std::string tag_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class FakeConfig : public sdk::PluginConfig {
 public:
  FakeConfig() = default;
  FakeConfig(std::initializer_list<std::pair<const std::string, std::string>> values)
      : values_(values) {}
  std::optional<std::string_view> get(std::string_view key) const override {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> values_;
};

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// ---- ports and configuration -----------------------------------------------------------------

// Distinct loopback ports free at the time of the call (bound to 0, read back, released).
inline std::vector<uint16_t> free_ports(size_t count) {
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;  // never the same port twice in one process
  std::lock_guard lock(mutex);
  std::vector<uint16_t> ports;
  while (ports.size() < count) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("bind failed");
    }
    ::close(fd);
    const uint16_t port = ntohs(addr.sin_port);
    if (handed_out.insert(port).second) ports.push_back(port);
  }
  return ports;
}

struct MemberSpec {
  sdk::ServerId id;
  bool participant = true;
};

// server.N lines on 127.0.0.1 with fresh ports.
inline std::vector<sdk::PeerAddress> make_peers(const std::vector<MemberSpec>& members) {
  const auto ports = free_ports(members.size() * 2);
  std::vector<sdk::PeerAddress> peers;
  for (size_t i = 0; i < members.size(); ++i) {
    sdk::PeerAddress p;
    p.id = members[i].id;
    p.host = "127.0.0.1";
    p.quorum_port = ports[2 * i];
    p.election_port = ports[2 * i + 1];
    p.participant = members[i].participant;
    peers.push_back(p);
  }
  return peers;
}

inline std::vector<sdk::PeerAddress> make_peers(std::initializer_list<sdk::ServerId> ids) {
  std::vector<MemberSpec> members;
  for (auto id : ids) members.push_back({id, true});
  return make_peers(members);
}

// QuorumMaj.toString: one server line per member, then the version line, '\n' between.
inline std::string config_text(const std::vector<sdk::PeerAddress>& peers, int64_t version = 0) {
  std::string out;
  auto sorted = peers;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (const auto& p : sorted) {
    out += "server." + std::to_string(p.id) + "=" + p.host + ":" + std::to_string(p.quorum_port) +
           ":" + std::to_string(p.election_port) + ":" +
           (p.participant ? "participant" : "observer") + "\n";
  }
  char v[32];
  std::snprintf(v, sizeof v, "version=%llx", static_cast<unsigned long long>(version));
  return out + v;
}

// ---- the core, as far as the election sees it --------------------------------------------------

class TestContext : public sdk::ElectionContext {
 public:
  TestContext(sdk::ServerId id, std::vector<sdk::PeerAddress> peers, sdk::Zxid zxid,
              int64_t epoch)
      : id_(id),
        peers_(std::move(peers)),
        zxid_(zxid),
        epoch_(epoch),
        config_(config_text(peers_)) {
    vote_.leader = id;
    vote_.zxid = zxid;
    vote_.election_epoch = 0;
    vote_.peer_epoch = epoch;
    vote_.state = sdk::PeerState::kLooking;
  }

  void set_transport(sdk::Transport* transport) { transport_ = transport; }
  void set_config_text(std::string text) { config_ = std::move(text); }
  void set_handshake_timeout(int64_t ms) { handshake_ms_ = ms; }

  sdk::ServerId my_id() const override { return id_; }
  std::vector<sdk::PeerAddress> peers() const override { return peers_; }
  bool is_voter(sdk::ServerId id) const override {
    return std::any_of(peers_.begin(), peers_.end(),
                       [&](const sdk::PeerAddress& p) { return p.id == id && p.participant; });
  }
  bool is_quorum(const std::vector<sdk::ServerId>& ids) const override {
    std::set<sdk::ServerId> distinct;
    for (auto id : ids) {
      if (is_voter(id)) distinct.insert(id);
    }
    const auto voters = std::count_if(peers_.begin(), peers_.end(),
                                      [](const sdk::PeerAddress& p) { return p.participant; });
    return static_cast<long>(distinct.size()) * 2 > voters;
  }
  sdk::Zxid last_logged_zxid() const override {
    std::lock_guard lock(mutex_);
    return zxid_;
  }
  int64_t current_epoch() const override {
    std::lock_guard lock(mutex_);
    return epoch_;
  }
  sdk::PeerState state() const override {
    std::lock_guard lock(mutex_);
    return state_;
  }
  sdk::Vote current_vote() const override {
    std::lock_guard lock(mutex_);
    return vote_;
  }
  std::string quorum_config_text() const override { return config_; }
  int64_t handshake_timeout_ms() const override { return handshake_ms_; }
  sdk::Transport& transport() override { return *transport_; }

  void set_state(sdk::PeerState state) {
    std::lock_guard lock(mutex_);
    state_ = state;
  }
  void set_vote(const sdk::Vote& vote) {
    std::lock_guard lock(mutex_);
    vote_ = vote;
  }
  // What the core does when the new epoch is established (QuorumPeer#updateElectionVote).
  void establish_epoch(int64_t epoch) {
    std::lock_guard lock(mutex_);
    vote_.peer_epoch = epoch;
    epoch_ = epoch;
  }

 private:
  const sdk::ServerId id_;
  const std::vector<sdk::PeerAddress> peers_;
  mutable std::mutex mutex_;
  sdk::PeerState state_ = sdk::PeerState::kLooking;
  sdk::Vote vote_;
  sdk::Zxid zxid_;
  int64_t epoch_;
  std::string config_;
  int64_t handshake_ms_ = 2000;
  sdk::Transport* transport_ = nullptr;
};

// One election instance with its own transport-tcp, and the thread that runs its elections.
class Node {
 public:
  Node(sdk::ServerId id, const std::vector<sdk::PeerAddress>& peers, sdk::Zxid zxid = 0,
       int64_t epoch = 0, FakeConfig config = {})
      : id_(id), host_("node" + std::to_string(id)), context_(id, peers, zxid, epoch),
        config_(std::move(config)) {}
  ~Node() { kill(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  sdk::ServerId id() const { return id_; }
  TestContext& context() { return context_; }
  FakeHost& host() { return host_; }
  sdk::Election& election() { return *election_; }
  bool running() const { return election_ != nullptr; }

  // Starts the transport and the election plugin (listening, answering peers).
  ::testing::AssertionResult start() {
    auto transport_plugin = create_plugin(kTransportFile);
    if (!transport_plugin) return ::testing::AssertionFailure() << "transport factory failed";
    if (auto s = transport_plugin->configure(FakeConfig{}, host_); !s) {
      return ::testing::AssertionFailure() << s.message();
    }
    transport_.reset(static_cast<sdk::Transport*>(transport_plugin.release()));
    if (auto s = transport_->start(1); !s) return ::testing::AssertionFailure() << s.message();
    context_.set_transport(transport_.get());
    auto election_plugin = create_plugin(kElectionFile);
    if (!election_plugin) return ::testing::AssertionFailure() << "election factory failed";
    if (auto s = election_plugin->configure(config_, host_); !s) {
      return ::testing::AssertionFailure() << s.message();
    }
    election_.reset(static_cast<sdk::Election*>(election_plugin.release()));
    if (auto s = election_->start(context_); !s) {
      return ::testing::AssertionFailure() << "node " << id_ << ": " << s.message();
    }
    return ::testing::AssertionSuccess();
  }

  // The core going LOOKING: state LOOKING, then look_for_leader on the quorum-peer thread;
  // the returned vote becomes the current vote and its state the peer's state.
  void elect() {
    join();
    {
      std::lock_guard lock(mutex_);
      result_.reset();
    }
    context_.set_state(sdk::PeerState::kLooking);
    thread_ = std::thread([this] {
      auto result = election_->look_for_leader();
      if (result) {
        context_.set_vote(result.value());
        context_.set_state(result.value().state);
      }
      {
        std::lock_guard lock(mutex_);
        result_.emplace(std::move(result));
      }
      done_.notify_all();
    });
  }

  // Starts and elects.
  ::testing::AssertionResult start_and_elect() {
    auto r = start();
    if (r) elect();
    return r;
  }

  bool wait_decided(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [&] { return result_.has_value(); });
  }
  bool decided() {
    std::lock_guard lock(mutex_);
    return result_.has_value() && result_->is_ok();
  }
  // The vote look_for_leader returned (fails the test when it did not return one).
  sdk::Vote vote() {
    std::lock_guard lock(mutex_);
    if (!result_.has_value()) {
      ADD_FAILURE() << "node " << id_ << " has not decided";
      return {};
    }
    if (!result_->is_ok()) {
      ADD_FAILURE() << "node " << id_ << ": " << result_->status().message();
      return {};
    }
    return result_->value();
  }
  std::optional<sdk::Status> error() {
    std::lock_guard lock(mutex_);
    if (!result_.has_value() || result_->is_ok()) return std::nullopt;
    return result_->status();
  }

  // Stops as the core does at shut-down (or as a crash looks to the others).
  void kill() {
    if (election_) election_->stop();
    join();
    if (transport_) transport_->stop();
    election_.reset();
    transport_.reset();
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  const sdk::ServerId id_;
  FakeHost host_;
  TestContext context_;
  const FakeConfig config_;
  std::unique_ptr<sdk::Transport> transport_;
  std::unique_ptr<sdk::Election> election_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::optional<sdk::Result<sdk::Vote>> result_;
};

// ---- raw sockets: a scripted peer ------------------------------------------------------------

inline void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
inline void put64(std::vector<uint8_t>& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}
inline uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t get64(const uint8_t* p) { return (uint64_t{get32(p)} << 32) | get32(p + 4); }

inline std::vector<uint8_t> initial_message(int64_t sid, const std::string& address,
                                            int64_t version = -65536) {
  std::vector<uint8_t> out;
  put64(out, static_cast<uint64_t>(version));
  put64(out, static_cast<uint64_t>(sid));
  put32(out, static_cast<uint32_t>(address.size()));
  out.insert(out.end(), address.begin(), address.end());
  return out;
}

struct WireVote {
  int32_t state = 0;
  int64_t leader = 0;
  int64_t zxid = 0;
  int64_t election_epoch = 0;
  int64_t peer_epoch = 0;
  int32_t version = 2;
  std::string config;
};

inline std::vector<uint8_t> notification_payload(const WireVote& v) {
  std::vector<uint8_t> out;
  put32(out, static_cast<uint32_t>(v.state));
  put64(out, static_cast<uint64_t>(v.leader));
  put64(out, static_cast<uint64_t>(v.zxid));
  put64(out, static_cast<uint64_t>(v.election_epoch));
  put64(out, static_cast<uint64_t>(v.peer_epoch));
  put32(out, static_cast<uint32_t>(v.version));
  put32(out, static_cast<uint32_t>(v.config.size()));
  out.insert(out.end(), v.config.begin(), v.config.end());
  return out;
}

inline std::vector<uint8_t> frame(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  put32(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Parses a version-2 notification payload (fails the test on another shape).
inline std::optional<WireVote> parse_notification(const std::vector<uint8_t>& p) {
  if (p.size() < 44) {
    ADD_FAILURE() << "notification of " << p.size() << " bytes";
    return std::nullopt;
  }
  WireVote v;
  v.state = static_cast<int32_t>(get32(p.data()));
  v.leader = static_cast<int64_t>(get64(p.data() + 4));
  v.zxid = static_cast<int64_t>(get64(p.data() + 12));
  v.election_epoch = static_cast<int64_t>(get64(p.data() + 20));
  v.peer_epoch = static_cast<int64_t>(get64(p.data() + 28));
  v.version = static_cast<int32_t>(get32(p.data() + 36));
  const uint32_t length = get32(p.data() + 40);
  if (p.size() != 44 + length) {
    ADD_FAILURE() << "notification of " << p.size() << " bytes with config length " << length;
    return std::nullopt;
  }
  v.config.assign(reinterpret_cast<const char*>(p.data() + 44), length);
  return v;
}

// A blocking TCP socket with bounded reads.
class RawSocket {
 public:
  RawSocket() = default;
  explicit RawSocket(int fd) : fd_(fd) {}
  ~RawSocket() { close(); }
  RawSocket(RawSocket&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), buffer_(std::move(o.buffer_)) {}
  RawSocket& operator=(RawSocket&& o) noexcept {
    close();
    fd_ = std::exchange(o.fd_, -1);
    buffer_ = std::move(o.buffer_);
    return *this;
  }

  static RawSocket connect_to(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return RawSocket();
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return RawSocket(fd);
  }

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::vector<uint8_t>& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly `size` bytes; nullopt on timeout or end of stream.
  std::optional<std::vector<uint8_t>> read_exactly(size_t size,
                                                   std::chrono::milliseconds timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    while (buffer_.size() < size) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::vector<uint8_t> out(buffer_.begin(), buffer_.begin() + static_cast<long>(size));
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(size));
    return out;
  }

  std::optional<std::vector<uint8_t>> read_frame(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    auto header = read_exactly(4, timeout);
    if (!header) return std::nullopt;
    const uint32_t length = get32(header->data());
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return read_exactly(length, std::max(left, 1ms));
  }

  // Reads frames until one satisfies `want`; nullopt on timeout or close.
  std::optional<WireVote> read_vote_until(const std::function<bool(const WireVote&)>& want,
                                          std::chrono::milliseconds timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto payload = read_frame(std::max(left, 1ms));
      if (!payload) return std::nullopt;
      auto vote = parse_notification(*payload);
      if (vote && want(*vote)) return vote;
    }
    return std::nullopt;
  }

  // True when the other end closes (end of stream or reset) within `timeout`; bytes that
  // arrive meanwhile are discarded.
  bool closed_by_peer(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = Clock::now() + timeout;
    buffer_.clear();
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
      uint8_t scratch[4096];
      const ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool fill(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    uint8_t scratch[4096];
    const ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
    if (n <= 0) return false;
    buffer_.insert(buffer_.end(), scratch, scratch + n);
    return true;
  }

  int fd_ = -1;
  std::vector<uint8_t> buffer_;
};

// A listening socket on 127.0.0.1:port.
class RawListener {
 public:
  explicit RawListener(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool valid() const { return fd_ >= 0; }
  RawSocket accept(std::chrono::milliseconds timeout = kWait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return RawSocket();
    return RawSocket(::accept(fd_, nullptr, nullptr));
  }

 private:
  int fd_ = -1;
};

// Reads and checks an initial message; returns the sid and the address.
inline std::optional<std::pair<int64_t, std::string>> read_initial_message(RawSocket& socket) {
  auto head = socket.read_exactly(20);
  if (!head) return std::nullopt;
  const auto version = static_cast<int64_t>(get64(head->data()));
  EXPECT_EQ(version, -65536) << "protocol version V1";
  const auto sid = static_cast<int64_t>(get64(head->data() + 8));
  const uint32_t length = get32(head->data() + 16);
  if (length == 0 || length > 2048) {
    ADD_FAILURE() << "address length " << length;
    return std::nullopt;
  }
  auto address = socket.read_exactly(length);
  if (!address) return std::nullopt;
  return std::make_pair(sid, std::string(address->begin(), address->end()));
}

}  // namespace fle_test
