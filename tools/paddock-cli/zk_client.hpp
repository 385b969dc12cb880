// The CLI's one door to a server: a thin wrapper over the ZooKeeper C client (libzookeeper_mt)
// that speaks in the CLI's own types (zk_types.hpp) and ZooKeeper error codes. Every call is
// synchronous and made from the shell's thread; watch events and connection-state changes
// arrive on the C client's completion thread and are handed to the event handler.
//
// addWatch and whoAmI, which the C client cannot send, go through a DirectSession opened on
// demand against the same server and presented the same credentials (direct_session.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "direct_session.hpp"
#include "zk_types.hpp"

struct _zhandle;

namespace paddock::cli {

class ZkClient {
 public:
  using EventHandler = std::function<void(const WatchEvent&)>;  // any thread
  using NoticeHandler = std::function<void(const std::string&)>;  // any thread; one line

  ZkClient(EventHandler on_event, NoticeHandler on_notice);
  ~ZkClient();
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  // Starts connecting to `hosts` ("host:port,host:port") with a session timeout of
  // `timeout_ms`; any earlier session is closed first. Returns kOk, or kBadArguments when the
  // C client rejects the host list.
  int open(const std::string& hosts, int timeout_ms, bool read_only);
  void close();
  // True once connected (also read-only), false if `within` passed first or the session died.
  bool wait_connected(std::chrono::milliseconds within);
  SessionState state() const;
  // ZooKeeper.States.isAlive(): neither closed (expired, never opened) nor failed auth.
  bool alive() const;
  int timeout_ms() const { return timeout_ms_; }

  int create(const std::string& path, const std::optional<std::string>& data,
             const std::vector<AclEntry>& acl, CreateKind kind, bool sequential, int64_t ttl,
             std::string* created);
  // `data` is none for a node holding null data.
  int get(const std::string& path, bool watch, std::optional<std::string>* data, NodeStat* stat);
  int set(const std::string& path, const std::string& data, int32_t version, NodeStat* stat);
  // kNoNode when the node does not exist (an exists-watch is still set when asked for).
  int exists(const std::string& path, bool watch, NodeStat* stat);
  int children(const std::string& path, bool watch, std::vector<std::string>* names,
               NodeStat* stat);
  int remove(const std::string& path, int32_t version);
  // Deletes `paths` in one multi-operation (all or nothing).
  int remove_all(const std::vector<std::string>& paths);
  int get_acl(const std::string& path, std::vector<AclEntry>* acl, NodeStat* stat);
  int set_acl(const std::string& path, int32_t version, const std::vector<AclEntry>& acl);
  // Waits for the server's answer, at most the session timeout.
  int add_auth(const std::string& scheme, const std::optional<std::string>& auth);
  int sync(const std::string& path);
  int add_watch(const std::string& path, WatchMode mode);
  int who_am_i(std::vector<std::pair<std::string, std::string>>* identities);

  // Called by the C client's watcher trampoline.
  void on_watcher(int type, int state, const char* path);

 private:
  int direct_call(sdk::OpCode opcode, const std::string& body, std::string* reply);
  std::chrono::milliseconds op_timeout() const { return std::chrono::milliseconds(timeout_ms_); }

  EventHandler on_event_;
  NoticeHandler on_notice_;
  _zhandle* zh_ = nullptr;
  int timeout_ms_ = 30000;
  std::vector<Credential> credentials_;
  std::unique_ptr<DirectSession> direct_;
  std::atomic<bool> direct_has_watches_{false};

  std::mutex mu_;
  std::condition_variable state_cv_;
  std::vector<char> data_buffer_;
};

}  // namespace paddock::cli
