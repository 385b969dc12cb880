// Targets: a server the tool only talks to (host:port), or one it starts and stops itself
// (Paddock from a config file, Apache ZooKeeper 3.8 from Debian's package), always on
// 127.0.0.1, on a free port, with a dataDir in the tool's work directory. Only processes the
// tool started are ever signalled, by their PID.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace paddock::bench {

enum class TargetKind { kExternal, kPaddock, kZooKeeper };

struct TargetSpec {
  TargetKind kind = TargetKind::kExternal;
  bool tls = false;    // written tls://...: driven through a TLS port (native client only)
  std::string text;    // as given
  std::string host;    // external only
  int port = 0;        // external only
  std::string config;  // paddock / zookeeper: the config to copy ("" = generated)
  std::string label() const;  // short name for tables and plots
  bool managed() const { return kind != TargetKind::kExternal; }
};

// "host:port", "paddock:CFG", "zookeeper" or "zookeeper:CFG", each optionally behind "tls://"
// (the TLS client port: host:port is a TLS port; a started server's is its secureClientPort).
// Throws BenchError.
TargetSpec parse_target(const std::string& text);
// True when compare's two targets are one server: the same started config, once through its
// plain port and once through its TLS port (so both ports are measured on one process).
bool same_server(const TargetSpec& a, const TargetSpec& b);

struct LaunchSettings {
  std::string paddock_bin;         // default: paddock next to paddock-bench
  std::string java = "java";
  std::string zk_classpath;        // default: Debian's zookeeper jars + /etc/zookeeper/conf
  int zk_heap_mb = 1000;           // zkServer.sh's default heap
  double ready_timeout_s = 60;
};
std::string default_zk_classpath();

// The config a managed target runs with: `source` (zoo.cfg syntax) with clientPort,
// clientPortAddress, dataDir, dataLogDir and maxClientCnxns replaced, and secureClientPort too:
// `secure_port` > 0 serves TLS there on 127.0.0.1, 0 drops it; the AdminServer is off
// (admin.enableServer=false). Exposed for tests.
std::string rewrite_config(const std::string& source_text, TargetKind kind, int port,
                           const std::string& data_dir, int secure_port = 0);
// True when `config_text` sets `key` (zoo.cfg syntax, comments ignored).
bool config_has_key(const std::string& config_text, const std::string& key);

class ManagedServer {
 public:
  // `work_dir` is this server's own directory (config, dataDir, log); it must exist.
  ManagedServer(TargetSpec spec, LaunchSettings settings, std::string work_dir);
  ~ManagedServer();  // SIGKILLs the process if still running
  ManagedServer(const ManagedServer&) = delete;
  ManagedServer& operator=(const ManagedServer&) = delete;

  // Starts the process and waits until a getData of "/" succeeds; returns those seconds.
  double start();
  // Until a getData of `path` succeeds after start_process(); seconds since the spawn.
  double start_and_time_read(const std::string& path, double timeout_s);
  // SIGTERM, then SIGKILL after `timeout_s`. Returns the seconds until the process exited.
  double stop(double timeout_s = 30);
  void kill9();
  bool running();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // The TLS client port: > 0 when the source config had a secureClientPort (moved to a free
  // port on 127.0.0.1, beside the plain one), else 0.
  int secure_port() const { return secure_port_; }
  // The port a target spec drives: the TLS one for tls://. Throws when there is none.
  int client_port(bool tls) const;
  const std::string& host() const { return host_; }
  std::string hostport() const { return host_ + ":" + std::to_string(port_); }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  const TargetSpec& spec() const { return spec_; }
  std::string log_tail(size_t bytes = 2000) const;

 private:
  void spawn();
  std::vector<std::string> command() const;
  bool reap(bool block);

  TargetSpec spec_;
  LaunchSettings settings_;
  std::string work_dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string log_path_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  int secure_port_ = 0;
  pid_t pid_ = -1;
  double spawned_at_ = 0;
};

// A free TCP port on 127.0.0.1 (bound and released; the usual small race).
int free_port();
// Runs a command to completion (stdout and stderr to `log`), SIGKILLed after `timeout_s`.
// Returns its exit code (127 when it could not be executed).
int run_and_wait(const std::vector<std::string>& argv, const std::string& log, double timeout_s);
// The full path of a program found on PATH ("" if none).
std::string find_on_path(const std::string& program);

}  // namespace paddock::bench
