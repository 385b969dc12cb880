// transport-tcp, driven through its shared object exactly as the core loads it (Boost.DLL
// aliases), with plain POSIX sockets as the peers. Everything runs on 127.0.0.1; every wait is
// bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/transport.hpp"

namespace sdk = paddock::sdk;
using namespace std::chrono_literals;

namespace {

constexpr auto kWait = 10s;  // the bound on every wait for something that must happen

// ---- loading the plugin --------------------------------------------------------------------

// Loaded once and never unloaded: objects it made may live until the process ends.
const boost::dll::shared_library& plugin_library() {
  static const boost::dll::shared_library* library = [] {
    const char* build_dir = std::getenv("PADDOCK_BUILD_DIR");
    if (build_dir == nullptr) throw std::runtime_error("PADDOCK_BUILD_DIR is not set");
    const auto path = std::filesystem::path(build_dir) / "lib" / "paddock" / "plugins" /
                      "paddock-transport-tcp.so";
    return new boost::dll::shared_library(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  }();
  return *library;
}

const sdk::PluginDescriptor& descriptor() {
  return plugin_library().get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
}

std::unique_ptr<sdk::Plugin> create_plugin() {
  auto& create = plugin_library().get_alias<sdk::Plugin*()>("paddock_plugin_create");
  return std::unique_ptr<sdk::Plugin>(create());
}

class FakeHost : public sdk::Host {
 public:
  void log(sdk::LogLevel level, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
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

// A configured, not yet started transport (the loader has checked the kind already).
std::unique_ptr<sdk::Transport> make_transport(FakeHost& host, const FakeConfig& config = {}) {
  EXPECT_EQ(descriptor().kind, sdk::PluginKind::kTransport);
  auto plugin = create_plugin();
  EXPECT_NE(plugin, nullptr);
  if (!plugin) return nullptr;
  const auto status = plugin->configure(config, host);
  EXPECT_TRUE(status.is_ok()) << status.message();
  return std::unique_ptr<sdk::Transport>(static_cast<sdk::Transport*>(plugin.release()));
}

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// ---- the core's side, as a test double ---------------------------------------------------

// What one connection's handler saw.
struct Peer {
  std::shared_ptr<sdk::Connection> connection;
  std::thread::id io_thread;  // where on_accept / done ran

  mutable std::mutex mutex;
  std::string received;
  int closed = 0;
  std::string reason;
  bool off_thread_callback = false;  // a callback ran somewhere else than the I/O thread
  size_t pending_after_replies = 0;  // set by the corking test

  size_t received_size() const {
    std::lock_guard lock(mutex);
    return received.size();
  }
  std::string received_copy() const {
    std::lock_guard lock(mutex);
    return received;
  }
  int closed_count() const {
    std::lock_guard lock(mutex);
    return closed;
  }
  std::string close_reason() const {
    std::lock_guard lock(mutex);
    return reason;
  }
};

using DataHook = std::function<void(Peer&, const uint8_t*, size_t)>;

class RecordingHandler : public sdk::ConnectionHandler {
 public:
  RecordingHandler(std::shared_ptr<Peer> peer, DataHook hook)
      : peer_(std::move(peer)), hook_(std::move(hook)) {}

  void on_receive(const uint8_t* data, size_t size) override {
    {
      std::lock_guard lock(peer_->mutex);
      peer_->received.append(reinterpret_cast<const char*>(data), size);
      if (std::this_thread::get_id() != peer_->io_thread) peer_->off_thread_callback = true;
      if (peer_->closed != 0) peer_->off_thread_callback = true;  // data after on_closed
    }
    if (hook_) hook_(*peer_, data, size);
  }

  void on_closed(const std::string& reason) override {
    std::lock_guard lock(peer_->mutex);
    ++peer_->closed;
    peer_->reason = reason;
    if (std::this_thread::get_id() != peer_->io_thread) peer_->off_thread_callback = true;
  }

 private:
  std::shared_ptr<Peer> peer_;
  DataHook hook_;
};

void echo(Peer& peer, const uint8_t* data, size_t size) { peer.connection->send(data, size); }

class Server : public sdk::AcceptHandler {
 public:
  explicit Server(DataHook hook = {}) : hook_(std::move(hook)) {}

  void on_accept(std::shared_ptr<sdk::Connection> connection) override {
    auto peer = std::make_shared<Peer>();
    peer->connection = connection;
    peer->io_thread = std::this_thread::get_id();
    if (!connection->on_io_thread()) peer->off_thread_callback = true;
    connection->start(std::make_shared<RecordingHandler>(peer, hook_));
    std::lock_guard lock(mutex_);
    peers_.push_back(std::move(peer));
    changed_.notify_all();
  }

  // The index-th accepted connection, waiting for it.
  std::shared_ptr<Peer> peer(size_t index) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kWait, [&] { return peers_.size() > index; });
    return peers_.size() > index ? peers_[index] : nullptr;
  }

  size_t count() const {
    std::lock_guard lock(mutex_);
    return peers_.size();
  }

 private:
  DataHook hook_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Peer>> peers_;
};

// Runs on the connection's I/O thread and waits for it: everything queued there before has run.
void barrier(sdk::Connection& connection) {
  std::promise<void> ran;
  auto done = ran.get_future();
  connection.post([&ran] { ran.set_value(); });
  ASSERT_EQ(done.wait_for(kWait), std::future_status::ready);
}

// ---- the remote side: blocking POSIX sockets ---------------------------------------------

class Client {
 public:
  // A socket, not connected yet.
  Client() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
  explicit Client(uint16_t port) : Client() { connect(port); }

  bool connect(uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    connect_errno_ = connected_ ? 0 : errno;
    return connected_;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }

  uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Up to `size` bytes; fewer on end of stream, error or timeout.
  std::string receive(size_t size) {
    std::string out(size, '\0');
    size_t got = 0;
    while (got < size) {
      const ssize_t n = ::recv(fd_, out.data() + got, size - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

  // Reads (and drops) whatever is still in flight; true when the stream then ends (or is
  // reset), false on a timeout.
  bool sees_close() {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  void close() {
    ::close(fd_);
    fd_ = -1;
  }

  // Closes with a RST instead of a FIN.
  void reset() {
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
    close();
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
};

// ---- the plugin as a whole -----------------------------------------------------------------

TEST(TransportTcpPlugin, DescriptorDeclaresTheTcpTransport) {
  const auto& d = descriptor();
  EXPECT_EQ(d.abi_version, sdk::kAbiVersion);
  EXPECT_EQ(d.kind, sdk::PluginKind::kTransport);
  EXPECT_STREQ(d.name, "tcp");
  ASSERT_NE(d.version, nullptr);
  EXPECT_STRNE(d.version, "");
  ASSERT_NE(d.config_keys, nullptr);
  std::set<std::string> names;
  for (uint32_t i = 0; i < d.config_key_count; ++i) {
    const auto& key = d.config_keys[i];
    names.insert(key.name);
    EXPECT_EQ(std::string_view(key.name).substr(0, 14), "transport.tcp.") << key.name;
    EXPECT_NE(key.type, nullptr);
    EXPECT_NE(key.default_value, nullptr) << key.name;  // none is required
    EXPECT_NE(key.description, nullptr);
  }
  EXPECT_TRUE(names.count("transport.tcp.noDelay"));
  EXPECT_TRUE(names.count("transport.tcp.listenBacklog"));
  EXPECT_NE(create_plugin(), nullptr);
}

TEST(TransportTcpPlugin, ConfigureNamesAMalformedKey) {
  FakeHost host;
  auto plugin = create_plugin();
  auto status = plugin->configure(FakeConfig{{"transport.tcp.noDelay", "maybe"}}, host);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("transport.tcp.noDelay"), std::string::npos);
  EXPECT_NE(status.message().find("'maybe'"), std::string::npos) << status.message();

  status = create_plugin()->configure(FakeConfig{{"transport.tcp.listenBacklog", "lots"}}, host);
  EXPECT_FALSE(status.is_ok());
  status = create_plugin()->configure(FakeConfig{{"transport.tcp.readBufferSize", "12"}}, host);
  EXPECT_FALSE(status.is_ok());

  status = create_plugin()->configure(FakeConfig{{"transport.tcp.noDelay", "false"},
                                                 {"transport.tcp.listenBacklog", "64"},
                                                 {"transport.tcp.readBufferSize", "4096"}},
                                      host);
  EXPECT_TRUE(status.is_ok()) << status.message();
}

TEST(TransportTcpPlugin, StartChecksItsArgumentAndRunsOnce) {
  FakeHost host;
  auto transport = make_transport(host);
  EXPECT_FALSE(transport->start(0).is_ok());
  ASSERT_TRUE(transport->start(1).is_ok());
  EXPECT_FALSE(transport->start(1).is_ok());
  transport->stop();
  transport->stop();  // idempotent
  EXPECT_FALSE(transport->start(1).is_ok());
}

TEST(TransportTcpPlugin, WorksWithSmallBuffersAndNagleOn) {
  FakeHost host;
  auto transport = make_transport(host, FakeConfig{{"transport.tcp.noDelay", "false"},
                                                   {"transport.tcp.readBufferSize", "512"}});
  ASSERT_TRUE(transport->start(1).is_ok());
  Server server(echo);
  auto listener = transport->listen("127.0.0.1", 0, server);
  ASSERT_TRUE(listener.is_ok()) << listener.status().message();
  Client client((*listener)->port());
  const std::string message = pattern(100000, 7);
  ASSERT_TRUE(client.send_all(message));
  EXPECT_EQ(client.receive(message.size()), message);
  transport->stop();
}

// ---- one running transport per test ---------------------------------------------------------

class TransportTcp : public ::testing::Test {
 protected:
  void SetUp() override {
    transport = make_transport(host);
    ASSERT_NE(transport, nullptr);
    ASSERT_TRUE(transport->start(2).is_ok());
  }
  void TearDown() override {
    if (transport) transport->stop();
    transport.reset();
  }

  std::unique_ptr<sdk::Listener> listen(Server& server) {
    auto listener = transport->listen("127.0.0.1", 0, server);
    EXPECT_TRUE(listener.is_ok()) << listener.status().message();
    return listener.is_ok() ? std::move(listener.value()) : nullptr;
  }

  FakeHost host;
  std::unique_ptr<sdk::Transport> transport;
};

TEST_F(TransportTcp, ListenOnPortZeroReportsTheBoundPort) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  const uint16_t port = listener->port();
  EXPECT_NE(port, 0);

  Client client(port);
  ASSERT_TRUE(client.connected());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->connection->remote_address(), "127.0.0.1:" + std::to_string(client.local_port()));
  EXPECT_EQ(peer->connection->local_address(), "127.0.0.1:" + std::to_string(port));
  EXPECT_FALSE(peer->connection->on_io_thread());  // this is the test's thread
  EXPECT_FALSE(peer->off_thread_callback);
}

TEST_F(TransportTcp, BindingAPortInUseFailsWithTheOsText) {
  Server server;
  auto first = listen(server);
  ASSERT_NE(first, nullptr);
  const uint16_t port = first->port();

  auto second = transport->listen("127.0.0.1", port, server);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().message(),
            "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST_F(TransportTcp, ClosedListenerStopsAccepting) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  const uint16_t port = listener->port();
  listener->close();
  listener->close();  // idempotent
  Client client(port);
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.connect_errno(), ECONNREFUSED);
  listener.reset();
  EXPECT_EQ(server.count(), 0u);
}

TEST_F(TransportTcp, AcceptLoopSurvivesRunningOutOfDescriptors) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  const uint16_t port = listener->port();
  // One accept first: afterwards the acceptor waits in epoll. (Linux's accept takes a
  // descriptor number before it finds the queue empty, which would upset the count below.)
  Client warm_up(port);
  ASSERT_NE(server.peer(0), nullptr);

  // Cap descriptor numbers below the lowest free one: this process can open none, so the
  // transport's accept fails with EMFILE until the limit is restored. The client's socket is
  // made before, and connecting needs no new descriptor.
  Client client;
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  client.connect(port);
  const bool warned = eventually([&] {
    for (const auto& line : host.lines()) {
      if (line.find("accepting on 127.0.0.1:" + std::to_string(port) + " failed") !=
          std::string::npos) {
        return true;
      }
    }
    return false;
  });
  const size_t accepted_while_capped = server.count();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(client.connected());
  EXPECT_TRUE(warned);
  EXPECT_EQ(accepted_while_capped, 1u);
  auto peer = server.peer(1);  // accepted on a later retry
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(client.send_all("after"));
  EXPECT_TRUE(eventually([&] { return peer->received_size() == 5; }));
}

TEST_F(TransportTcp, AThrowingHandlerClosesItsConnectionOnly) {
  Server server([](Peer&, const uint8_t* data, size_t) {
    if (data[0] == '!') throw std::runtime_error("boom");
  });
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client bad(listener->port());
  auto bad_peer = server.peer(0);  // waited for: the two land on different I/O threads
  ASSERT_NE(bad_peer, nullptr);
  Client good(listener->port());
  auto good_peer = server.peer(1);
  ASSERT_NE(good_peer, nullptr);
  ASSERT_TRUE(bad.send_all("!"));
  ASSERT_TRUE(eventually([&] { return bad_peer->closed_count() == 1; }));
  EXPECT_NE(bad_peer->close_reason().find("boom"), std::string::npos) << bad_peer->close_reason();
  EXPECT_TRUE(bad.sees_close());
  ASSERT_TRUE(good.send_all("fine"));
  EXPECT_TRUE(eventually([&] { return good_peer->received_size() == 4; }));
  EXPECT_EQ(good_peer->closed_count(), 0);
}

TEST_F(TransportTcp, AcceptedConnectionsAlternateBetweenIoThreads) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::thread::id> threads;
  for (size_t i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(listener->port()));
    auto peer = server.peer(i);
    ASSERT_NE(peer, nullptr);
    threads.push_back(peer->io_thread);
  }
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_EQ(threads[0], threads[2]);
  EXPECT_EQ(threads[1], threads[3]);
}

TEST_F(TransportTcp, EchoesPipelinedMessagesOnConcurrentConnections) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  constexpr int kClients = 8;
  constexpr int kMessages = 2000;

  std::vector<std::string> streams(kClients);
  for (int c = 0; c < kClients; ++c) {
    for (int m = 0; m < kMessages; ++m) {
      streams[c] += "<" + std::to_string(c) + ":" + std::to_string(m) + ">" +
                    pattern(1 + (m * 37) % 300, c * 100000 + m);
    }
  }
  std::vector<std::string> echoed(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client(listener->port());
      if (!client.connected()) return;
      // Write everything in one go from a second thread while this one reads.
      std::thread writer([&] { client.send_all(streams[c]); });
      echoed[c] = client.receive(streams[c].size());
      writer.join();
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(echoed[c].size(), streams[c].size()) << "client " << c;
    EXPECT_TRUE(echoed[c] == streams[c]) << "client " << c << " got different bytes";
  }
  ASSERT_EQ(server.count(), static_cast<size_t>(kClients));
  std::set<std::thread::id> io_threads;
  for (int c = 0; c < kClients; ++c) {
    auto peer = server.peer(c);
    EXPECT_FALSE(peer->off_thread_callback);
    io_threads.insert(peer->io_thread);
  }
  EXPECT_EQ(io_threads.size(), 2u);
}

TEST_F(TransportTcp, ManySendsFromAForeignThreadArriveCompleteAndInOrder) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);

  constexpr uint32_t kSends = 100000;
  std::thread sender([connection = peer->connection] {
    for (uint32_t i = 0; i < kSends; ++i) {
      uint32_t record[2] = {i, ~i * 2654435761u};
      connection->send(record, sizeof record);
    }
  });
  const std::string bytes = client.receive(kSends * 8);
  sender.join();
  ASSERT_EQ(bytes.size(), kSends * 8u);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < kSends; ++i) {
    uint32_t record[2];
    std::memcpy(record, bytes.data() + i * 8, 8);
    if (record[0] != i || record[1] != ~i * 2654435761u) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_TRUE(eventually([&] { return peer->connection->pending_send_bytes() == 0; }));
}

TEST_F(TransportTcp, SendsMadeInsideOnReceiveAreCorkedUntilItReturns) {
  Server server([](Peer& peer, const uint8_t*, size_t) {
    for (int i = 0; i < 10; ++i) peer.connection->send("0123456789", 10);
    std::lock_guard lock(peer.mutex);
    peer.pending_after_replies = peer.connection->pending_send_bytes();
  });
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  ASSERT_TRUE(client.send_all("x"));
  std::string expected;
  for (int i = 0; i < 10; ++i) expected += "0123456789";
  EXPECT_EQ(client.receive(expected.size()), expected);
  auto peer = server.peer(0);
  std::lock_guard lock(peer->mutex);
  EXPECT_EQ(peer->pending_after_replies, 100u);  // nothing was written during on_receive
}

TEST_F(TransportTcp, CloseAfterSendDeliversQueuedBytesThenEof) {
  const std::string big = pattern(1 << 20, 3);
  Server server([&big](Peer& peer, const uint8_t*, size_t) {
    peer.connection->send(big.data(), big.size());
    peer.connection->close_after_send();
    peer.connection->close_after_send();          // idempotent
    peer.connection->send("late", 4);             // ignored
  });
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  ASSERT_TRUE(client.send_all("go"));
  const std::string got = client.receive(big.size());
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big);
  EXPECT_TRUE(client.sees_close());
  auto peer = server.peer(0);
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
  EXPECT_EQ(peer->close_reason(), "");
  EXPECT_FALSE(peer->off_thread_callback);
}

TEST_F(TransportTcp, CloseAfterSendFromAForeignThreadFlushesFirst) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  const std::string message = pattern(300000, 11);
  std::thread([&] {
    peer->connection->send(message.data(), message.size());
    peer->connection->close_after_send();
  }).join();
  EXPECT_TRUE(client.receive(message.size()) == message);
  EXPECT_TRUE(client.sees_close());
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
}

TEST_F(TransportTcp, CloseFromForeignThreadsReportsOnClosedExactlyOnce) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);

  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i) {
    closers.emplace_back([connection = peer->connection] {
      connection->close();
      connection->close_after_send();
      connection->close();
    });
  }
  for (auto& t : closers) t.join();
  ASSERT_TRUE(eventually([&] { return peer->closed_count() >= 1; }));
  EXPECT_TRUE(client.sees_close());
  barrier(*peer->connection);  // anything still queued on the I/O thread has run
  EXPECT_EQ(peer->closed_count(), 1);
  EXPECT_EQ(peer->close_reason(), "");
  EXPECT_FALSE(peer->off_thread_callback);
  peer->connection->send("ignored", 7);
  EXPECT_EQ(peer->connection->pending_send_bytes(), 0u);
}

TEST_F(TransportTcp, PeerDisconnectReportsOnClosed) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);

  Client orderly(listener->port());
  auto first = server.peer(0);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(orderly.send_all("bye"));
  ASSERT_TRUE(eventually([&] { return first->received_size() == 3; }));
  orderly.close();
  ASSERT_TRUE(eventually([&] { return first->closed_count() == 1; }));
  EXPECT_EQ(first->close_reason(), "");

  Client abrupt(listener->port());
  auto second = server.peer(1);
  ASSERT_NE(second, nullptr);
  abrupt.reset();
  ASSERT_TRUE(eventually([&] { return second->closed_count() == 1; }));
  EXPECT_NE(second->close_reason(), "");  // the OS's text ("Connection reset by peer")

  barrier(*first->connection);
  barrier(*second->connection);
  EXPECT_EQ(first->closed_count(), 1);
  EXPECT_EQ(second->closed_count(), 1);
  EXPECT_FALSE(first->off_thread_callback);
  EXPECT_FALSE(second->off_thread_callback);
}

TEST_F(TransportTcp, SetReadingFalsePausesDeliveryAndTrueResumes) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);

  ASSERT_TRUE(client.send_all("first"));
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 5; }));

  peer->connection->set_reading(false);
  barrier(*peer->connection);  // applied
  ASSERT_TRUE(client.send_all("second"));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(peer->received_copy(), "first");

  peer->connection->set_reading(true);
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 11; }));
  EXPECT_EQ(peer->received_copy(), "firstsecond");

  // Paused from inside on_receive, resumed from outside: the held chunk comes later, intact.
  peer->connection->post([c = peer->connection] { c->set_reading(false); });
  barrier(*peer->connection);
  ASSERT_TRUE(client.send_all("third"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(peer->received_copy(), "firstsecond");
  peer->connection->set_reading(true);
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 16; }));
  EXPECT_EQ(peer->received_copy(), "firstsecondthird");
}

TEST_F(TransportTcp, PostRunsTasksOnTheConnectionsIoThread) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);

  std::promise<std::pair<bool, std::thread::id>> seen;
  auto result = seen.get_future();
  auto connection = peer->connection;
  connection->post([&seen, connection] {
    connection->send("from a task", 11);  // flushed when the task returns
    seen.set_value({connection->on_io_thread(), std::this_thread::get_id()});
  });
  ASSERT_EQ(result.wait_for(kWait), std::future_status::ready);
  const auto [on_io_thread, thread] = result.get();
  EXPECT_TRUE(on_io_thread);
  EXPECT_EQ(thread, peer->io_thread);
  EXPECT_FALSE(connection->on_io_thread());
  EXPECT_EQ(client.receive(11), "from a task");
}

TEST_F(TransportTcp, ConnectReachesAListeningPort) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  const uint16_t port = listener->port();

  auto client_side = std::make_shared<Peer>();
  std::promise<sdk::Status> connected;
  auto outcome = connected.get_future();
  transport->connect("127.0.0.1", port, [&](sdk::Result<std::shared_ptr<sdk::Connection>> r) {
    if (r.is_ok()) {
      client_side->connection = r.value();
      client_side->io_thread = std::this_thread::get_id();
      if (!r.value()->on_io_thread()) client_side->off_thread_callback = true;
      r.value()->start(std::make_shared<RecordingHandler>(client_side, nullptr));
      r.value()->send("ping", 4);
    }
    connected.set_value(r.status());
  });
  ASSERT_EQ(outcome.wait_for(kWait), std::future_status::ready);
  const auto status = outcome.get();
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(client_side->connection->remote_address(), "127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(eventually([&] { return client_side->received_size() == 4; }));
  EXPECT_EQ(client_side->received_copy(), "ping");

  auto server_side = server.peer(0);
  ASSERT_NE(server_side, nullptr);
  EXPECT_EQ(server_side->connection->remote_address(), client_side->connection->local_address());
  client_side->connection->close();
  ASSERT_TRUE(eventually([&] { return server_side->closed_count() == 1; }));
  ASSERT_TRUE(eventually([&] { return client_side->closed_count() == 1; }));
  EXPECT_FALSE(client_side->off_thread_callback);
}

TEST_F(TransportTcp, ConnectToAClosedPortFails) {
  uint16_t port = 0;
  {
    Server server;
    auto listener = listen(server);
    ASSERT_NE(listener, nullptr);
    port = listener->port();
  }  // closed: nothing listens there now

  std::promise<sdk::Status> failed;
  auto outcome = failed.get_future();
  transport->connect("127.0.0.1", port, [&](sdk::Result<std::shared_ptr<sdk::Connection>> r) {
    failed.set_value(r.status());
  });
  ASSERT_EQ(outcome.wait_for(kWait), std::future_status::ready);
  const auto status = outcome.get();
  ASSERT_FALSE(status.is_ok());
  const std::string prefix = "cannot connect to 127.0.0.1:" + std::to_string(port) + ": ";
  EXPECT_EQ(status.message().substr(0, prefix.size()), prefix) << status.message();
  EXPECT_NE(status.message().find("refused"), std::string::npos) << status.message();
}

TEST_F(TransportTcp, ConnectionIsReleasedAfterClose) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  Client client(listener->port());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(client.send_all("data"));
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 4; }));

  std::weak_ptr<sdk::Connection> weak = peer->connection;
  peer->connection->close();
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
  peer->connection.reset();  // the core's last reference
  EXPECT_TRUE(eventually([&] { return weak.expired(); }));
}

TEST_F(TransportTcp, StopClosesEverythingJoinsAndLeavesConnectionsInert) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(listener->port()));
  std::vector<std::shared_ptr<Peer>> peers;
  for (size_t i = 0; i < 4; ++i) {
    peers.push_back(server.peer(i));
    ASSERT_NE(peers.back(), nullptr);
  }
  // One connection with a write stuck on a peer that does not read.
  const std::string lots = pattern(16 << 20, 5);
  peers[0]->connection->send(lots.data(), lots.size());

  const auto started = std::chrono::steady_clock::now();
  transport->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  for (auto& peer : peers) {
    EXPECT_EQ(peer->closed_count(), 1);
    EXPECT_FALSE(peer->off_thread_callback);
  }
  EXPECT_FALSE(transport->listen("127.0.0.1", 0, server).is_ok());
  std::optional<sdk::Status> refused;
  transport->connect("127.0.0.1", 1, [&](sdk::Result<std::shared_ptr<sdk::Connection>> r) {
    refused = r.status();
  });
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->is_ok());

  listener.reset();
  transport.reset();  // the core still holds the connections: they must be inert, not crash
  bool ran = false;
  for (auto& peer : peers) {
    auto& c = *peer->connection;
    c.send("x", 1);
    c.set_reading(false);
    c.set_reading(true);
    c.post([&ran] { ran = true; });
    c.close_after_send();
    c.close();
    EXPECT_EQ(c.pending_send_bytes(), 0u);
    EXPECT_FALSE(c.on_io_thread());
  }
  EXPECT_FALSE(ran);
  for (auto& client : clients) EXPECT_TRUE(client->sees_close());
  peers.clear();
}

}  // namespace
