#include "admin/admin_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "admin/commands.hpp"
#include "admin/prometheus.hpp"

namespace paddock::admin {

struct AdminServer::Impl {
  Impl(Sources s, Options o) : sources(std::move(s)), options(std::move(o)) {}

  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (options.metrics && path == "/metrics") {
      res.set_content(metrics_text(sources), kPrometheusContentType);
      return;
    }
    const bool commands = !options.command_url.empty();
    const std::string url = options.command_url == "/" ? "" : options.command_url;
    if (commands && (path == url || path == url + "/")) {
      // What ZooKeeper's servlet answers: a link per command.
      std::string body;
      for (const auto& name : command_names()) {
        body += "<a href=\"" + url + "/" + name + "\">" + name + "</a>\n<br/>\n";
      }
      res.set_content(body, "text/html");
      return;
    }
    if (commands && path.size() > url.size() + 1 && path.compare(0, url.size(), url) == 0 &&
        path[url.size()] == '/') {
      std::string name = path.substr(url.size() + 1);
      if (!name.empty() && name.back() == '/') name.pop_back();
      if (name.find('/') == std::string::npos) {
        std::map<std::string, std::string> params;
        for (const auto& [k, v] : req.params) params.emplace(k, v);
        res.set_content(run_command(sources, name, params), "application/json");
        return;
      }
    }
    res.status = 404;
    res.set_content("Not Found\n", "text/plain");
  }

  Sources sources;
  Options options;
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  int port = -1;
};

AdminServer::AdminServer(Sources sources, Options options)
    : impl_(std::make_unique<Impl>(std::move(sources), std::move(options))) {}

AdminServer::~AdminServer() { stop(); }

int AdminServer::port() const { return impl_->port; }

bool AdminServer::start() {
  Impl& m = *impl_;
  if (m.thread.joinable()) return true;
  auto& http = m.http;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server share a
  // port that is in use instead of failing to bind it.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Idle keep-alive connections close after admin.idleTimeout, at most 5 s (so stopping the
  // server never waits longer for them).
  time_t idle_s = std::clamp<time_t>(m.options.idle_timeout_ms / 1000, 1, 5);
  http.set_keep_alive_timeout(idle_s);
  http.set_read_timeout(idle_s, 0);
  http.set_write_timeout(idle_s, 0);
  http.set_payload_max_length(64 * 1024);
  http.Get(".*", [&m](const httplib::Request& req, httplib::Response& res) { m.handle(req, res); });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_content("Method Not Allowed\n", "text/plain");
  };
  http.Post(".*", not_allowed);
  http.Put(".*", not_allowed);
  http.Delete(".*", not_allowed);
  http.set_exception_handler([&m](const httplib::Request& req, httplib::Response& res,
                                  std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{}: GET {} failed: {}", m.options.name, req.path, what);
    res.status = 500;
    res.set_content("Internal Server Error\n", "text/plain");
  });

  errno = 0;
  int port = -1;
  if (m.options.port == 0) {
    port = http.bind_to_any_port(m.options.address);
  } else if (http.bind_to_port(m.options.address, m.options.port)) {
    port = m.options.port;
  }
  if (port < 0) {
    int err = errno;
    // As a ZooKeeper ensemble member does: warn and go on without it.
    spdlog::warn("{}: cannot listen on {}:{} ({}); continuing without it", m.options.name,
                 m.options.address, m.options.port, err != 0 ? std::strerror(err) : "bind failed");
    return false;
  }
  m.port = port;
  m.thread = std::thread([&m] {
    m.http.listen_after_bind();
    m.listening_done = true;
  });
  // stop() is only effective once the listener runs; wait for that (briefly) here.
  for (int i = 0; i < 2000 && !http.is_running() && !m.listening_done.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!m.options.command_url.empty()) {
    spdlog::info("{} on {}:{}: commands at {}{}", m.options.name, m.options.address, port,
                 m.options.command_url, m.options.metrics ? ", Prometheus metrics at /metrics" : "");
  } else {
    spdlog::info("{} on {}:{}: Prometheus metrics at /metrics", m.options.name,
                 m.options.address, port);
  }
  return true;
}

void AdminServer::stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.http.stop();
  m.thread.join();
  spdlog::info("{} stopped", m.options.name);
}

}  // namespace paddock::admin
