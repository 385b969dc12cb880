// What the pipeline stages and connections share: the parts of one running server.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "paddock/sdk/types.hpp"

#include "config/config.hpp"

namespace paddock::tree { class DataTree; }
namespace paddock::session { class SessionTracker; }
namespace paddock::pipeline { class Pipeline; class PrepStage; class SyncStage; class FinalStage; }
namespace paddock::sdk { class Storage; }
namespace paddock::quorum { class CommittedLog; }
namespace paddock::acl { class AuthRegistry; const AuthRegistry& builtin_registry(); }

namespace paddock::server {

class ServerStats;
class ConnectionRegistry;

struct ServerContext {
  const config::ServerConfig& config;
  tree::DataTree& tree;
  session::SessionTracker& sessions;
  ServerStats& stats;
  ConnectionRegistry& connections;
  sdk::Storage& storage;
  pipeline::PrepStage* prep = nullptr;
  pipeline::SyncStage* sync = nullptr;
  pipeline::FinalStage* final_stage = nullptr;
  int64_t start_time_ms = 0;  // wall clock
  std::atomic<bool> serving{false};
  // The ACL schemes and auth settings (built-in schemes only until the server sets its own).
  const acl::AuthRegistry* auth = &acl::builtin_registry();
  // Read-only mode (readonlymode.enabled): a partitioned ensemble member serving its local
  // tree to clients that accept a read-only server; writes get NOTREADONLY.
  std::atomic<bool> read_only{false};

  // ---- ensemble ----
  sdk::ServerId my_id = 0;  // 0 for a standalone server
  // What srvr / mntr report as the mode ("standalone", "leader", "follower", "observer").
  std::atomic<const char*> mode{"standalone"};
  quorum::CommittedLog* committed_log = nullptr;
  // The leader answers a learner's sync with a SYNC packet once it is ordered.
  using RemoteSyncFn = std::function<void(sdk::ServerId)>;
  std::atomic<std::shared_ptr<const RemoteSyncFn>> remote_sync_done;
  // On a learner: asks the leader whether a resumed session is still valid; `done` runs
  // on a quorum I/O thread. Unset when this server decides sessions itself.
  using RevalidateFn = std::function<void(sdk::SessionId, int32_t, std::function<void(bool)>)>;
  std::atomic<std::shared_ptr<const RevalidateFn>> revalidate_remote;
  // Extra mntr lines of an ensemble member (zk_peer_state, zk_synced_followers ...).
  using MetricsFn = std::function<std::vector<std::pair<std::string, std::string>>()>;
  std::atomic<std::shared_ptr<const MetricsFn>> quorum_metrics;
  // The pipeline client requests enter (it changes with the server's role).
  std::atomic<pipeline::Pipeline*> active_pipeline{nullptr};
};

}  // namespace paddock::server
