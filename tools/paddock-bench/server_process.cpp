#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common.hpp"
#include "probe.hpp"

namespace paddock::bench {

namespace fs = std::filesystem;

std::string TargetSpec::label() const {
  std::string scheme = tls ? "tls://" : "";
  switch (kind) {
    case TargetKind::kExternal: return scheme + host + ":" + std::to_string(port);
    case TargetKind::kPaddock: return scheme + "paddock/" + fs::path(config).stem().string();
    case TargetKind::kZooKeeper:
      return scheme + (config.empty() ? "zookeeper-3.8" : "zookeeper/" + fs::path(config).stem().string());
  }
  return text;
}

bool same_server(const TargetSpec& a, const TargetSpec& b) {
  return a.managed() && a.kind == b.kind && a.config == b.config && a.tls != b.tls;
}

TargetSpec parse_target(const std::string& full_text) {
  TargetSpec t;
  t.text = full_text;
  std::string text = full_text;
  if (starts_with(text, "tls://")) {
    t.tls = true;
    text = text.substr(6);
  }
  auto colon = text.find(':');
  std::string head = text.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (head == "paddock" || head == "zookeeper") {
    t.kind = head == "paddock" ? TargetKind::kPaddock : TargetKind::kZooKeeper;
    t.config = rest;
    if (t.kind == TargetKind::kPaddock && t.config.empty()) {
      throw BenchError("target '" + text + "': give the config to copy, e.g. paddock:conf/standalone.cfg");
    }
    if (!t.config.empty() && !fs::is_regular_file(t.config)) {
      throw BenchError("target '" + text + "': config file " + t.config + " not found");
    }
    return t;
  }
  if (colon == std::string::npos || rest.empty()) {
    throw BenchError("target '" + text + "': expected host:port, paddock:CONFIG, zookeeper or zookeeper:CONFIG");
  }
  t.kind = TargetKind::kExternal;
  t.host = head == "localhost" ? "127.0.0.1" : head;
  char* end = nullptr;
  long port = std::strtol(rest.c_str(), &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) {
    throw BenchError("target '" + text + "': bad port '" + rest + "'");
  }
  if (t.host != "127.0.0.1") {
    throw BenchError("target '" + text + "': only 127.0.0.1 (loopback) targets are driven");
  }
  t.port = static_cast<int>(port);
  return t;
}

std::string default_zk_classpath() {
  std::vector<std::string> parts = {"/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar"};
  // NettyServerCnxnFactory (ZooKeeper's TLS client port) needs Netty's codec, which the jar's
  // manifest Class-Path does not name (it names buffer, common, handler, transport).
  if (fs::exists("/usr/share/java/netty-codec.jar")) parts.emplace_back("/usr/share/java/netty-codec.jar");
  // A log4j binding so the server's own log reaches its log file (optional).
  for (const char* jar : {"/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"}) {
    if (fs::exists(jar)) parts.emplace_back(jar);
  }
  parts.emplace_back("/etc/zookeeper/conf");
  std::string cp;
  for (const auto& p : parts) cp += (cp.empty() ? "" : ":") + p;
  return cp;
}

bool config_has_key(const std::string& config_text, const std::string& key) {
  std::istringstream in(config_text);
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    auto eq = t.find('=');
    if (!t.empty() && t[0] != '#' && eq != std::string::npos && trim(t.substr(0, eq)) == key) return true;
  }
  return false;
}

std::string rewrite_config(const std::string& source_text, TargetKind kind, int port,
                           const std::string& data_dir, int secure_port) {
  static const char* kReplaced[] = {"clientPort", "clientPortAddress", "dataDir", "dataLogDir",
                                    "maxClientCnxns", "paddock.logFile", "admin.enableServer",
                                    "secureClientPort", "secureClientPortAddress"};
  std::ostringstream out;
  out << "# written by paddock-bench\n";
  std::istringstream in(source_text);
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    auto eq = t.find('=');
    if (!t.empty() && t[0] != '#' && eq != std::string::npos) {
      std::string key = trim(t.substr(0, eq));
      if (starts_with(key, "server.")) {
        throw BenchError("only standalone configs can be benchmarked (found " + key + ")");
      }
      bool drop = false;
      for (const char* r : kReplaced) drop = drop || key == r;
      if (drop) continue;
    }
    out << line << "\n";
  }
  out << "clientPort=" << port << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "dataDir=" << data_dir << "\n"
      << "maxClientCnxns=0\n"
      // Both servers run without their AdminServer: no HTTP port to collide on, and the
      // same work on both sides.
      << "admin.enableServer=false\n";
  if (secure_port > 0) out << "secureClientPort=" << secure_port << "\nsecureClientPortAddress=127.0.0.1\n";
  return out.str();
}

namespace {

const char* kZkDefaultConfig =
    "tickTime=2000\n"
    "initLimit=10\n"
    "syncLimit=5\n"
    "4lw.commands.whitelist=*\n";

}  // namespace

ManagedServer::ManagedServer(TargetSpec spec, LaunchSettings settings, std::string work_dir)
    : spec_(std::move(spec)), settings_(std::move(settings)), work_dir_(std::move(work_dir)) {
  data_dir_ = (fs::path(work_dir_) / "data").string();
  config_path_ = (fs::path(work_dir_) / "zoo.cfg").string();
  log_path_ = (fs::path(work_dir_) / "server.log").string();
  fs::create_directories(data_dir_);
  port_ = free_port();
  std::string source = spec_.config.empty() ? std::string(kZkDefaultConfig) : read_file(spec_.config);
  if (config_has_key(source, "secureClientPort")) {
    for (int i = 0; i < 10 && (secure_port_ == 0 || secure_port_ == port_); ++i) secure_port_ = free_port();
  }
  std::ofstream(config_path_) << rewrite_config(source, spec_.kind, port_, data_dir_, secure_port_);
  if (spec_.kind == TargetKind::kPaddock) {
    if (settings_.paddock_bin.empty()) settings_.paddock_bin = self_dir() + "/paddock";
    if (access(settings_.paddock_bin.c_str(), X_OK) != 0) {
      throw BenchError("paddock binary " + settings_.paddock_bin + " not found (build it, or pass --paddock-bin)");
    }
  } else {
    std::string java = find_on_path(settings_.java);
    if (java.empty()) throw BenchError("'" + settings_.java + "' not found on PATH (Debian: default-jre-headless)");
    settings_.java = java;
    if (settings_.zk_classpath.empty()) settings_.zk_classpath = default_zk_classpath();
    if (!fs::exists("/usr/share/java/zookeeper.jar") && settings_.zk_classpath == default_zk_classpath()) {
      throw BenchError("/usr/share/java/zookeeper.jar missing (Debian package 'zookeeper')");
    }
  }
}

int ManagedServer::client_port(bool tls) const {
  if (!tls) return port_;
  if (secure_port_ <= 0) {
    throw BenchError(spec_.label() + ": " + (spec_.config.empty() ? "the generated config" : spec_.config) +
                     " has no secureClientPort to drive over TLS");
  }
  return secure_port_;
}

ManagedServer::~ManagedServer() {
  if (pid_ > 0) kill9();
}

std::vector<std::string> ManagedServer::command() const {
  if (spec_.kind == TargetKind::kPaddock) return {settings_.paddock_bin, config_path_};
  return {settings_.java,
          "-Xmx" + std::to_string(settings_.zk_heap_mb) + "m",
          "-Dzookeeper.log.dir=" + work_dir_,
          "-Dzookeeper.root.logger=INFO,CONSOLE",
          "-cp", settings_.zk_classpath,
          "org.apache.zookeeper.server.ZooKeeperServerMain", config_path_};
}

namespace {

// fork + exec with stdout/stderr appended to `log`, in its own session, killed if we die.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw BenchError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

void ManagedServer::spawn() {
  if (pid_ > 0) throw BenchError("server already running");
  {
    std::ofstream log(log_path_, std::ios::app);
    log << "\n===== paddock-bench start:";
    for (const auto& a : command()) log << " " << a;
    log << "\n";
  }
  spawned_at_ = now_s();
  pid_ = spawn_process(command(), log_path_);
}

bool ManagedServer::reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

bool ManagedServer::running() { return pid_ > 0 && !reap(false); }

double ManagedServer::start() {
  spawn();
  try {
    return wait_for_read(host_, port_, "/", settings_.ready_timeout_s, [this] { return running(); });
  } catch (const BenchError& e) {
    if (pid_ > 0) kill9();
    throw BenchError(spec_.label() + " did not become ready: " + e.what() + "\n--- log tail (" +
                     log_path_ + "):\n" + log_tail());
  }
}

double ManagedServer::start_and_time_read(const std::string& path, double timeout_s) {
  spawn();
  double t0 = spawned_at_;
  try {
    wait_for_read(host_, port_, path, timeout_s, [this] { return running(); });
  } catch (const BenchError& e) {
    if (pid_ > 0) kill9();
    throw BenchError(spec_.label() + " restart: " + e.what() + "\n--- log tail (" + log_path_ +
                     "):\n" + log_tail());
  }
  return now_s() - t0;
}

double ManagedServer::stop(double timeout_s) {
  if (pid_ <= 0) return 0;
  double t0 = now_s();
  ::kill(pid_, SIGTERM);
  while (now_s() - t0 < timeout_s) {
    if (reap(false)) return now_s() - t0;
    usleep(5000);
  }
  kill9();
  return now_s() - t0;
}

void ManagedServer::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string ManagedServer::log_tail(size_t bytes) const {
  try {
    std::string text = read_file(log_path_);
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
  } catch (const BenchError&) {
    return "(no log)";
  }
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw BenchError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw BenchError(std::string("cannot find a free port: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string find_on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string full = dir + "/" + program;
    if (access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

int run_and_wait(const std::vector<std::string>& argv, const std::string& log, double timeout_s) {
  std::vector<std::string> resolved = argv;
  resolved[0] = find_on_path(argv[0]);
  if (resolved[0].empty()) return 127;
  pid_t pid = spawn_process(resolved, log);
  double t0 = now_s();
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (now_s() - t0 > timeout_s) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 124;
    }
    usleep(5000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace paddock::bench
