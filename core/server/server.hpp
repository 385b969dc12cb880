// A standalone Paddock server: the parts of the core wired together around the chosen
// storage and transport plugins.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/transport.hpp"
#include "plugin/loader.hpp"

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
};

class Server {
 public:
  Server(config::ServerConfig config, Plugins plugins);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Recovers the database, starts the threads and listens on the client port.
  sdk::Status start();
  // Stops accepting, finishes what is in flight, closes connections, joins threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paddock::server
