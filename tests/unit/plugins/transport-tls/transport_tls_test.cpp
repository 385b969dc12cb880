// transport-tls, driven through its shared object exactly as the core loads it (Boost.DLL
// aliases). The remote peers are blocking OpenSSL clients on POSIX sockets, and the plugin
// itself (connect() against its own listener). Certificates come from
// tools/make-test-certs.sh, made once a day into the build directory.
// Everything runs on 127.0.0.1; every wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/transport.hpp"

namespace sdk = paddock::sdk;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kWait = 10s;  // the bound on every wait for something that must happen
const std::string kClientSubject = "CN=client,O=Paddock Test";
const std::string kServerSubject = "CN=localhost,O=Paddock Test";

// ---- certificates ---------------------------------------------------------------------------

// Made once a day per build directory and shared by the test processes (ctest runs each test
// in its own): made in a private directory, then renamed into place, so concurrent first runs
// do not see half a set.
class Certs {
 public:
  static const Certs& get() {
    static const Certs* certs = new Certs();
    return *certs;
  }
  std::string operator()(const std::string& name) const { return (dir_ / name).string(); }

 private:
  Certs() {
    const char* build_dir = std::getenv("PADDOCK_BUILD_DIR");
    if (build_dir == nullptr) throw std::runtime_error("PADDOCK_BUILD_DIR is not set");
    const fs::path parent = fs::path(build_dir) / "tests";
    const auto day = std::chrono::duration_cast<std::chrono::hours>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() / 24;
    const std::string prefix = "tls-test-certs-";
    dir_ = parent / (prefix + std::to_string(day));
    if (fs::exists(dir_ / "untrusted.pem")) return;
    const fs::path scratch = parent / (prefix + "new-" + std::to_string(::getpid()));
    fs::remove_all(scratch);
    const std::string command =
        std::string(MAKE_TEST_CERTS) + " " + scratch.string() + " 3 > /dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    std::error_code ec;
    fs::rename(scratch, dir_, ec);  // fails harmlessly when another process was first
    fs::remove_all(scratch, ec);
    for (const auto& entry : fs::directory_iterator(parent, ec)) {  // yesterday's
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && entry.path() != dir_ && name.find("new-") == std::string::npos) {
        fs::remove_all(entry.path(), ec);
      }
    }
  }
  fs::path dir_;
};

// ---- loading the plugin --------------------------------------------------------------------

const boost::dll::shared_library& plugin_library() {
  static const boost::dll::shared_library* library = [] {
    const char* build_dir = std::getenv("PADDOCK_BUILD_DIR");
    if (build_dir == nullptr) throw std::runtime_error("PADDOCK_BUILD_DIR is not set");
    const auto path = fs::path(build_dir) / "lib" / "paddock" / "plugins" /
                      "paddock-transport-tls.so";
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
  void log(sdk::LogLevel, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool saw(std::string_view part) const {
    for (const auto& line : lines()) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class FakeConfig : public sdk::PluginConfig {
 public:
  using Values = std::map<std::string, std::string>;
  explicit FakeConfig(Values values) : values_(std::move(values)) {}
  // What the core does: the file's value, else the declared default.
  std::optional<std::string_view> get(std::string_view key) const override {
    if (auto it = values_.find(std::string(key)); it != values_.end()) {
      return std::string_view(it->second);
    }
    const auto& d = descriptor();
    for (uint32_t i = 0; i < d.config_key_count; ++i) {
      if (key == d.config_keys[i].name && d.config_keys[i].default_value != nullptr) {
        return std::string_view(d.config_keys[i].default_value);
      }
    }
    return std::nullopt;
  }

 private:
  Values values_;
};

// The server's key and trust stores, plus `extra` (which wins).
FakeConfig::Values server_config(FakeConfig::Values extra = {}) {
  const Certs& certs = Certs::get();
  FakeConfig::Values values{{"ssl.keyStore.location", certs("server.pem")},
                            {"ssl.trustStore.location", certs("ca.pem")}};
  for (auto& [k, v] : extra) values[k] = v;
  return values;
}

sdk::Status configure_status(const FakeConfig::Values& values) {
  FakeHost host;
  auto plugin = create_plugin();
  return plugin->configure(FakeConfig(values), host);
}

// A configured, not yet started transport.
std::unique_ptr<sdk::Transport> make_transport(FakeHost& host, const FakeConfig::Values& values) {
  EXPECT_EQ(descriptor().kind, sdk::PluginKind::kTransport);
  auto plugin = create_plugin();
  EXPECT_NE(plugin, nullptr);
  if (!plugin) return nullptr;
  const auto status = plugin->configure(FakeConfig(values), host);
  EXPECT_TRUE(status.is_ok()) << status.message();
  if (!status.is_ok()) return nullptr;
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

struct Peer {
  std::shared_ptr<sdk::Connection> connection;
  std::thread::id io_thread;

  mutable std::mutex mutex;
  std::string received;
  int closed = 0;
  std::string reason;
  bool off_thread_callback = false;

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
      if (peer_->closed != 0) peer_->off_thread_callback = true;
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

void barrier(sdk::Connection& connection) {
  std::promise<void> ran;
  auto done = ran.get_future();
  connection.post([&ran] { ran.set_value(); });
  ASSERT_EQ(done.wait_for(kWait), std::future_status::ready);
}

// ---- the remote side: blocking sockets, with or without OpenSSL ----------------------------

int connect_socket(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A TLS client: trusts the test CA, presents `identity` ("client", "untrusted" ... a key store
// made by the script; "" for no certificate).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& identity) {
    const Certs& certs = Certs::get();
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, certs("ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!identity.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, certs(identity + ".pem").c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, certs(identity + ".pem").c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = connect_socket(port);
    if (fd_ < 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    handshake_ok_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Whether the client's side of the handshake completed. With TLS 1.3 a client learns that
  // the server refused its certificate only on its first read.
  bool handshake_ok() const { return handshake_ok_; }

  uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }

  bool send_all(std::string_view data) {
    if (!handshake_ok_) return false;
    while (!data.empty()) {
      const int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  std::string receive(size_t size) {
    std::string out(size, '\0');
    size_t got = 0;
    while (handshake_ok_ && got < size) {
      const int n = SSL_read(ssl_, out.data() + got, static_cast<int>(size - got));
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

  // One SSL_read: what one TLS record held (at most).
  std::string read_once() {
    std::string out(65536, '\0');
    const int n = handshake_ok_ ? SSL_read(ssl_, out.data(), static_cast<int>(out.size())) : 0;
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }

  // Reads until the connection ends: true on close_notify, end of stream, a reset or a TLS
  // alert (a refusal); false on a timeout.
  bool sees_close() {
    if (!handshake_ok_) return true;
    char buffer[16384];
    for (;;) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) continue;
      const int error = SSL_get_error(ssl_, n);
      ERR_clear_error();
      last_read_error_ = error;
      if (error == SSL_ERROR_SYSCALL) return errno != EAGAIN && errno != EWOULDBLOCK;
      return true;
    }
  }

  // Sends close_notify and waits for the server to end the connection.
  void shutdown() {
    if (!handshake_ok_) return;
    SSL_shutdown(ssl_);
    sees_close();
  }

  // After sees_close(): whether the stream ended with the server's close_notify.
  bool closed_with_close_notify() const { return last_read_error_ == SSL_ERROR_ZERO_RETURN; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_ok_ = false;
  int last_read_error_ = 0;
};

// A plaintext client speaking to the TLS port.
class PlainClient {
 public:
  explicit PlainClient(uint16_t port) : fd_(connect_socket(port)) {}
  ~PlainClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool send_all(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  bool sees_close() {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_;
};

// connect() through a transport, waiting for the outcome. On success the connection is
// started with a recording handler in `peer`.
sdk::Status connect_with(sdk::Transport& transport, const std::string& host, uint16_t port,
                         const std::shared_ptr<Peer>& peer) {
  std::promise<sdk::Status> outcome;
  auto result = outcome.get_future();
  transport.connect(host, port, [&](sdk::Result<std::shared_ptr<sdk::Connection>> r) {
    if (r.is_ok()) {
      peer->connection = r.value();
      peer->io_thread = std::this_thread::get_id();
      r.value()->start(std::make_shared<RecordingHandler>(peer, nullptr));
    }
    outcome.set_value(r.status());
  });
  if (result.wait_for(kWait) != std::future_status::ready) {
    return sdk::Status::error("connect did not finish in time");
  }
  return result.get();
}

// ---- the plugin as a whole -----------------------------------------------------------------

TEST(TransportTlsPlugin, DescriptorDeclaresTheTlsTransportAndZooKeepersKeys) {
  const auto& d = descriptor();
  EXPECT_EQ(d.abi_version, sdk::kAbiVersion);
  EXPECT_EQ(d.kind, sdk::PluginKind::kTransport);
  EXPECT_STREQ(d.name, "tls");
  ASSERT_NE(d.config_keys, nullptr);
  std::set<std::string> names;
  for (uint32_t i = 0; i < d.config_key_count; ++i) {
    const auto& key = d.config_keys[i];
    names.insert(key.name);
    EXPECT_NE(key.type, nullptr);
    EXPECT_NE(key.description, nullptr);
  }
  for (const char* key :
       {"ssl.keyStore.location", "ssl.keyStore.password", "ssl.trustStore.location",
        "ssl.trustStore.password", "ssl.clientAuth", "ssl.protocol", "ssl.enabledProtocols",
        "ssl.ciphersuites", "ssl.hostnameVerification", "transport.tls.handshakeTimeoutMs"}) {
    EXPECT_TRUE(names.count(key)) << key;
  }
}

TEST(TransportTlsPlugin, ConfigureNamesTheKeyAndSaysWhy) {
  const Certs& certs = Certs::get();
  auto expect_error = [](const FakeConfig::Values& values, const std::string& key,
                         const std::string& part) {
    const auto status = configure_status(values);
    ASSERT_FALSE(status.is_ok()) << key;
    EXPECT_EQ(status.message().rfind(key + ": ", 0), 0u) << status.message();
    EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
  };
  expect_error({}, "ssl.keyStore.location", "required");
  expect_error(server_config({{"ssl.keyStore.location", certs("missing.pem")}}),
               "ssl.keyStore.location", "No such file or directory");
  expect_error(server_config({{"ssl.keyStore.location", certs("ca.pem")}}),
               "ssl.keyStore.location", "private key");
  expect_error(server_config({{"ssl.keyStore.location", certs("server-encrypted.pem")}}),
               "ssl.keyStore.location", "ssl.keyStore.password");
  expect_error(server_config({{"ssl.keyStore.type", "JKS"}}), "ssl.keyStore.type", "'JKS'");
  expect_error(server_config({{"ssl.trustStore.location", certs("server-key.pem")}}),
               "ssl.trustStore.location", "no usable CA certificate");
  expect_error(server_config({{"ssl.clientAuth", "sometimes"}}), "ssl.clientAuth", "'sometimes'");
  expect_error(server_config({{"ssl.protocol", "TLSv1.1"}}), "ssl.protocol", "'TLSv1.1'");
  expect_error(server_config({{"ssl.enabledProtocols", "TLSv1.3,SSLv3"}}), "ssl.enabledProtocols",
               "'SSLv3'");
  expect_error(server_config({{"ssl.ciphersuites", "TLS_NOT_A_SUITE"}}), "ssl.ciphersuites",
               "'TLS_NOT_A_SUITE'");
  expect_error(server_config({{"ssl.hostnameVerification", "perhaps"}}),
               "ssl.hostnameVerification", "'perhaps'");
  expect_error(server_config({{"transport.tls.handshakeTimeoutMs", "0"}}),
               "transport.tls.handshakeTimeoutMs", "'0'");

  // Accepted: an encrypted key with its password, ZooKeeper's suite names, both protocols.
  auto status = configure_status(
      server_config({{"ssl.keyStore.location", certs("server-encrypted.pem")},
                     {"ssl.keyStore.password", "changeit"},
                     {"ssl.keyStore.type", "PEM"},
                     {"ssl.trustStore.password", "unused"},
                     {"ssl.enabledProtocols", "TLSv1.3,TLSv1.2"},
                     {"ssl.ciphersuites",
                      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256"}}));
  EXPECT_TRUE(status.is_ok()) << status.message();
}

TEST(TransportTlsPlugin, StartNeedsConfigureAndRunsOnce) {
  FakeHost host;
  auto unconfigured = std::unique_ptr<sdk::Transport>(
      static_cast<sdk::Transport*>(create_plugin().release()));
  EXPECT_FALSE(unconfigured->start(1).is_ok());
  auto transport = make_transport(host, server_config());
  ASSERT_NE(transport, nullptr);
  EXPECT_FALSE(transport->start(0).is_ok());
  ASSERT_TRUE(transport->start(1).is_ok());
  EXPECT_FALSE(transport->start(1).is_ok());
  transport->stop();
  transport->stop();
  EXPECT_FALSE(transport->start(1).is_ok());
}

// ---- one running transport per test (the server's certificate, clientAuth=need) -------------

class TransportTls : public ::testing::Test {
 protected:
  void SetUp() override { start(server_config()); }
  void TearDown() override {
    if (transport) transport->stop();
    transport.reset();
  }

  void start(const FakeConfig::Values& values) {
    if (transport) transport->stop();
    transport = make_transport(host, values);
    ASSERT_NE(transport, nullptr);
    ASSERT_TRUE(transport->start(2).is_ok());
  }

  std::unique_ptr<sdk::Listener> listen(Server& server) {
    auto listener = transport->listen("127.0.0.1", 0, server);
    EXPECT_TRUE(listener.is_ok()) << listener.status().message();
    return listener.is_ok() ? std::move(listener.value()) : nullptr;
  }

  FakeHost host;
  std::unique_ptr<sdk::Transport> transport;
};

TEST_F(TransportTls, ATrustedClientIsAcceptedWithItsCertificateSubject) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  ASSERT_TRUE(client.handshake_ok());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->connection->peer_certificate_subject(), kClientSubject);
  EXPECT_EQ(peer->connection->remote_address(),
            "127.0.0.1:" + std::to_string(client.local_port()));
  EXPECT_EQ(peer->connection->local_address(), "127.0.0.1:" + std::to_string(listener->port()));
  ASSERT_TRUE(client.send_all("hello over tls"));
  EXPECT_EQ(client.receive(14), "hello over tls");
  EXPECT_FALSE(peer->off_thread_callback);
}

TEST_F(TransportTls, UntrustedOrMissingClientCertificatesAreRefusedOthersUnaffected) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient good(listener->port(), "client");
  ASSERT_TRUE(good.handshake_ok());
  ASSERT_NE(server.peer(0), nullptr);

  TlsClient untrusted(listener->port(), "untrusted");
  EXPECT_TRUE(untrusted.sees_close());
  EXPECT_FALSE(untrusted.send_all("x") && untrusted.receive(1) == "x");
  TlsClient anonymous(listener->port(), "");
  EXPECT_TRUE(anonymous.sees_close());

  EXPECT_TRUE(eventually([&] {
    return host.saw("certificate verify failed") && host.saw("peer did not return a certificate");
  })) << "handshake failures are logged with OpenSSL's reason";
  EXPECT_EQ(server.count(), 1u);  // the core never heard of the refused ones
  ASSERT_TRUE(good.send_all("still here"));
  EXPECT_EQ(good.receive(10), "still here");
}

TEST_F(TransportTls, APlaintextClientIsRefused) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  PlainClient plain(listener->port());
  // A ZooKeeper ConnectRequest, as a plaintext client would open with.
  const std::string connect_request("\0\0\0\x2c\0\0\0\0", 8);
  plain.send_all(connect_request + std::string(44, '\0'));
  EXPECT_TRUE(plain.sees_close());
  EXPECT_TRUE(eventually([&] { return host.saw("TLS handshake with 127.0.0.1:"); }));
  TlsClient good(listener->port(), "client");
  ASSERT_TRUE(good.handshake_ok());
  ASSERT_TRUE(good.send_all("ok"));
  EXPECT_EQ(good.receive(2), "ok");
  EXPECT_EQ(server.count(), 1u);
}

TEST_F(TransportTls, ASilentClientIsClosedAfterTheHandshakeTimeout) {
  start(server_config({{"transport.tls.handshakeTimeoutMs", "300"}}));
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  PlainClient silent(listener->port());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.sees_close());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(eventually([&] { return host.saw("no handshake within 300 ms"); }));
  EXPECT_EQ(server.count(), 0u);
}

TEST_F(TransportTls, ClientAuthWantAndNoneAcceptClientsWithoutCertificates) {
  for (const char* mode : {"want", "none"}) {
    start(server_config({{"ssl.clientAuth", mode}}));
    Server server(echo);
    auto listener = listen(server);
    ASSERT_NE(listener, nullptr);
    TlsClient anonymous(listener->port(), "");
    ASSERT_TRUE(anonymous.handshake_ok()) << mode;
    ASSERT_TRUE(anonymous.send_all("anon")) << mode;
    EXPECT_EQ(anonymous.receive(4), "anon") << mode;
    auto peer = server.peer(0);
    ASSERT_NE(peer, nullptr);
    EXPECT_EQ(peer->connection->peer_certificate_subject(), "") << mode;

    TlsClient named(listener->port(), "client");
    ASSERT_TRUE(named.handshake_ok());
    ASSERT_TRUE(named.send_all("x"));
    EXPECT_EQ(named.receive(1), "x");
    auto named_peer = server.peer(1);
    ASSERT_NE(named_peer, nullptr);
    // want: asked for, and verified when given; none: never asked for.
    EXPECT_EQ(named_peer->connection->peer_certificate_subject(),
              std::string(mode) == "want" ? kClientSubject : "")
        << mode;
    if (std::string(mode) == "want") {
      TlsClient untrusted(listener->port(), "untrusted");
      EXPECT_TRUE(untrusted.sees_close());
      EXPECT_EQ(server.count(), 2u);
    }
  }
}

TEST_F(TransportTls, ProtocolVersionsFollowTheConfig) {
  start(server_config({{"ssl.protocol", "TLSv1.2"}}));
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  ASSERT_TRUE(client.handshake_ok());
  ASSERT_TRUE(client.send_all("v"));
  EXPECT_EQ(client.receive(1), "v");
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  // Only TLSv1.2 is on: a TLS 1.3-only client is refused.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  const int fd = connect_socket(listener->port());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  EXPECT_NE(SSL_connect(ssl), 1);
  ERR_clear_error();
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(ctx);
}

TEST_F(TransportTls, EchoesLargeAndPipelinedDataOnConcurrentConnections) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  constexpr int kClients = 6;
  std::vector<std::string> streams(kClients);
  for (int c = 0; c < kClients; ++c) {
    for (int m = 0; m < 500; ++m) {
      streams[c] += "<" + std::to_string(c) + ":" + std::to_string(m) + ">" +
                    pattern(1 + (m * 37) % 300, c * 100000 + m);
    }
    streams[c] += pattern(1 << 20, c);  // and one large block: many TLS records
  }
  std::vector<std::string> echoed(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      TlsClient client(listener->port(), "client");
      // OpenSSL objects are not for two threads at once: write all, then read all back (the
      // transport keeps reading while its replies queue).
      if (client.send_all(streams[c])) echoed[c] = client.receive(streams[c].size());
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(echoed[c].size(), streams[c].size()) << "client " << c;
    EXPECT_TRUE(echoed[c] == streams[c]) << "client " << c << " got different bytes";
  }
  std::set<std::thread::id> io_threads;
  for (int c = 0; c < kClients; ++c) {
    auto peer = server.peer(c);
    ASSERT_NE(peer, nullptr);
    EXPECT_FALSE(peer->off_thread_callback);
    io_threads.insert(peer->io_thread);
  }
  EXPECT_EQ(io_threads.size(), 2u);
}

TEST_F(TransportTls, ManySendsFromAForeignThreadArriveCompleteAndInOrder) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  ASSERT_TRUE(client.handshake_ok());
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  constexpr uint32_t kSends = 50000;
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

// A TLS library returns at most one record per read. With recordPerSend (the default) each
// send() is a record of its own even when sent together, so a client that reads one reply and
// then waits on its socket (kazoo) is never left with a second one decrypted and unannounced.
TEST_F(TransportTls, EachSendIsItsOwnRecordUnlessPackingIsAsked) {
  for (const char* per_send : {"true", "false"}) {
    start(server_config({{"transport.tls.recordPerSend", per_send}}));
    Server server([](Peer& peer, const uint8_t*, size_t) {
      peer.connection->send("first reply;", 12);
      peer.connection->send("second reply", 12);
    });
    auto listener = listen(server);
    ASSERT_NE(listener, nullptr);
    TlsClient client(listener->port(), "client");
    ASSERT_TRUE(client.send_all("go"));
    const std::string first = client.read_once();
    if (std::string(per_send) == "true") {
      EXPECT_EQ(first, "first reply;");
      EXPECT_EQ(client.read_once(), "second reply");
    } else {
      EXPECT_EQ(first, "first reply;second reply");
    }
  }
}

TEST_F(TransportTls, CloseAfterSendDeliversQueuedBytesThenCloseNotify) {
  const std::string big = pattern(1 << 20, 3);
  Server server([&big](Peer& peer, const uint8_t*, size_t) {
    peer.connection->send(big.data(), big.size());
    peer.connection->close_after_send();
    peer.connection->close_after_send();  // idempotent
    peer.connection->send("late", 4);     // ignored
  });
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  ASSERT_TRUE(client.send_all("go"));
  const std::string got = client.receive(big.size());
  EXPECT_TRUE(got == big) << got.size();
  EXPECT_TRUE(client.sees_close());
  EXPECT_TRUE(client.closed_with_close_notify());
  auto peer = server.peer(0);
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
  EXPECT_EQ(peer->close_reason(), "");
  EXPECT_FALSE(peer->off_thread_callback);
}

TEST_F(TransportTls, CloseFromForeignThreadsReportsOnClosedExactlyOnce) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
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
  barrier(*peer->connection);
  EXPECT_EQ(peer->closed_count(), 1);
  EXPECT_FALSE(peer->off_thread_callback);
}

TEST_F(TransportTls, PeerDisconnectReportsOnClosed) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  auto client = std::make_unique<TlsClient>(listener->port(), "client");
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(client->send_all("bye"));
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 3; }));
  client->shutdown();  // close_notify: an orderly close
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
  EXPECT_EQ(peer->close_reason(), "");

  auto abrupt = std::make_unique<TlsClient>(listener->port(), "client");
  auto second = server.peer(1);
  ASSERT_NE(second, nullptr);
  abrupt.reset();  // the socket closes under the TLS session (unread tickets: a reset)
  ASSERT_TRUE(eventually([&] { return second->closed_count() == 1; }));
  barrier(*peer->connection);
  barrier(*second->connection);
  EXPECT_EQ(peer->closed_count(), 1);
  EXPECT_EQ(second->closed_count(), 1);
  EXPECT_FALSE(peer->off_thread_callback);
  EXPECT_FALSE(second->off_thread_callback);
}

TEST_F(TransportTls, SetReadingFalsePausesDeliveryAndTrueResumes) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(client.send_all("first"));
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 5; }));
  peer->connection->set_reading(false);
  barrier(*peer->connection);
  ASSERT_TRUE(client.send_all("second"));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(peer->received_copy(), "first");
  peer->connection->set_reading(true);
  ASSERT_TRUE(eventually([&] { return peer->received_size() == 11; }));
  EXPECT_EQ(peer->received_copy(), "firstsecond");
}

TEST_F(TransportTls, ConnectVerifiesTheServerAndPresentsItsOwnCertificate) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  // A second transport, as a client holding the "client" certificate.
  FakeHost client_host;
  auto client_transport = make_transport(
      client_host, server_config({{"ssl.keyStore.location", Certs::get()("client.pem")}}));
  ASSERT_NE(client_transport, nullptr);
  ASSERT_TRUE(client_transport->start(1).is_ok());
  for (const char* host : {"127.0.0.1", "localhost"}) {  // the server certificate's names
    auto client_side = std::make_shared<Peer>();
    const auto status = connect_with(*client_transport, host, listener->port(), client_side);
    ASSERT_TRUE(status.is_ok()) << host << ": " << status.message();
    EXPECT_EQ(client_side->connection->peer_certificate_subject(), kServerSubject);
    client_side->connection->send("ping", 4);
    ASSERT_TRUE(eventually([&] { return client_side->received_size() == 4; })) << host;
    EXPECT_EQ(client_side->received_copy(), "ping");
    client_side->connection->close();
    ASSERT_TRUE(eventually([&] { return client_side->closed_count() == 1; }));
  }
  auto server_side = server.peer(0);
  ASSERT_NE(server_side, nullptr);
  EXPECT_EQ(server_side->connection->peer_certificate_subject(), kClientSubject);
  client_transport->stop();
}

TEST_F(TransportTls, TheTransportTalksToItself) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  auto client_side = std::make_shared<Peer>();
  const auto status = connect_with(*transport, "127.0.0.1", listener->port(), client_side);
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(client_side->connection->remote_address(),
            "127.0.0.1:" + std::to_string(listener->port()));
  const std::string message = pattern(200000, 9);
  client_side->connection->send(message.data(), message.size());
  ASSERT_TRUE(eventually([&] { return client_side->received_size() == message.size(); }));
  EXPECT_TRUE(client_side->received_copy() == message);
  auto server_side = server.peer(0);
  ASSERT_NE(server_side, nullptr);
  EXPECT_EQ(server_side->connection->peer_certificate_subject(), kServerSubject);
  EXPECT_EQ(server_side->connection->remote_address(), client_side->connection->local_address());
  auto t0 = std::chrono::steady_clock::now();
  client_side->connection->close_after_send();
  ASSERT_TRUE(eventually([&] { return server_side->closed_count() == 1; }));
  ASSERT_TRUE(eventually([&] { return client_side->closed_count() == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 400ms);  // close_notify is not waited for
  EXPECT_FALSE(client_side->off_thread_callback);
}

TEST_F(TransportTls, ConnectRefusesAServerItCannotVerify) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  const Certs& certs = Certs::get();

  // A client trusting another CA.
  FakeHost other_host;
  auto distrustful = make_transport(
      other_host, server_config({{"ssl.trustStore.location", certs("untrusted-ca.pem")}}));
  ASSERT_NE(distrustful, nullptr);
  ASSERT_TRUE(distrustful->start(1).is_ok());
  auto peer = std::make_shared<Peer>();
  auto status = connect_with(*distrustful, "127.0.0.1", listener->port(), peer);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("certificate verify failed"), std::string::npos)
      << status.message();
  distrustful->stop();

  // A server whose certificate does not name the host connected to: refused with hostname
  // verification, accepted without.
  FakeHost misnamed_host;
  auto misnamed = make_transport(
      misnamed_host, server_config({{"ssl.keyStore.location", certs("wrong-host.pem")}}));
  ASSERT_NE(misnamed, nullptr);
  ASSERT_TRUE(misnamed->start(1).is_ok());
  Server misnamed_server(echo);
  auto misnamed_listener = misnamed->listen("127.0.0.1", 0, misnamed_server);
  ASSERT_TRUE(misnamed_listener.is_ok());
  status = connect_with(*transport, "127.0.0.1", (*misnamed_listener)->port(),
                        std::make_shared<Peer>());
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("mismatch"), std::string::npos) << status.message();

  FakeHost lenient_host;
  auto lenient = make_transport(lenient_host,
                                server_config({{"ssl.hostnameVerification", "false"}}));
  ASSERT_NE(lenient, nullptr);
  ASSERT_TRUE(lenient->start(1).is_ok());
  auto lenient_peer = std::make_shared<Peer>();
  status = connect_with(*lenient, "127.0.0.1", (*misnamed_listener)->port(), lenient_peer);
  EXPECT_TRUE(status.is_ok()) << status.message();
  lenient->stop();
  misnamed_listener.value().reset();
  misnamed->stop();
}

TEST_F(TransportTls, AClientWithAnUntrustedCertificateCannotJoin) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  FakeHost intruder_host;
  auto intruder = make_transport(
      intruder_host, server_config({{"ssl.keyStore.location", Certs::get()("untrusted.pem")}}));
  ASSERT_NE(intruder, nullptr);
  ASSERT_TRUE(intruder->start(1).is_ok());
  auto peer = std::make_shared<Peer>();
  const auto status = connect_with(*intruder, "127.0.0.1", listener->port(), peer);
  // TLS 1.3: the client's handshake may finish before the server refuses its certificate;
  // then the connection closes at once. Either way nothing reaches the server's core.
  if (status.is_ok()) {
    peer->connection->send("let me in", 9);
    EXPECT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
    EXPECT_EQ(peer->received_size(), 0u);
  }
  EXPECT_TRUE(eventually([&] { return host.saw("certificate verify failed"); }));
  EXPECT_EQ(server.count(), 0u);
  intruder->stop();
}

TEST_F(TransportTls, ConnectionIsReleasedAfterClose) {
  Server server;
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  TlsClient client(listener->port(), "client");
  auto peer = server.peer(0);
  ASSERT_NE(peer, nullptr);
  std::weak_ptr<sdk::Connection> weak = peer->connection;
  peer->connection->close();
  ASSERT_TRUE(eventually([&] { return peer->closed_count() == 1; }));
  peer->connection.reset();
  EXPECT_TRUE(eventually([&] { return weak.expired(); }));
}

TEST_F(TransportTls, StopClosesEverythingEvenMidHandshakeAndLeavesConnectionsInert) {
  Server server(echo);
  auto listener = listen(server);
  ASSERT_NE(listener, nullptr);
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TlsClient>(listener->port(), "client"));
  }
  std::vector<std::shared_ptr<Peer>> peers;
  for (size_t i = 0; i < 3; ++i) {
    peers.push_back(server.peer(i));
    ASSERT_NE(peers.back(), nullptr);
  }
  PlainClient mid_handshake(listener->port());  // connected, never says hello
  const std::string lots = pattern(8 << 20, 5);
  peers[0]->connection->send(lots.data(), lots.size());  // stuck: the client does not read

  const auto started = std::chrono::steady_clock::now();
  transport->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  for (auto& peer : peers) {
    EXPECT_EQ(peer->closed_count(), 1);
    EXPECT_FALSE(peer->off_thread_callback);
  }
  EXPECT_TRUE(mid_handshake.sees_close());
  listener.reset();
  transport.reset();
  bool ran = false;
  for (auto& peer : peers) {
    auto& c = *peer->connection;
    c.send("x", 1);
    c.set_reading(true);
    c.post([&ran] { ran = true; });
    c.close_after_send();
    c.close();
    EXPECT_EQ(c.pending_send_bytes(), 0u);
  }
  EXPECT_FALSE(ran);
  peers.clear();
}

}  // namespace
