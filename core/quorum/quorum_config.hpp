// The ensemble part of the configuration: server.N lines, myid, initLimit / syncLimit, this
// peer's type, and the quorum rule (a majority of the participants).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "paddock/sdk/election.hpp"
#include "paddock/sdk/status.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::quorum {

using sdk::ServerId;

struct QuorumServer {
  ServerId id = 0;
  std::string host;
  uint16_t quorum_port = 0;
  uint16_t election_port = 0;
  bool participant = true;
  std::string client_host;  // from ";[host:]port", "" if absent
  int32_t client_port = -1;
};

struct QuorumConfig {
  ServerId my_id = 0;
  std::map<ServerId, QuorumServer> servers;
  int32_t tick_time_ms = 3000;
  int32_t init_limit = 0;  // ticks
  int32_t sync_limit = 0;  // ticks
  std::string election_plugin = "fle";
  std::string quorum_transport = "tcp";

  const QuorumServer& me() const { return servers.at(my_id); }
  bool is_observer() const { return !me().participant; }
  bool is_voter(ServerId id) const;
  std::vector<ServerId> voters() const;
  // A majority of the voters.
  bool is_quorum(const std::vector<ServerId>& ids) const;
  std::vector<sdk::PeerAddress> peers() const;
  // The config text ZooKeeper sends in election notifications and NEWLEADER
  // (spec/election-protocol.md 2.2).
  std::string config_text() const;
  int64_t init_timeout_ms() const { return int64_t{tick_time_ms} * init_limit; }
  int64_t sync_timeout_ms() const { return int64_t{tick_time_ms} * sync_limit; }
};

// Parses one server.N value: host:quorumPort:electionPort[:participant|:observer][;[host:]port].
sdk::Result<QuorumServer> parse_server_line(ServerId id, const std::string& value);

// Reads the ensemble keys of a loaded config and the myid file. nullopt when the config
// describes a standalone server (no server.N lines, or a single participant with
// standaloneEnabled). Errors name the file and key, or the myid file, in one line.
sdk::Result<std::optional<QuorumConfig>> load_quorum_config(const config::ConfigFile& file,
                                                           const config::ServerConfig& cfg);

}  // namespace paddock::quorum
