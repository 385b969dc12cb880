// paddock <config-file>: a ZooKeeper-compatible server.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "admin/server_info.hpp"
#include "config/config.hpp"
#include "log/logging.hpp"
#include "paddock/sdk/role.hpp"
#include "plugin/loader.hpp"
#include "quorum/quorum_config.hpp"
#include "server/server.hpp"

namespace {

using paddock::sdk::PluginKind;

// Values of the config visible to a plugin: the file's entries, then the plugin's defaults.
class PluginConfigView final : public paddock::sdk::PluginConfig {
 public:
  // `tls_prefix` remaps the TLS keys: the quorum transport reads ssl.X from ssl.quorum.X, as
  // ZooKeeper's quorum TLS does.
  PluginConfigView(const paddock::config::ServerConfig& cfg, const paddock::sdk::PluginDescriptor& d,
                   std::string tls_prefix = "")
      : cfg_(cfg), desc_(d), tls_prefix_(std::move(tls_prefix)) {}
  std::optional<std::string_view> get(std::string_view key) const override {
    if (!tls_prefix_.empty() && key.starts_with("ssl.")) {
      std::string remapped = tls_prefix_ + std::string(key.substr(4));
      if (auto it = cfg_.values.find(remapped); it != cfg_.values.end()) return it->second;
      return default_of(key);
    }
    if (auto it = cfg_.values.find(key); it != cfg_.values.end()) return it->second;
    return default_of(key);
  }

 private:
  std::optional<std::string_view> default_of(std::string_view key) const {
    for (uint32_t i = 0; i < desc_.config_key_count; ++i) {
      const auto& k = desc_.config_keys[i];
      if (key == k.name && k.default_value) return std::string_view(k.default_value);
    }
    return std::nullopt;
  }

  const paddock::config::ServerConfig& cfg_;
  const paddock::sdk::PluginDescriptor& desc_;
  std::string tls_prefix_;
};

paddock::sdk::InsertionPoint insertion_point(const std::string& name) {
  if (name == "afterPrep") return paddock::sdk::InsertionPoint::kAfterPrep;
  if (name == "afterCommit") return paddock::sdk::InsertionPoint::kAfterCommit;
  if (name == "afterFinal") return paddock::sdk::InsertionPoint::kAfterFinal;
  return paddock::sdk::InsertionPoint::kBeforePrep;  // the config check allows only these four
}

int fail(const std::string& message) {
  std::fprintf(stderr, "paddock: %s\n", message.c_str());
  return 2;
}

void usage() {
  std::printf("usage: paddock <config-file>\n"
              "  Starts a ZooKeeper-compatible server from a zoo.cfg-style file.\n"
              "  --version   print the version and exit\n");
}

template <typename T>
paddock::sdk::Status configure(paddock::plugin::Loaded<T>& p, const paddock::config::ServerConfig& cfg,
                               std::vector<std::unique_ptr<PluginConfigView>>& views,
                               std::vector<std::unique_ptr<paddock::log::PluginHost>>& hosts,
                               std::string tls_prefix = "") {
  views.push_back(std::make_unique<PluginConfigView>(cfg, p.descriptor(), std::move(tls_prefix)));
  hosts.push_back(std::make_unique<paddock::log::PluginHost>(p.descriptor().name));
  auto st = p->configure(*views.back(), *hosts.back());
  if (!st) {
    return paddock::sdk::Status::error("plugin " + p.file() + ": configuration failed: " + st.message());
  }
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    usage();
    return 2;
  }
  std::string arg = argv[1];
  if (arg == "--version") {
    std::printf("paddock %s (Zookeeper version: %s)\n", PADDOCK_VERSION,
                paddock::admin::full_version().c_str());
    return 0;
  }
  if (arg == "--help" || arg == "-h") {
    usage();
    return 0;
  }

  // Signals are taken by sigwait on this thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto file = paddock::config::ConfigFile::parse(arg);
  if (!file) return fail(file.status().message());
  auto choice = paddock::config::plugin_choice(file.value());
  if (!choice) return fail(choice.status().message());

  paddock::plugin::Loader loader(choice->plugin_dir.empty() ? paddock::plugin::default_plugin_dir()
                                                            : choice->plugin_dir);
  auto storage_lib = loader.inspect(PluginKind::kStorage, choice->storage);
  if (!storage_lib) return fail(storage_lib.status().message());
  auto transport_lib = loader.inspect(PluginKind::kTransport, choice->client_transport);
  if (!transport_lib) return fail(transport_lib.status().message());
  std::optional<paddock::plugin::Inspected> secure_lib;
  if (!choice->secure_transport.empty()) {
    auto lib = loader.inspect(PluginKind::kTransport, choice->secure_transport);
    if (!lib) return fail(lib.status().message());
    secure_lib = std::move(lib.value());
  }

  // paddock.processors: "point:name" items, inserted in config order.
  struct ProcessorChoice {
    paddock::sdk::InsertionPoint point;
    std::string name;
    paddock::plugin::Inspected lib;
  };
  std::vector<ProcessorChoice> processor_libs;
  for (const auto& item : choice->processors) {
    auto colon = item.find(':');
    std::string point = item.substr(0, colon), name = item.substr(colon + 1);
    auto lib = loader.inspect(PluginKind::kProcessor, name);
    if (!lib) return fail(lib.status().message());
    processor_libs.push_back({insertion_point(point), name, std::move(lib.value())});
  }

  // A config with server.N lines describes an ensemble: its election plugin and quorum
  // transport are loaded too (dropped again if it turns out to be a single standalone server).
  std::optional<paddock::plugin::Inspected> election_lib, quorum_transport_lib, role_lib;
  bool ensemble = false;
  bool observers = false;
  for (const auto& e : file->entries()) {
    bool server_line = e.key.rfind("server.", 0) == 0;
    ensemble = ensemble || server_line;
    // Observers: ":observer" on a server.N line, or peerType=observer.
    if (server_line && e.value.find(":observer") != std::string::npos) observers = true;
    if (e.key == "peerType" && e.value == "observer") observers = true;
  }
  if (ensemble) {
    const auto* el_name = file->find("paddock.election");
    auto el = loader.inspect(PluginKind::kElection, el_name ? el_name->value : "fle");
    if (!el) return fail(el.status().message());
    election_lib = std::move(el.value());
    // sslQuorum=true means the tls transport for the quorum, unless one is named.
    const auto* qt_name = file->find("paddock.quorumTransport");
    const auto* ssl_quorum = file->find("sslQuorum");
    std::string qt_default = ssl_quorum && (ssl_quorum->value == "true" || ssl_quorum->value == "TRUE" ||
                                            ssl_quorum->value == "True") ? "tls" : "tcp";
    auto qt = loader.inspect(PluginKind::kTransport, qt_name ? qt_name->value : qt_default);
    if (!qt) return fail(qt.status().message());
    quorum_transport_lib = std::move(qt.value());
    if (observers) {
      // The observer role is a plugin: a configuration naming observers needs it.
      auto role = loader.inspect(PluginKind::kRole, "observer");
      if (!role) {
        return fail(file->path() + ": the configuration names observers, but their role plugin "
                    "cannot be loaded: " + role.status().message());
      }
      role_lib = std::move(role.value());
    }
  }

  std::vector<const paddock::plugin::Inspected*> libs{&storage_lib.value(), &transport_lib.value()};
  if (secure_lib && secure_lib->file != transport_lib->file) libs.push_back(&*secure_lib);
  if (election_lib) libs.push_back(&*election_lib);
  if (role_lib) libs.push_back(&*role_lib);
  if (quorum_transport_lib && quorum_transport_lib->file != transport_lib->file) {
    libs.push_back(&*quorum_transport_lib);
  }
  for (const auto& p : processor_libs) libs.push_back(&p.lib);
  // authProvider.<n>: auth plugins (ZooKeeper class names mapped to plugin names).
  std::vector<paddock::plugin::Inspected> auth_libs;
  for (const auto& name : choice->auth_providers) {
    auto lib = loader.inspect(PluginKind::kAuth, name);
    if (!lib) return fail(lib.status().message());
    auth_libs.push_back(std::move(lib.value()));
  }
  for (const auto& l : auth_libs) libs.push_back(&l);
  std::vector<paddock::sdk::ConfigKeyDecl> plugin_keys;
  for (const auto* lib : libs) {
    for (uint32_t i = 0; i < lib->descriptor->config_key_count; ++i) {
      plugin_keys.push_back(lib->descriptor->config_keys[i]);
    }
  }
  auto cfg = paddock::config::load(file.value(), plugin_keys);
  if (!cfg) return fail(cfg.status().message());

  // An ensemble member (server.N lines) also needs its election plugin and a transport for
  // the quorum and election ports.
  auto quorum = paddock::quorum::load_quorum_config(file.value(), cfg.value());
  if (!quorum) return fail(quorum.status().message());
  if (quorum.value()) {
    auto& q = *quorum.value();
    if (!cfg->client_port_set) {
      if (q.me().client_port <= 0) {
        return fail(file->path() + ": clientPort: required (or a ;clientPort part in server." +
                    std::to_string(q.my_id) + ")");
      }
      cfg->client_port = q.me().client_port;
      if (!q.me().client_host.empty()) cfg->client_port_address = q.me().client_host;
    }
  }

  if (auto st = paddock::log::init(cfg->log_level, cfg->log_file); !st) return fail(st.message());
  spdlog::info("Paddock {} (ZooKeeper {} protocol) starting with config {}", PADDOCK_VERSION,
               "3.8", cfg->config_path);
  for (const auto& w : cfg->warnings) spdlog::warn("config: {}", w);
  for (const auto& e : cfg->ignored) {
    spdlog::info("config {}:{}: key '{}' is accepted but not acted on by this server", cfg->config_path,
                 e.line, e.key);
  }

  auto storage = loader.create<paddock::sdk::Storage>(storage_lib.value());
  if (!storage) return fail(storage.status().message());
  auto transport = loader.create<paddock::sdk::Transport>(transport_lib.value());
  if (!transport) return fail(transport.status().message());
  paddock::plugin::Loaded<paddock::sdk::Transport> secure_transport;
  if (secure_lib) {
    auto t = loader.create<paddock::sdk::Transport>(*secure_lib);
    if (!t) return fail(t.status().message());
    secure_transport = std::move(t.value());
  }
  std::vector<paddock::server::ProcessorPlugin> processors;
  for (const auto& p : processor_libs) {
    auto obj = loader.create<paddock::sdk::Processor>(p.lib);
    if (!obj) return fail(obj.status().message());
    processors.push_back({p.point, p.name, std::move(obj.value())});
  }
  for (const auto* p : libs) {
    spdlog::info("plugin {} '{}' version {} from {} (ABI {})",
                 paddock::sdk::plugin_kind_name(p->descriptor->kind), p->descriptor->name,
                 p->descriptor->version, p->file, p->descriptor->abi_version);
  }

  std::vector<std::unique_ptr<PluginConfigView>> views;
  std::vector<std::unique_ptr<paddock::log::PluginHost>> hosts;
  if (auto st = configure(storage.value(), cfg.value(), views, hosts); !st) {
    spdlog::critical("{}", st.message());
    return fail(st.message());
  }
  if (auto st = configure(transport.value(), cfg.value(), views, hosts); !st) {
    spdlog::critical("{}", st.message());
    return fail(st.message());
  }
  paddock::plugin::Loaded<paddock::sdk::Election> election;
  paddock::plugin::Loaded<paddock::sdk::Transport> quorum_transport;
  paddock::plugin::Loaded<paddock::sdk::Role> role;
  if (role_lib && quorum.value()) {
    auto r = loader.create<paddock::sdk::Role>(*role_lib);
    if (!r) return fail(r.status().message());
    role = std::move(r.value());
    if (auto st = configure(role, cfg.value(), views, hosts); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
  }
  if (election_lib && quorum.value()) {
    auto e = loader.create<paddock::sdk::Election>(*election_lib);
    if (!e) return fail(e.status().message());
    election = std::move(e.value());
    auto t = loader.create<paddock::sdk::Transport>(*quorum_transport_lib);
    if (!t) return fail(t.status().message());
    quorum_transport = std::move(t.value());
    if (auto st = configure(quorum_transport, cfg.value(), views, hosts, "ssl.quorum."); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
    if (auto st = configure(election, cfg.value(), views, hosts); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
  }
  if (secure_transport) {
    if (auto st = configure(secure_transport, cfg.value(), views, hosts); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
  }
  for (auto& p : processors) {
    if (auto st = configure(p.processor, cfg.value(), views, hosts); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
  }
  std::vector<paddock::plugin::Loaded<paddock::sdk::AuthProvider>> auth_providers;
  for (const auto& l : auth_libs) {
    auto a = loader.create<paddock::sdk::AuthProvider>(l);
    if (!a) return fail(a.status().message());
    if (auto st = configure(a.value(), cfg.value(), views, hosts); !st) {
      spdlog::critical("{}", st.message());
      return fail(st.message());
    }
    auth_providers.push_back(std::move(a.value()));
  }
  paddock::sdk::StorageOptions options;
  options.data_dir = cfg->data_dir;
  options.data_log_dir = cfg->data_log_dir;
  options.pre_alloc_size_bytes = cfg->pre_alloc_size_kb * 1024;
  options.force_sync = cfg->force_sync;
  if (auto st = storage.value()->open(options); !st) {
    spdlog::critical("cannot open storage: {}", st.message());
    return fail("cannot open storage: " + st.message());
  }

  paddock::server::Plugins plugins{std::move(storage.value()), std::move(transport.value()),
                                   std::move(secure_transport), std::move(processors),
                                   std::move(election), std::move(quorum_transport), std::move(role),
                                   std::move(auth_providers)};
  auto server = std::make_unique<paddock::server::Server>(cfg.value(), quorum.value(), std::move(plugins));
  if (auto st = server->start(); !st) {
    spdlog::critical("start-up failed: {}", st.message());
    server.reset();
    return fail("start-up failed: " + st.message());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  server->stop();
  server.reset();
  spdlog::shutdown();
  return 0;
}
