// A minimal synchronous ZooKeeper-protocol client for readiness and restart timing: connect,
// open a session, getData one path, close the session. Raw frames (sdk/jute.hpp), no client
// library threads or back-off, so "time until the first read succeeds" is measured tightly.
#pragma once

#include <functional>
#include <string>

namespace paddock::bench {

struct ProbeResult {
  bool answered = false;  // a session was opened and the getData got a reply
  int err = 0;            // the reply's error code (0 = the read succeeded)
  std::string why;        // when not answered: what failed
};

// A non-blocking TCP socket (TCP_NODELAY, close-on-exec) connected to host:port (IPv4), or -1
// with the reason in *why.
int tcp_connect(const std::string& host, int port, int timeout_ms, std::string* why);

ProbeResult probe_get_data(const std::string& host, int port, const std::string& path,
                           int timeout_ms);

// Polls until a getData of `path` succeeds; returns the seconds that took. Throws BenchError
// after `timeout_s`, or at once when `alive` (if given) reports the server process gone.
double wait_for_read(const std::string& host, int port, const std::string& path, double timeout_s,
                     const std::function<bool()>& alive = {});

}  // namespace paddock::bench
