#include "quorum/quorum_config.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace paddock::quorum {
namespace {

bool parse_port(const std::string& s, uint16_t& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Splits "host:port..." honouring a bracketed IPv6 host ("[::1]:2888:3888").
std::vector<std::string> split_host_parts(const std::string& text) {
  std::vector<std::string> parts;
  size_t i = 0;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return {};
    parts.push_back(text.substr(1, close - 1));
    i = close + 1;
    if (i < text.size() && text[i] != ':') return {};
    if (i < text.size()) ++i;
  }
  while (i <= text.size()) {
    size_t colon = text.find(':', i);
    if (colon == std::string::npos) {
      parts.push_back(text.substr(i));
      break;
    }
    parts.push_back(text.substr(i, colon - i));
    i = colon + 1;
  }
  return parts;
}

std::string trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ws(s.back())) s.pop_back();
  size_t b = 0;
  while (b < s.size() && ws(s[b])) ++b;
  return s.substr(b);
}

}  // namespace

bool QuorumConfig::is_voter(ServerId id) const {
  auto it = servers.find(id);
  return it != servers.end() && it->second.participant;
}

std::vector<ServerId> QuorumConfig::voters() const {
  std::vector<ServerId> out;
  for (const auto& [id, s] : servers) {
    if (s.participant) out.push_back(id);
  }
  return out;
}

bool QuorumConfig::is_quorum(const std::vector<ServerId>& ids) const {
  std::vector<ServerId> seen;
  for (ServerId id : ids) {
    if (is_voter(id) && std::find(seen.begin(), seen.end(), id) == seen.end()) seen.push_back(id);
  }
  return seen.size() > voters().size() / 2;
}

std::vector<sdk::PeerAddress> QuorumConfig::peers() const {
  std::vector<sdk::PeerAddress> out;
  for (const auto& [id, s] : servers) {
    out.push_back({id, s.host, s.quorum_port, s.election_port, s.participant});
  }
  return out;
}

std::string QuorumConfig::config_text() const {
  std::string out;
  for (const auto& [id, s] : servers) {
    bool v6 = s.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + s.host + "]" : s.host;
    out += "server." + std::to_string(id) + "=" + host + ":" + std::to_string(s.quorum_port) + ":" +
           std::to_string(s.election_port) + ":" + (s.participant ? "participant" : "observer");
    if (!s.client_host.empty() && s.client_port > 0) {
      out += ";" + s.client_host + ":" + std::to_string(s.client_port);
    }
    out += "\n";
  }
  out += "version=0";
  return out;
}

sdk::Result<QuorumServer> parse_server_line(ServerId id, const std::string& value) {
  QuorumServer s;
  s.id = id;
  std::string addr = trim(value);
  std::string client;
  if (size_t semi = addr.find(';'); semi != std::string::npos) {
    client = trim(addr.substr(semi + 1));
    addr = trim(addr.substr(0, semi));
  }
  auto parts = split_host_parts(addr);
  if (parts.size() < 3 || parts.size() > 4 || parts[0].empty()) {
    return sdk::Status::error("expected host:quorumPort:electionPort[:participant|:observer]");
  }
  s.host = parts[0];
  if (!parse_port(parts[1], s.quorum_port)) return sdk::Status::error("bad quorum port '" + parts[1] + "'");
  if (!parse_port(parts[2], s.election_port)) {
    return sdk::Status::error("bad election port '" + parts[2] + "'");
  }
  if (parts.size() == 4) {
    if (parts[3] == "observer") s.participant = false;
    else if (parts[3] == "participant") s.participant = true;
    else return sdk::Status::error("unknown peer type '" + parts[3] + "' (participant or observer)");
  }
  if (!client.empty()) {
    auto cparts = split_host_parts(client);
    uint16_t port = 0;
    if (cparts.size() == 1 && parse_port(cparts[0], port)) {
      s.client_port = port;
    } else if (cparts.size() == 2 && parse_port(cparts[1], port)) {
      s.client_host = cparts[0];
      s.client_port = port;
    } else {
      return sdk::Status::error("bad client address '" + client + "' (expected [host:]port)");
    }
  }
  return s;
}

sdk::Result<std::optional<QuorumConfig>> load_quorum_config(const config::ConfigFile& file,
                                                           const config::ServerConfig& cfg) {
  QuorumConfig q;
  q.tick_time_ms = cfg.tick_time_ms;
  for (const auto& e : file.entries()) {
    if (e.key.rfind("server.", 0) != 0) continue;
    if (file.find(e.key) != &e) continue;  // a later line with the same key wins
    ServerId id = std::stoll(e.key.substr(7));  // the config check made sure N is an integer
    auto s = parse_server_line(id, e.value);
    if (!s) {
      return sdk::Status::error(file.path() + ":" + std::to_string(e.line) + ": " + e.key + ": " +
                                s.status().message() + ", found '" + e.value + "'");
    }
    q.servers[id] = s.value();
  }
  if (q.servers.empty()) return std::optional<QuorumConfig>{};
  size_t participants = q.voters().size();
  bool standalone_enabled = true;
  if (auto it = cfg.values.find("standaloneEnabled"); it != cfg.values.end()) {
    std::string v = it->second;
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    standalone_enabled = v != "false";
  }
  if (participants <= 1 && standalone_enabled && q.servers.size() == 1) {
    return std::optional<QuorumConfig>{};
  }
  if (participants == 0) {
    return sdk::Status::error(file.path() + ": server.N: the ensemble has no participant");
  }
  auto limit = [&](const char* key, int32_t& out) -> sdk::Status {
    auto it = cfg.values.find(key);
    if (it == cfg.values.end()) {
      return sdk::Status::error(file.path() + ": " + key + ": required in an ensemble, missing");
    }
    out = std::atoi(it->second.c_str());
    if (out <= 0) {
      const config::Entry* e = file.find(key);
      return sdk::Status::error(file.path() + ":" + std::to_string(e ? e->line : 0) + ": " + key +
                                ": a positive number of ticks, found '" + it->second + "'");
    }
    return {};
  };
  if (auto st = limit("initLimit", q.init_limit); !st) return st;
  if (auto st = limit("syncLimit", q.sync_limit); !st) return st;

  // myid: the first line of <dataDir>/myid, a decimal server id.
  std::string myid_path = cfg.data_dir + "/myid";
  std::ifstream in(myid_path);
  if (!in) {
    return sdk::Status::error(myid_path + ": file is missing (" + std::strerror(errno) +
                              "); an ensemble member needs its server id there");
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ServerId my_id = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), my_id);
  if (ec != std::errc() || p != line.data() + line.size()) {
    return sdk::Status::error(myid_path + ": expected a server id (a decimal number), found '" +
                              line + "'");
  }
  if (!q.servers.count(my_id)) {
    return sdk::Status::error(myid_path + ": server id " + std::to_string(my_id) +
                              " has no server." + std::to_string(my_id) + " line in " + file.path());
  }
  q.my_id = my_id;
  if (auto it = cfg.values.find("paddock.election"); it != cfg.values.end()) q.election_plugin = it->second;
  // sslQuorum=true puts the quorum and election ports on TLS, unless a transport is named.
  if (auto it = cfg.values.find("sslQuorum"); it != cfg.values.end()) {
    std::string v = it->second;
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    if (v == "true") q.quorum_transport = "tls";
  }
  if (auto it = cfg.values.find("paddock.quorumTransport"); it != cfg.values.end()) {
    q.quorum_transport = it->second;
  }
  return std::optional<QuorumConfig>(std::move(q));
}

}  // namespace paddock::quorum
