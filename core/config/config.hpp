// The server's configuration: zoo.cfg syntax and ZooKeeper's key names, plus Paddock's own
// keys (plugin selection and directory, logging, I/O threads). Every key is declared once in
// config.cpp's table (name, type, default, one-line description); parsing validates against it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/status.hpp"

namespace paddock::config {

// One `key=value` line of the file, as written (value trimmed).
struct Entry {
  std::string key;
  std::string value;
  int line = 0;
};

// How the server treats a key it knows.
enum class KeyUse {
  kActedOn,   // Paddock implements it
  kIgnored,   // a ZooKeeper key Paddock accepts but does not act on yet (logged once)
};

struct KeyDecl {
  std::string_view name;
  std::string_view type;           // "int", "long", "bool", "yesno", "double", "string", "path",
                                   // "list", "addr"
  std::string_view default_value;  // "" if none
  std::string_view description;
  KeyUse use = KeyUse::kActedOn;
  bool is_prefix = false;          // the name is a family prefix ("ssl.", "server.")
  // ZooKeeper reads the key as the Java system property "zookeeper.<name>" (its config parser
  // turns keys it does not know into such properties), so "zookeeper.<name>" is accepted as
  // another spelling of the same key.
  bool zookeeper_alias = false;
};

// The core's key table (ZooKeeper's keys and Paddock's), in declaration order.
const std::vector<KeyDecl>& core_keys();

// A parsed zoo.cfg. Later lines win over earlier ones with the same key, as in ZooKeeper.
class ConfigFile {
 public:
  // Reads and tokenises `path` (Java properties syntax: `key=value`, `key: value` or
  // `key value`; `#` and `!` comments; blank lines; a line ending in an odd number of
  // backslashes continues on the next; `\t`, `\uXXXX` ... escapes; keys and values trimmed).
  // Errors: one line naming the file.
  static sdk::Result<ConfigFile> parse(const std::string& path);
  // Same, from text (for tests); `path` is only used in messages.
  static sdk::Result<ConfigFile> parse_text(const std::string& path, std::string_view text);

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view key) const;  // the last entry with this key

 private:
  std::string path_;
  std::vector<Entry> entries_;
};

// The values the core acts on, validated. Times in milliseconds.
struct ServerConfig {
  std::string config_path;

  // ---- ZooKeeper keys ----
  int32_t tick_time_ms = 3000;
  std::string data_dir;
  std::string data_log_dir;            // = data_dir when absent
  std::string client_port_address;     // "" = all addresses
  int32_t client_port = 2181;
  bool client_port_set = false;           // clientPort was in the file (ensembles may give it in server.N)
  int32_t secure_client_port = -1;        // -1 = no TLS client port
  std::string secure_client_port_address;  // = client_port_address unless set
  int32_t max_client_cnxns = 60;
  int32_t min_session_timeout_ms = 0;  // resolved: 2 x tickTime unless configured
  int32_t max_session_timeout_ms = 0;  // resolved: 20 x tickTime unless configured
  std::set<std::string> four_letter_words{"srvr"};  // resolved whitelist ("*" expands)
  int32_t jute_max_buffer = 0xfffff;
  int32_t snap_count = 100000;
  int64_t snap_size_limit_kb = 4194304;
  int32_t autopurge_snap_retain_count = 3;
  int32_t autopurge_purge_interval_hours = 0;
  int64_t pre_alloc_size_kb = 65536;
  bool force_sync = true;
  int32_t global_outstanding_limit = 1000;
  int32_t max_batch_size = 1000;
  bool digest_enabled = true;
  // zookeeper.testingonly.initialZxid: where a new leader's zxid counter starts (-1: at 0).
  int64_t initial_zxid_counter = -1;
  // AdminServer (admin.*): HTTP commands and /metrics.
  bool admin_enable_server = true;
  std::string admin_server_address = "0.0.0.0";
  int32_t admin_server_port = 8080;
  std::string admin_command_url = "/commands";
  int32_t admin_idle_timeout_ms = 30000;
  // A separate /metrics endpoint, as ZooKeeper's PrometheusMetricsProvider serves it
  // (metricsProvider.className naming that provider); port -1 = none.
  std::string metrics_provider_host = "0.0.0.0";
  int32_t metrics_provider_port = -1;

  // ---- ACLs, node types, limits ----
  // Auth plugins named by authProvider.<n> (ZooKeeper class names mapped to plugin names;
  // the built-in digest and ip providers are not listed).
  std::vector<std::string> auth_providers;
  std::string super_digest;          // DigestAuthenticationProvider.superDigest
  std::string x509_super_user;       // X509AuthenticationProvider.superUser
  bool digest_auth_enabled = true;   // DigestAuthenticationProvider.enabled
  bool skip_acl = false;             // skipACL=yes
  bool extended_types_enabled = false;  // extendedTypesEnabled: TTL nodes
  bool enforce_quota = false;           // enforceQuota: hard quotas reject writes
  int32_t container_check_interval_ms = 60000;  // znode.container.checkIntervalMs
  int32_t container_max_per_minute = 10000;     // znode.container.maxPerMinute
  int64_t container_max_never_used_ms = 0;      // znode.container.maxNeverUsedIntervalMs
  bool read_only_mode = false;          // readonlymode.enabled

  // ---- Paddock keys ----
  std::string plugin_dir;              // "" = <dir of the binary>/../lib/paddock/plugins
  std::string storage = "file";        // storage plugin name
  std::string client_transport = "tcp";
  std::string secure_transport;        // "" unless secureClientPort is set (then "tls")
  std::string log_level = "info";
  std::string log_file;                // "" = standard error
  int32_t io_threads = 0;              // 0 = automatic
  std::vector<std::string> processors;  // "point:name" entries, in order

  // Keys accepted but not acted on, with their lines (logged once at start-up).
  std::vector<Entry> ignored;
  // Values adjusted the way ZooKeeper adjusts them (snapCount below 2, ...) and whitelist
  // words that name no command: one line each, for the caller to log once at start-up.
  std::vector<std::string> warnings;
  // Every entry of the file (for plugins reading their own keys).
  std::map<std::string, std::string, std::less<>> values;
};

// Validates core keys (types, ranges, required dataDir) and fills a ServerConfig. Keys that
// are neither core keys nor in `plugin_keys` fail. A failure is one line:
// "<file>:<line>: <key>: <what was expected>, found '<value>'" (or without ":<line>" for a
// missing key).
sdk::Result<ServerConfig> load(const ConfigFile& file,
                               const std::vector<sdk::ConfigKeyDecl>& plugin_keys = {});

// The auth plugin an authProvider.<n> value names: ZooKeeper's class names map to plugin names
// (org.apache.zookeeper.server.auth.X509AuthenticationProvider -> "x509"), a bare plugin name
// is taken as it is; "" for the providers built into the server (digest, ip) and for SASL,
// which Paddock does not offer.
std::string auth_plugin_for(std::string_view value);

// The plugin names a config selects, before plugins are loaded (so their keys can be known).
struct PluginChoice {
  std::string plugin_dir;
  std::string storage;
  std::string client_transport;
  std::string secure_transport;  // "" when no secureClientPort is configured
  std::vector<std::string> processors;
  std::vector<std::string> auth_providers;  // from authProvider.<n>, in key order
};
sdk::Result<PluginChoice> plugin_choice(const ConfigFile& file);

}  // namespace paddock::config
