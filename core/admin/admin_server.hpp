// The HTTP side of operations: ZooKeeper's AdminServer (GET <commandURL> lists the commands,
// GET <commandURL>/<name> runs one and answers JSON) and Prometheus metrics at GET /metrics.
// The same class serves the metricsProvider.httpPort endpoint, with /metrics only.
//
// Threads: its own listener thread and two worker threads (cpp-httplib); handlers only read
// the server's state (and reset statistics for srst / crst). The HTTP library stays inside
// admin_server.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "admin/server_info.hpp"

namespace paddock::admin {

class AdminServer {
 public:
  struct Options {
    std::string name = "AdminServer";  // for log lines
    std::string address = "0.0.0.0";
    int32_t port = 8080;               // 0 = any free port
    std::string command_url = "/commands";  // "" = no commands
    bool metrics = true;               // serve GET /metrics
    int32_t idle_timeout_ms = 30000;
  };

  AdminServer(Sources sources, Options options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving. When the address cannot be bound (a port in use) it logs a
  // warning and returns false: the server goes on without it.
  bool start();
  // Stops listening and waits for the handlers in progress; idempotent.
  void stop();
  // The bound port (useful with port 0); -1 before start() succeeded.
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Prometheus text GET /metrics answers.
std::string metrics_text(const Sources& sources);

}  // namespace paddock::admin
