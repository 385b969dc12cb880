// A second, minimal client session spoken directly in ZooKeeper's client protocol, for the
// requests the ZooKeeper C client (3.8) has no call for: addWatch (persistent watches) and
// whoAmI. It is opened on demand against the server the C client is connected to, presents
// the same addauth credentials, keeps itself alive with pings, and hands the watch events it
// receives to the same handler as the main session. It does not reconnect: when its
// connection ends, the owner is told once and its persistent watches are gone.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "paddock/sdk/types.hpp"
#include "zk_types.hpp"

namespace paddock::cli {

struct Credential {
  std::string scheme;
  std::optional<std::string> auth;  // none: sent as a null buffer (addauth with no auth)
};

class DirectSession {
 public:
  // Both handlers run on the session's I/O thread.
  using EventHandler = std::function<void(const WatchEvent&)>;
  using LostHandler = std::function<void(const std::string& why)>;

  DirectSession(EventHandler on_event, LostHandler on_lost);
  ~DirectSession();
  DirectSession(const DirectSession&) = delete;
  DirectSession& operator=(const DirectSession&) = delete;

  // Connects to `addr`, opens a session asking for `timeout_ms` and presents every credential,
  // all within `deadline`. Returns a ZooKeeper error code (kConnectionLoss with `why` set when
  // the server cannot be reached or closes the connection; kAuthFailed when it refuses a
  // credential). Called once, from the owner's thread.
  int open(const sockaddr* addr, socklen_t addr_len, int timeout_ms,
           const std::vector<Credential>& credentials, std::chrono::milliseconds deadline,
           std::string* why);

  bool alive() const;

  // Sends one request (`body` is its record after the request header) and waits for the
  // reply, at most `timeout`. Returns the reply header's error code, or kConnectionLoss /
  // kOperationTimeout; the reply's record is stored in `reply` when given.
  int call(sdk::OpCode opcode, const std::string& body, std::string* reply,
           std::chrono::milliseconds timeout);

  // Closes the session politely (bounded wait for the server's answer) and stops the thread.
  void close();

 private:
  struct Pending {
    bool done = false;
    int err = 0;
    std::string body;
  };

  bool send_frame(const std::string& frame);
  bool read_frame_blocking(std::string* frame, std::chrono::steady_clock::time_point deadline);
  void io_loop();
  void dispatch(const std::string& frame);
  void fail_all(const std::string& why);

  EventHandler on_event_;
  LostHandler on_lost_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  int ping_interval_ms_ = 1000;
  std::thread io_;

  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool dead_ = true;
  bool closing_ = false;
  int32_t next_xid_ = 1;
  std::map<int32_t, Pending> pending_;
  std::string inbuf_;
};

}  // namespace paddock::cli
