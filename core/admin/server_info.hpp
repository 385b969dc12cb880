// What the operations interfaces report about a running server, gathered once for all of them:
// the four-letter words format it as ZooKeeper's text, the AdminServer's commands as
// ZooKeeper's JSON, /metrics as Prometheus samples. Each function reads the live state; none
// blocks the request path (the data tree's shared lock at most, for its statistics).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "server/server_context.hpp"

namespace paddock::quorum { class QuorumPeer; }

namespace paddock::admin {

// Where the AdminServer reads from: the server's parts, and the quorum peer of an ensemble
// member (null for a standalone server). Both outlive the AdminServer.
struct Sources {
  server::ServerContext& ctx;
  const quorum::QuorumPeer* peer = nullptr;
  std::string initial_configuration;  // the config file's text at start-up
};

// The version srvr / envi / mntr report ("3.8.6-paddock-0.1.0, built on ...").
std::string full_version();

// ZooKeeper's text trace mask (gtmk / stmk); Paddock keeps it but writes no trace log.
int64_t trace_mask();
void set_trace_mask(int64_t mask);

// Bytes of the files in <dir>/version-2.
int64_t dir_size(const std::string& dir);

// ---- srvr / stat / server_stats ----

// ZooKeeper's BufferStats: -1 until something was sent.
struct BufferSizes {
  int64_t last = -1, min = -1, max = -1;
};

struct ServerStatsInfo {
  std::string version;
  bool read_only = false;
  std::string server_state;  // standalone, leader, follower, observer, looking
  int64_t packets_sent = 0, packets_received = 0;
  int64_t fsync_threshold_exceed_count = 0;
  BufferSizes client_response;
  int64_t data_dir_size = 0, log_dir_size = 0;  // only when asked for (they walk directories)
  int64_t last_processed_zxid = 0;
  int64_t outstanding_requests = 0;
  double avg_latency = 0;
  int64_t min_latency = 0, max_latency = 0;
  int64_t num_alive_client_connections = 0;
  int64_t auth_failed_count = 0;
  int64_t uptime_ms = 0;
  int64_t node_count = 0;
};
ServerStatsInfo server_stats(server::ServerContext& ctx, bool with_dir_sizes);

// Java's Double.toString of a value ZooKeeper rounds to 4 decimals ("11.6", "0.0").
std::string java_double(double v);

// ---- cons / connections ----

struct ConnectionInfo {
  std::string remote_address;  // "ip:port"
  int32_t interest_ops = 1;
  int64_t outstanding_requests = 0, packets_received = 0, packets_sent = 0;
  int64_t session_id = 0;
  std::string last_operation;  // ZooKeeper's short op name ("GETD", "NA")
  int64_t established_ms = 0;  // wall clock
  int32_t session_timeout = 0;
  int64_t last_cxid = 0, last_zxid = 0;
  int64_t last_response_time_ms = 0;  // wall clock
  int64_t last_latency = 0, min_latency = 0, avg_latency = 0, max_latency = 0;
};
std::vector<ConnectionInfo> connections(server::ServerContext& ctx);

// ---- conf / configuration ----

struct ConfInfo {
  int32_t client_port = 0;
  int32_t secure_client_port = -1;
  std::string data_dir, data_log_dir;  // with "/version-2", as ZooKeeper reports them
  int64_t data_dir_size = 0, data_log_size = 0;
  int32_t tick_time = 0, max_client_cnxns = 0;
  int32_t min_session_timeout = 0, max_session_timeout = 0;
  int32_t client_port_listen_backlog = -1;
  int64_t server_id = 0;
  // Ensemble members only (conf prints them; the JSON configuration does not, as ZooKeeper).
  bool quorum = false;
  std::string init_limit, sync_limit, election_port, quorum_port;
  int32_t election_alg = 3;
  int32_t peer_type = 0;                  // 0 participant, 1 observer
  std::vector<std::string> membership;    // "server.N=..." lines
};
ConfInfo conf(server::ServerContext& ctx);

// ---- envi / environment ----
std::vector<std::pair<std::string, std::string>> environment();

// ---- watches (data watches, as ZooKeeper's wchs / wchc / wchp) ----

struct WatchSummary {
  int64_t num_connections = 0, num_paths = 0, num_total_watches = 0;
};
WatchSummary watch_summary(server::ServerContext& ctx);
std::map<int64_t, std::vector<std::string>> watches_by_session(server::ServerContext& ctx);
std::map<std::string, std::vector<int64_t>> watches_by_path(server::ServerContext& ctx);

// ---- dump ----

struct DumpInfo {
  // Expiry time (steady clock, ms; a tick boundary) -> the sessions expiring then.
  std::map<int64_t, std::vector<int64_t>> expiry;
  size_t session_count = 0;
  std::vector<std::pair<int64_t, std::vector<std::string>>> ephemerals;  // by session
};
DumpInfo dump(server::ServerContext& ctx);

// ---- hash ----

struct DigestEntry {
  int64_t zxid = 0;
  int64_t digest = 0;
  int32_t digest_version = 2;
};
std::vector<DigestEntry> digests(server::ServerContext& ctx);

// ---- mntr / monitor ----

// Integers print as integers, doubles as Java doubles, text as it is.
using MonitorValue = std::variant<int64_t, double, std::string>;
struct MonitorEntry {
  std::string key;  // without mntr's "zk_" prefix, as the AdminServer's monitor names it
  MonitorValue value;
};
std::vector<MonitorEntry> monitor(server::ServerContext& ctx);
std::string format_monitor_value(const MonitorValue& v);

// ---- ensemble (leader, voting_view, zabstate) ----

struct LeaderInfo {
  bool is_leader = false;
  int64_t leader_id = -1;
  std::string leader_ip;
};
// nullopt for a standalone server.
std::optional<LeaderInfo> leader(const Sources& s);
// server id -> "host:quorumPort:electionPort:participant|observer[;clientHost:clientPort]".
std::map<int64_t, std::string> voting_view(const Sources& s);

}  // namespace paddock::admin
