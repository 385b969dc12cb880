// A Paddock server: the parts of the core wired together around the chosen plugins. With no
// server.N lines it serves alone (standalone); otherwise it is an ensemble member whose
// quorum peer elects, leads or follows.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "paddock/sdk/auth.hpp"
#include "paddock/sdk/election.hpp"
#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/role.hpp"
#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/transport.hpp"
#include "plugin/loader.hpp"
#include "quorum/quorum_config.hpp"

namespace paddock::server {

struct ProcessorPlugin {
  sdk::InsertionPoint point;
  std::string name;
  plugin::Loaded<sdk::Processor> processor;
};

struct Plugins {
  plugin::Loaded<sdk::Storage> storage;
  plugin::Loaded<sdk::Transport> transport;
  plugin::Loaded<sdk::Transport> secure_transport;  // empty without secureClientPort
  std::vector<ProcessorPlugin> processors;  // in config order
  // Ensemble members only.
  plugin::Loaded<sdk::Election> election;
  plugin::Loaded<sdk::Transport> quorum_transport;
  plugin::Loaded<sdk::Role> role;  // when the ensemble has observers
  std::vector<plugin::Loaded<sdk::AuthProvider>> auth;  // from authProvider.<n>
};

class Server {
 public:
  Server(config::ServerConfig config, std::optional<quorum::QuorumConfig> quorum, Plugins plugins);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Recovers the database, starts the threads and listens on the client port(s); an
  // ensemble member also starts its election.
  sdk::Status start();
  // Stops accepting, finishes what is in flight, closes connections, joins threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paddock::server
