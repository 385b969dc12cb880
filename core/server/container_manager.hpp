// Removes empty container nodes and expired TTL nodes, as ZooKeeper's ContainerManager: every
// znode.container.checkIntervalMs it lists the candidates (containers with no children that
// once had some, or that were never used for znode.container.maxNeverUsedIntervalMs; TTL
// nodes with no children whose mtime is older than their TTL) and submits one deleteContainer
// request (opcode 20, session 0) for each, at most znode.container.maxPerMinute a minute.
//
// It acts only where sessions are decided (a standalone server, or a leader while it
// serves): the same condition as session expiry (SessionTracker::expiry_enabled), so the
// quorum peer's toggling of that covers this too. Requests go to ctx.active_pipeline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/server_context.hpp"

namespace paddock::server {

class ContainerManager {
 public:
  explicit ContainerManager(ServerContext& ctx);
  ~ContainerManager();
  ContainerManager(const ContainerManager&) = delete;
  ContainerManager& operator=(const ContainerManager&) = delete;

  void start();
  void stop();

  // One pass: submits a deleteContainer for each current candidate (paced). Returns how many
  // were submitted. Called on the manager's thread.
  size_t check();

 private:
  void run();
  // Sleeps up to `ms`; false if stopping.
  bool pause(int64_t ms);

  ServerContext& ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paddock::server
