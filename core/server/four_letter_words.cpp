#include "server/four_letter_words.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <dirent.h>
#include <filesystem>
#include <map>

#include "paddock/sdk/types.hpp"
#include "pipeline/prep_stage.hpp"
#include "server/client_connection.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"
#include "util/wall_clock.hpp"

namespace paddock::server {
namespace {

// The words ZooKeeper 3.8 knows.
constexpr std::string_view kWords[] = {"conf", "cons", "crst", "dirs", "dump", "envi",
                                       "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
                                       "wchc", "wchp", "wchs", "mntr", "isro", "hash"};

// Java's Double.toString of a value ZooKeeper rounds to 4 decimals ("11.6", "0.0").
std::string java_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", std::round(v * 10000.0) / 10000.0);
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

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

int64_t dir_size(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/version-2", ec)) {
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  }
  return total;
}

std::string stats_block(ServerContext& ctx) {
  auto lat = ctx.stats.latency();
  std::string out;
  out += "Latency min/avg/max: " + std::to_string(lat.min) + "/" + java_double(lat.avg) + "/" +
         std::to_string(lat.max) + "\n";
  out += "Received: " + std::to_string(ctx.stats.received()) + "\n";
  out += "Sent: " + std::to_string(ctx.stats.sent()) + "\n";
  out += "Connections: " + std::to_string(ctx.connections.size()) + "\n";
  out += "Outstanding: " + std::to_string(ctx.stats.outstanding.load()) + "\n";
  out += "Zxid: " + hex(ctx.tree.last_processed_zxid()) + "\n";
  out += std::string("Mode: ") + ctx.mode.load() + "\n";
  out += "Node count: " + std::to_string(ctx.tree.node_count()) + "\n";
  return out;
}

std::string date_of(int64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buf;
}

using util::wall_ms;

int64_t open_fd_count() {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string answer(ServerContext& ctx, std::string_view word) {
  const auto& cfg = ctx.config;
  if (word == "ruok") return "imok";
  if (word == "isro") return !ctx.serving.load() ? "null" : ctx.read_only.load() ? "ro" : "rw";
  const char* ro_line = ctx.read_only.load() ? "READ-ONLY mode; serving only read-only clients\n" : "";
  if (word == "srvr") return "Zookeeper version: " + full_version() + "\n" + ro_line + stats_block(ctx);
  if (word == "stat") {
    std::string out = "Zookeeper version: " + full_version() + "\nClients:\n";
    for (const auto& c : ctx.connections.all()) out += c->describe(false) + "\n";
    out += "\n" + stats_block(ctx);
    return out;
  }
  if (word == "cons") {
    std::string out;
    for (const auto& c : ctx.connections.all()) out += c->describe(true) + "\n";
    return out + "\n";
  }
  if (word == "crst") {
    for (const auto& c : ctx.connections.all()) c->reset_stats();
    return "Connection stats reset.\n";
  }
  if (word == "srst") {
    ctx.stats.reset();
    return "Server stats reset.\n";
  }
  if (word == "conf") {
    std::string out;
    int64_t data_size = dir_size(cfg.data_dir);
    int64_t log_size = dir_size(cfg.data_log_dir);
    out += "clientPort=" + std::to_string(cfg.client_port) + "\n";
    out += "secureClientPort=" + std::to_string(cfg.secure_client_port) + "\n";
    out += "dataDir=" + cfg.data_dir + "/version-2\n";
    out += "dataDirSize=" + std::to_string(data_size) + "\n";
    out += "dataLogDir=" + cfg.data_log_dir + "/version-2\n";
    out += "dataLogSize=" + std::to_string(log_size) + "\n";
    out += "tickTime=" + std::to_string(cfg.tick_time_ms) + "\n";
    out += "maxClientCnxns=" + std::to_string(cfg.max_client_cnxns) + "\n";
    out += "minSessionTimeout=" + std::to_string(cfg.min_session_timeout_ms) + "\n";
    out += "maxSessionTimeout=" + std::to_string(cfg.max_session_timeout_ms) + "\n";
    out += "clientPortListenBacklog=-1\n";
    out += "serverId=" + std::to_string(ctx.my_id) + "\n";
    if (ctx.my_id != 0) {
      for (const char* key : {"initLimit", "syncLimit"}) {
        auto it = cfg.values.find(key);
        out += std::string(key) + "=" + (it == cfg.values.end() ? "" : it->second) + "\n";
      }
      out += "electionAlg=3\n";
      std::string me = "server." + std::to_string(ctx.my_id);
      auto line = cfg.values.find(me);
      std::string value = line == cfg.values.end() ? "" : line->second;
      // server.N=host:quorumPort:electionPort[...]
      auto first = value.find(':');
      auto second = first == std::string::npos ? first : value.find(':', first + 1);
      if (second != std::string::npos) {
        auto third = value.find_first_of(":;", second + 1);
        out += "electionPort=" + value.substr(second + 1, third == std::string::npos ? third : third - second - 1) + "\n";
        out += "quorumPort=" + value.substr(first + 1, second - first - 1) + "\n";
      }
      out += std::string("peerType=") + (std::string(ctx.mode.load()) == "observer" ? "1" : "0") + "\n";
      out += "membership: \n";
      for (const auto& [k, v] : cfg.values) {
        if (k.rfind("server.", 0) == 0) out += k + "=" + v + "\n";
      }
    }
    return out;
  }
  if (word == "dirs") {
    return "datadir_size: " + std::to_string(dir_size(cfg.data_dir)) +
           "\nlogdir_size: " + std::to_string(dir_size(cfg.data_log_dir)) + "\n";
  }
  if (word == "envi") {
    std::string out = "Environment:\n";
    out += "zookeeper.version=" + full_version() + "\n";
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    out += std::string("host.name=") + host + "\n";
    out += std::string("paddock.version=") + PADDOCK_VERSION + "\n";
    struct utsname u {};
    uname(&u);
    out += std::string("os.name=") + u.sysname + "\n";
    out += std::string("os.arch=") + u.machine + "\n";
    out += std::string("os.version=") + u.release + "\n";
    const char* user = std::getenv("USER");
    out += std::string("user.name=") + (user ? user : "") + "\n";
    const char* home = std::getenv("HOME");
    out += std::string("user.home=") + (home ? home : "") + "\n";
    std::error_code ec;
    out += "user.dir=" + std::filesystem::current_path(ec).string() + "\n";
    return out;
  }
  // Like ZooKeeper, wchs / wchc / wchp report the data (getData / exists) watches.
  if (word == "wchs") {
    auto& data = ctx.tree.data_watches();
    return std::to_string(data.watcher_count()) + " connections watching " +
           std::to_string(data.path_count()) + " paths\nTotal watches:" +
           std::to_string(data.watch_count()) + "\n";
  }
  if (word == "wchc") {
    std::map<int64_t, std::vector<std::string>> by_session;
    for (auto& [s, p] : ctx.tree.data_watches().by_session()) {
      by_session[s].insert(by_session[s].end(), p.begin(), p.end());
    }
    std::string out;
    for (auto& [s, paths] : by_session) {
      out += hex(s) + "\n";
      for (const auto& p : paths) out += "\t" + p + "\n";
    }
    return out + "\n";
  }
  if (word == "wchp") {
    std::map<std::string, std::vector<int64_t>> by_path;
    for (auto& [p, s] : ctx.tree.data_watches().by_path()) {
      by_path[p].insert(by_path[p].end(), s.begin(), s.end());
    }
    std::string out;
    for (auto& [p, ids] : by_path) {
      out += p + "\n";
      for (int64_t s : ids) out += "\t" + hex(s) + "\n";
    }
    return out + "\n";
  }
  if (word == "dump") {
    std::string out = "SessionTracker dump:\n";
    auto sessions = ctx.sessions.all();
    std::map<int64_t, std::vector<int64_t>> by_expiry;
    for (const auto& s : sessions) by_expiry[s->expire_at_ms.load()].push_back(s->id);
    out += "Session Sets (" + std::to_string(by_expiry.size()) + ")/(" +
           std::to_string(sessions.size()) + "):\n";
    int64_t now_steady = session::now_ms();
    int64_t now_wall = wall_ms();
    for (const auto& [at, ids] : by_expiry) {
      out += std::to_string(ids.size()) + " expire at " + date_of(now_wall + (at - now_steady)) + ":\n";
      for (int64_t id : ids) out += "\t" + hex(id) + "\n";
    }
    auto eph = ctx.tree.all_ephemerals();
    out += "ephemeral nodes dump:\nSessions with Ephemerals (" + std::to_string(eph.size()) + "):\n";
    for (const auto& [s, paths] : eph) {
      out += hex(s) + ":\n";
      for (const auto& p : paths) out += "\t" + p + "\n";
    }
    auto conns = ctx.connections.all();
    out += "Connections dump:\nConnections Sets (1)/(" + std::to_string(conns.size()) + "):\n";
    out += std::to_string(conns.size()) + " connections:\n";
    for (const auto& c : conns) {
      out += "\tip: /" + c->remote_address() + " sessionId: " + hex(c->session_id()) + "\n";
    }
    return out;
  }
  if (word == "mntr") {
    auto lat = ctx.stats.latency();
    struct rlimit rl {};
    getrlimit(RLIMIT_NOFILE, &rl);
    std::vector<std::pair<std::string, std::string>> kv = {
        {"zk_version", full_version()},
        {"zk_server_state", ctx.mode.load()},
        {"zk_avg_latency", java_double(lat.avg)},
        {"zk_max_latency", std::to_string(lat.max)},
        {"zk_min_latency", std::to_string(lat.min)},
        {"zk_packets_received", std::to_string(ctx.stats.received())},
        {"zk_packets_sent", std::to_string(ctx.stats.sent())},
        {"zk_num_alive_connections", std::to_string(ctx.connections.size())},
        {"zk_outstanding_requests", std::to_string(ctx.stats.outstanding.load())},
        {"zk_uptime", std::to_string(wall_ms() - ctx.start_time_ms)},
        {"zk_znode_count", std::to_string(ctx.tree.node_count())},
        {"zk_watch_count", std::to_string(ctx.tree.data_watches().watch_count() +
                                          ctx.tree.child_watches().watch_count())},
        {"zk_ephemerals_count", std::to_string(ctx.tree.ephemeral_count())},
        {"zk_approximate_data_size", std::to_string(ctx.tree.approximate_data_size())},
        {"zk_global_sessions", std::to_string(ctx.sessions.size())},
        {"zk_local_sessions", "0"},
        {"zk_open_file_descriptor_count", std::to_string(open_fd_count())},
        {"zk_max_file_descriptor_count", std::to_string(static_cast<long long>(rl.rlim_cur))},
        {"zk_connection_drop_probability", "0.0"},
        {"zk_last_client_response_size", std::to_string(ctx.stats.last_response_size())},
        {"zk_max_client_response_size", std::to_string(ctx.stats.max_response_size())},
        {"zk_min_client_response_size", std::to_string(ctx.stats.min_response_size())},
        {"zk_outstanding_tls_handshake", "0"},
        {"zk_auth_failed_count", "0"},
        {"zk_non_mtls_remote_conn_count", "0"},
        {"zk_non_mtls_local_conn_count", "0"},
        {"zk_outstanding_changes_queued", std::to_string(ctx.prep ? ctx.prep->outstanding_changes() : 0)},
    };
    std::string out;
    for (const auto& [k, v] : kv) out += k + "\t" + v + "\n";
    return out;
  }
  if (word == "gtmk") return "0";
  if (word == "stmk") return "0";
  if (word == "hash") return "";
  return "";
}

}  // namespace

std::string full_version() {
  static const std::string v = std::string("3.8.6-paddock-") + PADDOCK_VERSION + ", built on " +
                               build_time() + " UTC";
  return v;
}

std::optional<std::string> four_letter_word(ServerContext& ctx, std::string_view word) {
  bool known = false;
  for (auto w : kWords) known = known || w == word;
  if (!known) return std::nullopt;
  std::string w(word);
  if (!ctx.config.four_letter_words.count(w)) {
    return w + " is not executed because it is not in the whitelist.\n";
  }
  bool needs_server = w != "ruok" && w != "isro" && w != "stmk" && w != "gtmk" && w != "envi" &&
                      w != "conf" && w != "dirs";
  if (needs_server && !ctx.serving.load()) {
    return std::string("This ZooKeeper instance is not currently serving requests\n");
  }
  return answer(ctx, word);
}

const char* short_op_name(int32_t op) {
  switch (static_cast<sdk::OpCode>(op)) {
    case sdk::OpCode::kPing: return "PING";
    case sdk::OpCode::kCreateSession: return "SESS";
    case sdk::OpCode::kCloseSession: return "CLOS";
    case sdk::OpCode::kCreate: case sdk::OpCode::kCreate2: case sdk::OpCode::kCreateTtl:
    case sdk::OpCode::kCreateContainer: return "CREA";
    case sdk::OpCode::kDelete: case sdk::OpCode::kDeleteContainer: return "DELE";
    case sdk::OpCode::kSetData: return "SETD";
    case sdk::OpCode::kSetAcl: return "SETA";
    case sdk::OpCode::kCheck: return "CHEC";
    case sdk::OpCode::kMulti: return "MULT";
    case sdk::OpCode::kMultiRead: return "MLTR";
    case sdk::OpCode::kExists: return "EXIS";
    case sdk::OpCode::kGetData: return "GETD";
    case sdk::OpCode::kGetAcl: return "GETA";
    case sdk::OpCode::kGetChildren: case sdk::OpCode::kGetChildren2: return "GETC";
    case sdk::OpCode::kGetAllChildrenNumber: return "GETACN";
    case sdk::OpCode::kGetEphemerals: return "GETE";
    case sdk::OpCode::kSync: return "SYNC";
    case sdk::OpCode::kSetWatches: case sdk::OpCode::kSetWatches2: return "SETW";
    case sdk::OpCode::kCheckWatches: return "CHKW";
    case sdk::OpCode::kRemoveWatches: return "REMW";
    case sdk::OpCode::kAddWatch: return "ADDW";
    case sdk::OpCode::kWhoAmI: return "HOMI";
    case sdk::OpCode::kReconfig: return "RECO";
    default: return "NA";
  }
}

}  // namespace paddock::server
