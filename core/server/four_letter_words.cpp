#include "server/four_letter_words.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "admin/server_info.hpp"
#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"
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

constexpr const char* kNotServing = "This ZooKeeper instance is not currently serving requests";

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string stats_block(ServerContext& ctx) {
  admin::ServerStatsInfo s = admin::server_stats(ctx, false);
  std::string out;
  out += "Latency min/avg/max: " + std::to_string(s.min_latency) + "/" +
         admin::java_double(s.avg_latency) + "/" + std::to_string(s.max_latency) + "\n";
  out += "Received: " + std::to_string(s.packets_received) + "\n";
  out += "Sent: " + std::to_string(s.packets_sent) + "\n";
  out += "Connections: " + std::to_string(s.num_alive_client_connections) + "\n";
  out += "Outstanding: " + std::to_string(s.outstanding_requests) + "\n";
  out += "Zxid: " + hex(s.last_processed_zxid) + "\n";
  out += "Mode: " + s.server_state + "\n";
  out += "Node count: " + std::to_string(s.node_count) + "\n";
  return out;
}

// One connection as stat (brief) and cons (full) print it.
std::string connection_line(const admin::ConnectionInfo& c, bool full) {
  char interest[16];
  std::snprintf(interest, sizeof interest, "%x", static_cast<unsigned>(c.interest_ops));
  std::string out = " /" + c.remote_address + "[" + interest + "](queued=" +
                    std::to_string(c.outstanding_requests) + ",recved=" +
                    std::to_string(c.packets_received) + ",sent=" + std::to_string(c.packets_sent);
  if (full) {
    out += ",sid=" + hex(c.session_id) + ",lop=" + c.last_operation +
           ",est=" + std::to_string(c.established_ms) + ",to=" + std::to_string(c.session_timeout) +
           ",lcxid=" + hex(c.last_cxid) + ",lzxid=" + hex(c.last_zxid) +
           ",lresp=" + std::to_string(c.last_response_time_ms) +
           ",llat=" + std::to_string(c.last_latency) + ",minlat=" + std::to_string(c.min_latency) +
           ",avglat=" + std::to_string(c.avg_latency) + ",maxlat=" + std::to_string(c.max_latency);
  }
  return out + ")";
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

std::string conf_text(ServerContext& ctx) {
  admin::ConfInfo c = admin::conf(ctx);
  std::string out;
  out += "clientPort=" + std::to_string(c.client_port) + "\n";
  out += "secureClientPort=" + std::to_string(c.secure_client_port) + "\n";
  out += "dataDir=" + c.data_dir + "\n";
  out += "dataDirSize=" + std::to_string(c.data_dir_size) + "\n";
  out += "dataLogDir=" + c.data_log_dir + "\n";
  out += "dataLogSize=" + std::to_string(c.data_log_size) + "\n";
  out += "tickTime=" + std::to_string(c.tick_time) + "\n";
  out += "maxClientCnxns=" + std::to_string(c.max_client_cnxns) + "\n";
  out += "minSessionTimeout=" + std::to_string(c.min_session_timeout) + "\n";
  out += "maxSessionTimeout=" + std::to_string(c.max_session_timeout) + "\n";
  out += "clientPortListenBacklog=" + std::to_string(c.client_port_listen_backlog) + "\n";
  out += "serverId=" + std::to_string(c.server_id) + "\n";
  if (c.quorum) {
    out += "initLimit=" + c.init_limit + "\n";
    out += "syncLimit=" + c.sync_limit + "\n";
    out += "electionAlg=" + std::to_string(c.election_alg) + "\n";
    if (!c.election_port.empty()) {
      out += "electionPort=" + c.election_port + "\n";
      out += "quorumPort=" + c.quorum_port + "\n";
    }
    out += "peerType=" + std::to_string(c.peer_type) + "\n";
    out += "membership: \n";
    for (const auto& line : c.membership) out += line + "\n";
  }
  return out;
}

std::string dump_text(ServerContext& ctx) {
  admin::DumpInfo d = admin::dump(ctx);
  std::string out = "SessionTracker dump:\nSession Sets (" + std::to_string(d.expiry.size()) +
                    ")/(" + std::to_string(d.session_count) + "):\n";
  int64_t now_steady = session::now_ms();
  int64_t now_wall = wall_ms();
  for (const auto& [at, ids] : d.expiry) {
    out += std::to_string(ids.size()) + " expire at " + date_of(now_wall + (at - now_steady)) + ":\n";
    for (int64_t id : ids) out += "\t" + hex(id) + "\n";
  }
  out += "ephemeral nodes dump:\nSessions with Ephemerals (" + std::to_string(d.ephemerals.size()) +
         "):\n";
  for (const auto& [s, paths] : d.ephemerals) {
    out += hex(s) + ":\n";
    for (const auto& p : paths) out += "\t" + p + "\n";
  }
  auto conns = admin::connections(ctx);
  out += "Connections dump:\nConnections Sets (1)/(" + std::to_string(conns.size()) + "):\n";
  out += std::to_string(conns.size()) + " connections:\n";
  for (const auto& c : conns) {
    out += "\tip: /" + c.remote_address + " sessionId: " + hex(c.session_id) + "\n";
  }
  return out;
}

std::string answer(ServerContext& ctx, std::string_view word, int64_t stmk_mask) {
  if (word == "ruok") return "imok";
  if (word == "isro") return !ctx.serving.load() ? "null" : ctx.read_only.load() ? "ro" : "rw";
  if (word == "gtmk") return std::to_string(admin::trace_mask());
  if (word == "stmk") {
    admin::set_trace_mask(stmk_mask);
    return std::to_string(stmk_mask);
  }
  if (word == "conf") return conf_text(ctx);
  if (word == "envi") {
    std::string out = "Environment:\n";
    for (const auto& [k, v] : admin::environment()) out += k + "=" + v + "\n";
    return out;
  }
  if (word == "dirs") {
    return "datadir_size: " + std::to_string(admin::dir_size(ctx.config.data_dir)) +
           "\nlogdir_size: " + std::to_string(admin::dir_size(ctx.config.data_log_dir)) + "\n";
  }
  // The rest need a serving server.
  if (!ctx.serving.load()) return word == "hash" ? kNotServing : std::string(kNotServing) + "\n";
  const char* ro_line = ctx.read_only.load() ? "READ-ONLY mode; serving only read-only clients\n" : "";
  if (word == "srvr") return "Zookeeper version: " + admin::full_version() + "\n" + ro_line + stats_block(ctx);
  if (word == "stat") {
    std::string out = "Zookeeper version: " + admin::full_version() + "\nClients:\n";
    for (const auto& c : admin::connections(ctx)) out += connection_line(c, false) + "\n";
    return out + "\n" + stats_block(ctx);
  }
  if (word == "cons") {
    std::string out;
    for (const auto& c : admin::connections(ctx)) out += connection_line(c, true) + "\n";
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
  // Like ZooKeeper, wchs / wchc / wchp report the data (getData / exists) watches.
  if (word == "wchs") {
    admin::WatchSummary w = admin::watch_summary(ctx);
    return std::to_string(w.num_connections) + " connections watching " +
           std::to_string(w.num_paths) + " paths\nTotal watches:" +
           std::to_string(w.num_total_watches) + "\n";
  }
  if (word == "wchc") {
    std::string out;
    for (const auto& [s, paths] : admin::watches_by_session(ctx)) {
      out += hex(s) + "\n";
      for (const auto& p : paths) out += "\t" + p + "\n";
    }
    return out + "\n";
  }
  if (word == "wchp") {
    std::string out;
    for (const auto& [p, ids] : admin::watches_by_path(ctx)) {
      out += p + "\n";
      for (int64_t s : ids) out += "\t" + hex(s) + "\n";
    }
    return out + "\n";
  }
  if (word == "dump") return dump_text(ctx);
  if (word == "mntr") {
    std::string out;
    for (const auto& e : admin::monitor(ctx)) {
      out += "zk_" + e.key + "\t" + admin::format_monitor_value(e.value) + "\n";
    }
    return out;
  }
  if (word == "hash") {
    std::string out;
    for (const auto& d : admin::digests(ctx)) {
      char zxid[32];
      std::snprintf(zxid, sizeof zxid, "%llx", static_cast<unsigned long long>(d.zxid));
      out += std::string(zxid) + ": " + std::to_string(d.digest) + "\n";
    }
    return out;
  }
  return "";
}

}  // namespace

FourLetterAnswer four_letter_word(ServerContext& ctx, std::string_view input) {
  FourLetterAnswer a;
  std::string_view word = input.substr(0, 4);
  bool known = false;
  for (auto w : kWords) known = known || w == word;
  if (!known) return a;
  a.kind = FourLetterAnswer::Kind::kAnswer;
  a.consumed = 4;
  std::string w(word);
  if (!ctx.config.four_letter_words.count(w)) {
    a.text = w + " is not executed because it is not in the whitelist.\n";
    return a;
  }
  int64_t mask = 0;
  if (word == "stmk") {
    // The new mask follows as a big-endian long.
    if (input.size() < 12) {
      a.kind = FourLetterAnswer::Kind::kIncomplete;
      return a;
    }
    sdk::jute::Reader r(input.data() + 4, 8);
    mask = r.read_long();
    a.consumed = 12;
  }
  a.text = answer(ctx, word, mask);
  return a;
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
