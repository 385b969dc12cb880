#include "admin/commands.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include <nlohmann/json.hpp>

#include "quorum/quorum_peer.hpp"
#include "server/client_connection.hpp"
#include "server/server_stats.hpp"

namespace paddock::admin {
namespace {

// ZooKeeper's Jackson output keeps insertion order; so does this.
using Json = nlohmann::ordered_json;
using Params = std::map<std::string, std::string>;

constexpr const char* kNotServing = "This ZooKeeper instance is not currently serving requests";

struct Command {
  std::vector<std::string> names;  // the first is the primary name
  bool server_required;
  std::function<void(const Sources&, const Params&, Json&)> run;
};

Json buffer_sizes(const BufferSizes& b) {
  Json j;
  j["last_buffer_size"] = b.last;
  j["min_buffer_size"] = b.min;
  j["max_buffer_size"] = b.max;
  return j;
}

Json connection_json(const ConnectionInfo& c, bool brief) {
  Json j;
  j["remote_socket_address"] = c.remote_address;
  j["interest_ops"] = c.interest_ops;
  j["outstanding_requests"] = c.outstanding_requests;
  j["packets_received"] = c.packets_received;
  j["packets_sent"] = c.packets_sent;
  if (brief) return j;
  j["session_id"] = c.session_id;
  j["last_operation"] = c.last_operation;
  j["established"] = c.established_ms;
  j["session_timeout"] = c.session_timeout;
  j["last_cxid"] = c.last_cxid;
  j["last_zxid"] = c.last_zxid;
  j["last_response_time"] = c.last_response_time_ms;
  j["last_latency"] = c.last_latency;
  j["min_latency"] = c.min_latency;
  j["avg_latency"] = c.avg_latency;
  j["max_latency"] = c.max_latency;
  return j;
}

Json connections_json(const Sources& s, bool brief) {
  Json list = Json::array();
  for (const auto& c : connections(s.ctx)) list.push_back(connection_json(c, brief));
  return list;
}

// srvr / server_stats, and stat / stats before its connections.
void server_stats_json(const Sources& s, Json& out) {
  ServerStatsInfo st = server_stats(s.ctx, true);
  out["version"] = st.version;
  out["read_only"] = st.read_only;
  Json ss;
  ss["packets_sent"] = st.packets_sent;
  ss["packets_received"] = st.packets_received;
  ss["fsync_threshold_exceed_count"] = st.fsync_threshold_exceed_count;
  ss["client_response_stats"] = buffer_sizes(st.client_response);
  ss["data_dir_size"] = st.data_dir_size;
  ss["log_dir_size"] = st.log_dir_size;
  ss["provider_null"] = false;
  ss["server_state"] = st.server_state;
  ss["last_processed_zxid"] = st.last_processed_zxid;
  ss["outstanding_requests"] = st.outstanding_requests;
  ss["avg_latency"] = st.avg_latency;
  ss["max_latency"] = st.max_latency;
  ss["min_latency"] = st.min_latency;
  ss["num_alive_client_connections"] = st.num_alive_client_connections;
  ss["auth_failed_count"] = st.auth_failed_count;
  ss["non_mtlsremote_conn_count"] = 0;
  ss["non_mtlslocal_conn_count"] = 0;
  ss["uptime"] = st.uptime_ms;
  out["server_stats"] = std::move(ss);
  out["client_response"] = buffer_sizes(st.client_response);
  // Paddock does not measure proposal sizes; the leader reports them unset, as ZooKeeper's
  // BufferStats before the first proposal.
  if (st.server_state == "leader") out["proposal_stats"] = buffer_sizes({});
  out["node_count"] = st.node_count;
}

std::string hex_string(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"connection_stat_reset", "crst"}, true,
       [](const Sources& s, const Params&, Json&) {
         for (const auto& c : s.ctx.connections.all()) c->reset_stats();
       }},
      {{"configuration", "conf", "config"}, true,
       [](const Sources& s, const Params&, Json& out) {
         ConfInfo c = conf(s.ctx);
         out["client_port"] = c.client_port;
         out["data_dir"] = c.data_dir;
         out["data_log_dir"] = c.data_log_dir;
         out["tick_time"] = c.tick_time;
         out["max_client_cnxns"] = c.max_client_cnxns;
         out["min_session_timeout"] = c.min_session_timeout;
         out["max_session_timeout"] = c.max_session_timeout;
         out["server_id"] = c.server_id;
         out["client_port_listen_backlog"] = c.client_port_listen_backlog;
       }},
      {{"connections", "cons"}, true,
       [](const Sources& s, const Params&, Json& out) {
         // Paddock keeps TLS clients in the same list; secure_connections stays empty.
         out["connections"] = connections_json(s, false);
         out["secure_connections"] = Json::array();
       }},
      {{"hash"}, true,
       [](const Sources& s, const Params&, Json& out) {
         Json list = Json::array();
         for (const auto& d : digests(s.ctx)) {
           list.push_back(Json{{"zxid", d.zxid}, {"digest", d.digest}, {"digest_version", d.digest_version}});
         }
         out["digests"] = std::move(list);
       }},
      {{"dirs"}, true,
       [](const Sources& s, const Params&, Json& out) {
         out["datadir_size"] = dir_size(s.ctx.config.data_dir);
         out["logdir_size"] = dir_size(s.ctx.config.data_log_dir);
       }},
      {{"dump"}, true,
       [](const Sources& s, const Params&, Json& out) {
         DumpInfo d = dump(s.ctx);
         Json expiry = Json::object();
         for (const auto& [at, ids] : d.expiry) expiry[std::to_string(at)] = ids;
         Json eph = Json::object();
         for (const auto& [id, paths] : d.ephemerals) eph[std::to_string(id)] = paths;
         out["expiry_time_to_session_ids"] = std::move(expiry);
         out["session_id_to_ephemeral_paths"] = std::move(eph);
       }},
      {{"environment", "env", "envi"}, false,
       [](const Sources&, const Params&, Json& out) {
         for (const auto& [k, v] : environment()) out[k] = v;
       }},
      {{"get_trace_mask", "gtmk"}, false,
       [](const Sources&, const Params&, Json& out) { out["tracemask"] = trace_mask(); }},
      {{"initial_configuration", "icfg"}, true,
       [](const Sources& s, const Params&, Json& out) {
         out["initial_configuration"] = s.initial_configuration;
       }},
      {{"is_read_only", "isro"}, true,
       [](const Sources&, const Params&, Json& out) { out["read_only"] = false; }},
      {{"last_snapshot", "lsnp"}, true,
       [](const Sources& s, const Params&, Json& out) {
         out["zxid"] = hex_string(s.ctx.stats.last_snapshot_zxid());
         out["timestamp"] = s.ctx.stats.last_snapshot_time_s();
       }},
      {{"leader", "lead"}, true,
       [](const Sources& s, const Params&, Json& out) {
         auto info = leader(s);
         if (!info) {
           out["error"] = "server is not initialized";
           return;
         }
         out["is_leader"] = info->is_leader;
         out["leader_id"] = info->leader_id;
         out["leader_ip"] = info->leader_ip;
       }},
      {{"monitor", "mntr"}, false,
       [](const Sources& s, const Params&, Json& out) {
         for (const auto& e : monitor(s.ctx)) {
           std::visit([&](const auto& v) { out[e.key] = v; }, e.value);
         }
       }},
      {{"ruok"}, true, [](const Sources&, const Params&, Json&) {}},
      {{"set_trace_mask", "stmk"}, false,
       [](const Sources&, const Params& params, Json& out) {
         auto it = params.find("traceMask");
         if (it == params.end()) {
           out["error"] = "setTraceMask requires long traceMask argument";
           return;
         }
         const std::string& text = it->second;
         char* end = nullptr;
         errno = 0;
         long long mask = std::strtoll(text.c_str(), &end, 10);
         if (text.empty() || *end != '\0' || errno == ERANGE) {
           out["error"] = "setTraceMask requires long traceMask argument, got " + text;
           return;
         }
         set_trace_mask(mask);
         out["tracemask"] = static_cast<int64_t>(mask);
       }},
      {{"server_stats", "srvr"}, true,
       [](const Sources& s, const Params&, Json& out) { server_stats_json(s, out); }},
      {{"stats", "stat"}, true,
       [](const Sources& s, const Params&, Json& out) {
         server_stats_json(s, out);
         out["connections"] = connections_json(s, true);
         out["secure_connections"] = Json::array();
       }},
      {{"stat_reset", "srst"}, true,
       [](const Sources& s, const Params&, Json&) { s.ctx.stats.reset(); }},
      {{"voting_view"}, true,
       [](const Sources& s, const Params&, Json& out) {
         Json view = Json::object();
         for (const auto& [id, text] : voting_view(s)) view[std::to_string(id)] = text;
         out["current_config"] = std::move(view);
       }},
      {{"watches", "wchc"}, true,
       [](const Sources& s, const Params&, Json& out) {
         Json m = Json::object();
         for (const auto& [id, paths] : watches_by_session(s.ctx)) m[std::to_string(id)] = paths;
         out["session_id_to_watched_paths"] = std::move(m);
       }},
      {{"watches_by_path", "wchp"}, true,
       [](const Sources& s, const Params&, Json& out) {
         Json m = Json::object();
         for (const auto& [path, ids] : watches_by_path(s.ctx)) m[path] = ids;
         out["path_to_session_ids"] = std::move(m);
       }},
      {{"watch_summary", "wchs"}, true,
       [](const Sources& s, const Params&, Json& out) {
         WatchSummary w = watch_summary(s.ctx);
         out["num_connections"] = w.num_connections;
         out["num_paths"] = w.num_paths;
         out["num_total_watches"] = w.num_total_watches;
       }},
      {{"zabstate"}, false,
       [](const Sources& s, const Params&, Json& out) {
         if (!s.peer) {
           out["voting"] = false;
           out["zabstate"] = "";
           return;
         }
         std::string mode = s.ctx.mode.load();
         out["voting"] = s.peer->is_voter(s.peer->my_id());
         out["zabstate"] = s.ctx.serving.load() ? "broadcast"
                           : mode == "looking"  ? "election"
                                                : "synchronization";
       }},
  };
  return table;
}

const Command* find(std::string_view name) {
  for (const Command& c : commands()) {
    if (std::find(c.names.begin(), c.names.end(), name) != c.names.end()) return &c;
  }
  return nullptr;
}

std::string render(const Json& j) { return j.dump(2) + "\n"; }

}  // namespace

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const Command& c : commands()) names.push_back(c.names.front());
  std::sort(names.begin(), names.end());
  return names;
}

std::string run_command(const Sources& sources, std::string_view name, const Params& params) {
  const Command* c = find(name);
  if (c == nullptr) {
    return render(Json{{"command", std::string(name)},
                       {"error", "Unknown command: " + std::string(name)}});
  }
  if (c->server_required && !sources.ctx.serving.load()) {
    return render(Json{{"command", std::string(name)}, {"error", kNotServing}});
  }
  Json out = Json::object();
  c->run(sources, params, out);
  if (out.contains("error")) {
    // A command that failed reports its error before the name, as ZooKeeper's response does.
    Json failed = Json::object();
    failed["error"] = out["error"];
    failed["command"] = c->names.front();
    return render(failed);
  }
  out["command"] = c->names.front();
  out["error"] = nullptr;
  return render(out);
}

}  // namespace paddock::admin
