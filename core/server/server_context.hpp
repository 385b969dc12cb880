// What the pipeline stages and connections share: the parts of one running server.
#pragma once

#include <atomic>
#include <cstdint>

#include "config/config.hpp"

namespace paddock::tree { class DataTree; }
namespace paddock::session { class SessionTracker; }
namespace paddock::pipeline { class Pipeline; class PrepStage; class SyncStage; class FinalStage; }
namespace paddock::sdk { class Storage; }

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
  pipeline::Pipeline* pipeline = nullptr;
  pipeline::PrepStage* prep = nullptr;
  pipeline::SyncStage* sync = nullptr;
  pipeline::FinalStage* final_stage = nullptr;
  int64_t start_time_ms = 0;  // wall clock
  std::atomic<bool> serving{false};
};

}  // namespace paddock::server
