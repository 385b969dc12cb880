#include "admin/server_info.hpp"

#include <algorithm>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "pipeline/prep_stage.hpp"
#include "quorum/quorum_peer.hpp"
#include "server/client_connection.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"

namespace paddock::admin {
namespace {

// ZooTrace's default text trace level: client requests, server packets, sessions, warnings.
std::atomic<int64_t> g_trace_mask{306};

std::string build_time() {
  // __DATE__ is "Mmm dd yyyy"; ZooKeeper prints "yyyy-MM-dd HH:mm".
  static const char* months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  std::string d = __DATE__, t = __TIME__;
  int month = static_cast<int>(std::string(months).find(d.substr(0, 3)) / 3) + 1;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%02d-%02d %s", d.substr(7, 4).c_str(), month,
                std::atoi(d.substr(4, 2).c_str()), t.substr(0, 5).c_str());
  return buf;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t open_fd_count() {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

int64_t max_fd_count() {
  struct rlimit rl {};
  getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<int64_t>(rl.rlim_cur);
}

const char* peer_state(const std::string& mode) {
  if (mode == "leader") return "leading - broadcast";
  if (mode == "follower") return "following - broadcast";
  if (mode == "observer") return "observing - broadcast";
  return "looking - election";
}

void add_summary(std::vector<MonitorEntry>& out, const std::string& name, const SummaryValues& v,
                 bool percentiles) {
  out.push_back({"avg_" + name, v.avg});
  out.push_back({"min_" + name, v.min});
  out.push_back({"max_" + name, v.max});
  out.push_back({"cnt_" + name, v.cnt});
  out.push_back({"sum_" + name, v.sum});
  if (percentiles) {
    out.push_back({"p50_" + name, v.p50});
    out.push_back({"p95_" + name, v.p95});
    out.push_back({"p99_" + name, v.p99});
    out.push_back({"p999_" + name, v.p999});
  }
}

}  // namespace

std::string full_version() {
  static const std::string v = std::string("3.8.6-paddock-") + PADDOCK_VERSION + ", built on " +
                               build_time() + " UTC";
  return v;
}

int64_t trace_mask() { return g_trace_mask.load(std::memory_order_relaxed); }
void set_trace_mask(int64_t mask) { g_trace_mask.store(mask, std::memory_order_relaxed); }

int64_t dir_size(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/version-2", ec)) {
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  }
  return total;
}

std::string java_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", std::round(v * 10000.0) / 10000.0);
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------------------

ServerStatsInfo server_stats(server::ServerContext& ctx, bool with_dir_sizes) {
  ServerStatsInfo s;
  auto lat = ctx.stats.latency();
  s.version = full_version();
  s.server_state = ctx.mode.load();
  s.packets_sent = ctx.stats.sent();
  s.packets_received = ctx.stats.received();
  s.fsync_threshold_exceed_count = ctx.stats.fsync_threshold_exceed_count();
  s.client_response = {ctx.stats.last_response_size(), ctx.stats.min_response_size(),
                       ctx.stats.max_response_size()};
  if (with_dir_sizes) {
    s.data_dir_size = dir_size(ctx.config.data_dir);
    s.log_dir_size = dir_size(ctx.config.data_log_dir);
  }
  s.last_processed_zxid = ctx.tree.last_processed_zxid();
  s.outstanding_requests = ctx.stats.outstanding.load(std::memory_order_relaxed);
  s.avg_latency = std::round(lat.avg * 10000.0) / 10000.0;
  s.min_latency = lat.min;
  s.max_latency = lat.max;
  s.num_alive_client_connections = static_cast<int64_t>(ctx.connections.size());
  s.uptime_ms = wall_ms() - ctx.start_time_ms;
  s.node_count = static_cast<int64_t>(ctx.tree.node_count());
  return s;
}

std::vector<ConnectionInfo> connections(server::ServerContext& ctx) {
  std::vector<ConnectionInfo> out;
  for (const auto& c : ctx.connections.all()) out.push_back(c->info());
  return out;
}

ConfInfo conf(server::ServerContext& ctx) {
  const auto& cfg = ctx.config;
  ConfInfo c;
  c.client_port = cfg.client_port;
  c.secure_client_port = cfg.secure_client_port;
  c.data_dir = cfg.data_dir + "/version-2";
  c.data_log_dir = cfg.data_log_dir + "/version-2";
  c.data_dir_size = dir_size(cfg.data_dir);
  c.data_log_size = dir_size(cfg.data_log_dir);
  c.tick_time = cfg.tick_time_ms;
  c.max_client_cnxns = cfg.max_client_cnxns;
  c.min_session_timeout = cfg.min_session_timeout_ms;
  c.max_session_timeout = cfg.max_session_timeout_ms;
  c.server_id = ctx.my_id;
  if (ctx.my_id == 0) return c;
  c.quorum = true;
  if (auto it = cfg.values.find("initLimit"); it != cfg.values.end()) c.init_limit = it->second;
  if (auto it = cfg.values.find("syncLimit"); it != cfg.values.end()) c.sync_limit = it->second;
  // server.N=host:quorumPort:electionPort[...]
  auto line = cfg.values.find("server." + std::to_string(ctx.my_id));
  std::string value = line == cfg.values.end() ? "" : line->second;
  auto first = value.find(':');
  auto second = first == std::string::npos ? first : value.find(':', first + 1);
  if (second != std::string::npos) {
    auto third = value.find_first_of(":;", second + 1);
    c.election_port =
        value.substr(second + 1, third == std::string::npos ? third : third - second - 1);
    c.quorum_port = value.substr(first + 1, second - first - 1);
  }
  c.peer_type = std::string(ctx.mode.load()) == "observer" ? 1 : 0;
  for (const auto& [k, v] : cfg.values) {
    if (k.rfind("server.", 0) == 0) c.membership.push_back(k + "=" + v);
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> environment() {
  std::vector<std::pair<std::string, std::string>> env;
  env.emplace_back("zookeeper.version", full_version());
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  env.emplace_back("host.name", host);
  env.emplace_back("paddock.version", PADDOCK_VERSION);
  struct utsname u {};
  uname(&u);
  env.emplace_back("os.name", u.sysname);
  env.emplace_back("os.arch", u.machine);
  env.emplace_back("os.version", u.release);
  const char* user = std::getenv("USER");
  env.emplace_back("user.name", user ? user : "");
  const char* home = std::getenv("HOME");
  env.emplace_back("user.home", home ? home : "");
  std::error_code ec;
  env.emplace_back("user.dir", std::filesystem::current_path(ec).string());
  return env;
}

WatchSummary watch_summary(server::ServerContext& ctx) {
  auto& data = ctx.tree.data_watches();
  return {static_cast<int64_t>(data.watcher_count()), static_cast<int64_t>(data.path_count()),
          static_cast<int64_t>(data.watch_count())};
}

std::map<int64_t, std::vector<std::string>> watches_by_session(server::ServerContext& ctx) {
  std::map<int64_t, std::vector<std::string>> out;
  for (auto& [s, paths] : ctx.tree.data_watches().by_session()) {
    out[s].insert(out[s].end(), paths.begin(), paths.end());
  }
  return out;
}

std::map<std::string, std::vector<int64_t>> watches_by_path(server::ServerContext& ctx) {
  std::map<std::string, std::vector<int64_t>> out;
  for (auto& [p, ids] : ctx.tree.data_watches().by_path()) {
    out[p].insert(out[p].end(), ids.begin(), ids.end());
  }
  return out;
}

DumpInfo dump(server::ServerContext& ctx) {
  DumpInfo d;
  auto sessions = ctx.sessions.all();
  d.session_count = sessions.size();
  for (const auto& s : sessions) d.expiry[s->expire_at_ms.load()].push_back(s->id);
  d.ephemerals = ctx.tree.all_ephemerals();
  return d;
}

std::vector<DigestEntry> digests(server::ServerContext& ctx) {
  std::vector<DigestEntry> out;
  for (const auto& d : ctx.tree.digest_log()) out.push_back({d.zxid, d.digest, 2});
  return out;
}

std::vector<MonitorEntry> monitor(server::ServerContext& ctx) {
  ServerStatsInfo s = server_stats(ctx, false);
  std::vector<MonitorEntry> out;
  out.push_back({"version", s.version});
  out.push_back({"server_state", s.server_state});
  if (ctx.my_id != 0) out.push_back({"peer_state", std::string(peer_state(s.server_state))});
  out.push_back({"avg_latency", s.avg_latency});
  out.push_back({"max_latency", s.max_latency});
  out.push_back({"min_latency", s.min_latency});
  out.push_back({"packets_received", s.packets_received});
  out.push_back({"packets_sent", s.packets_sent});
  out.push_back({"num_alive_connections", s.num_alive_client_connections});
  out.push_back({"outstanding_requests", s.outstanding_requests});
  out.push_back({"uptime", s.uptime_ms});
  out.push_back({"znode_count", s.node_count});
  out.push_back({"watch_count", static_cast<int64_t>(ctx.tree.data_watches().watch_count() +
                                                     ctx.tree.child_watches().watch_count())});
  out.push_back({"ephemerals_count", static_cast<int64_t>(ctx.tree.ephemeral_count())});
  out.push_back({"approximate_data_size", ctx.tree.approximate_data_size()});
  out.push_back({"global_sessions", static_cast<int64_t>(ctx.sessions.size())});
  out.push_back({"local_sessions", int64_t{0}});
  out.push_back({"open_file_descriptor_count", open_fd_count()});
  out.push_back({"max_file_descriptor_count", max_fd_count()});
  out.push_back({"connection_drop_probability", 0.0});
  out.push_back({"last_client_response_size", s.client_response.last});
  out.push_back({"max_client_response_size", s.client_response.max});
  out.push_back({"min_client_response_size", s.client_response.min});
  out.push_back({"outstanding_tls_handshake", int64_t{0}});
  out.push_back({"auth_failed_count", s.auth_failed_count});
  out.push_back({"non_mtls_remote_conn_count", int64_t{0}});
  out.push_back({"non_mtls_local_conn_count", int64_t{0}});
  out.push_back({"outstanding_changes_queued",
                 static_cast<int64_t>(ctx.prep ? ctx.prep->outstanding_changes() : 0)});
  // ServerMetrics summaries Paddock measures (ZooKeeper's names and detail levels).
  add_summary(out, "fsynctime", ctx.stats.fsync.summary(), false);
  add_summary(out, "snapshottime", ctx.stats.snapshot.summary(), false);
  add_summary(out, "readlatency", ctx.stats.requests.read_summary(), true);
  add_summary(out, "updatelatency", ctx.stats.requests.update_summary(), true);
  // The ensemble's own keys (peer_state, quorum_size, and on a leader learners, synced
  // followers and observers, proposal sizes ...), as the quorum peer reports them.
  if (auto quorum = ctx.quorum_metrics.load()) {
    for (auto& [zk_key, text] : (*quorum)()) {
      std::string key = zk_key.rfind("zk_", 0) == 0 ? zk_key.substr(3) : zk_key;
      MonitorValue value = text;
      if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
        value = static_cast<int64_t>(std::stoll(text));
      }
      auto same = std::find_if(out.begin(), out.end(), [&](const MonitorEntry& e) { return e.key == key; });
      if (same != out.end()) {
        same->value = std::move(value);
      } else {
        out.push_back({std::move(key), std::move(value)});
      }
    }
  }
  return out;
}

std::string format_monitor_value(const MonitorValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return java_double(*d);
  return std::get<std::string>(v);
}

std::optional<LeaderInfo> leader(const Sources& s) {
  if (!s.peer) return std::nullopt;
  LeaderInfo info;
  std::string mode = s.ctx.mode.load();
  sdk::Vote vote = s.peer->current_vote();
  bool has_leader = mode == "leader" || mode == "follower" || mode == "observer";
  info.is_leader = mode == "leader";
  info.leader_id = has_leader ? static_cast<int64_t>(vote.leader) : -1;
  if (has_leader) {
    const auto& servers = s.peer->config().servers;
    if (auto it = servers.find(vote.leader); it != servers.end()) info.leader_ip = it->second.host;
  }
  return info;
}

std::map<int64_t, std::string> voting_view(const Sources& s) {
  std::map<int64_t, std::string> view;
  if (!s.peer) return view;
  for (const auto& [id, q] : s.peer->config().servers) {
    // ZooKeeper's getVotingView holds the participants only.
    if (!q.participant) continue;
    std::string v = q.host + ":" + std::to_string(q.quorum_port) + ":" +
                    std::to_string(q.election_port) + ":participant";
    if (q.client_port >= 0) {
      v += ";" + (q.client_host.empty() ? std::string("0.0.0.0") : q.client_host) + ":" +
           std::to_string(q.client_port);
    }
    view[static_cast<int64_t>(id)] = v;
  }
  return view;
}

}  // namespace paddock::admin
