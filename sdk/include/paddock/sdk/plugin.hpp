// The plugin contract: what a shared object exports, how the core checks it, and the base
// every plugin object derives from.
//
// A plugin .so exports exactly two Boost.DLL aliases:
//   paddock_plugin_descriptor  a PluginDescriptor (plain data: ABI version, kind, name ...)
//   paddock_plugin_create      a PluginFactory returning a new object of the declared kind
// The loader reads the descriptor, refuses a wrong ABI version or kind in one line naming the
// file, and only then calls the factory. Use PADDOCK_PLUGIN below rather than writing the
// aliases by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "paddock/sdk/status.hpp"

#if defined(__GNUC__)
#define PADDOCK_SDK_API __attribute__((visibility("default")))
#else
#define PADDOCK_SDK_API
#endif

namespace paddock::sdk {

// Bumped on every incompatible change of any SDK interface or value type (see docs/sdk.md).
constexpr uint32_t kAbiVersion = 1;

enum class PluginKind : uint32_t {
  kElection = 1,
  kTransport = 2,
  kStorage = 3,
  kProcessor = 4,
  kRole = 5,
  kAuth = 6,
};

inline const char* plugin_kind_name(PluginKind kind) noexcept {
  switch (kind) {
    case PluginKind::kElection: return "election";
    case PluginKind::kTransport: return "transport";
    case PluginKind::kStorage: return "storage";
    case PluginKind::kProcessor: return "processor";
    case PluginKind::kRole: return "role";
    case PluginKind::kAuth: return "auth";
  }
  return "unknown";
}

// One configuration key a plugin reads. The core validates the config file against the
// union of its own keys and those of the plugins it loads.
struct ConfigKeyDecl {
  const char* name;           // as written in zoo.cfg, e.g. "storage.file.preallocate"
  const char* type;           // "string", "int", "bool", "path", "list"
  const char* default_value;  // nullptr if none
  const char* description;    // one line
};

// Plain data, read before any plugin code runs. The first two fields never move.
struct PluginDescriptor {
  uint32_t abi_version;  // kAbiVersion of the SDK the plugin was built with
  PluginKind kind;
  const char* name;      // registry name, e.g. "tcp" for plugins/transport-tcp
  const char* version;   // the plugin's own version
  const char* build;     // free text (compiler, date)
  const ConfigKeyDecl* config_keys;
  uint32_t config_key_count;
};

enum class LogLevel : int { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };

// Services the core offers every plugin. Implemented by the core; thread-safe.
class PADDOCK_SDK_API Host {
 public:
  virtual ~Host() = default;
  // Writes one line to the server log, tagged with the plugin's name.
  virtual void log(LogLevel level, std::string_view message) = 0;
};

// Read access to the parsed configuration. Implemented by the core; valid for the plugin's
// lifetime; may be called from any thread.
class PADDOCK_SDK_API PluginConfig {
 public:
  virtual ~PluginConfig() = default;
  // The value of a key as written in the config file (any key, ZooKeeper's or a plugin's),
  // or the declared default, or nullopt.
  virtual std::optional<std::string_view> get(std::string_view key) const = 0;
};

// Base of every object a plugin factory returns. The object keeps its library loaded.
class PADDOCK_SDK_API Plugin {
 public:
  virtual ~Plugin() = default;
  // Called once on the main thread right after creation, before anything else. A failing
  // Status stops start-up with the plugin's name and the message.
  virtual Status configure(const PluginConfig& config, Host& host) = 0;
};

using PluginFactory = Plugin* (*)();

}  // namespace paddock::sdk

#include <boost/dll/alias.hpp>  // NOLINT: only what the macro below needs

// Declares the plugin of this shared object. KIND is a PluginKind enumerator name
// (kStorage ...), NAME and VERSION string literals, KEYS an array of ConfigKeyDecl (or
// nullptr with COUNT 0), CLASS the concrete type (default-constructible).
#define PADDOCK_PLUGIN(KIND, NAME, VERSION, KEYS, COUNT, CLASS)                         \
  namespace {                                                                             \
  const ::paddock::sdk::PluginDescriptor paddock_descriptor_instance{                     \
      ::paddock::sdk::kAbiVersion, ::paddock::sdk::PluginKind::KIND, NAME, VERSION,       \
      "built " __DATE__ " " __TIME__, KEYS, COUNT};                                       \
  ::paddock::sdk::Plugin* paddock_create_instance() {                                     \
    try {                                                                                 \
      return new CLASS();                                                                 \
    } catch (...) {                                                                       \
      return nullptr;                                                                     \
    }                                                                                     \
  }                                                                                       \
  }                                                                                       \
  BOOST_DLL_ALIAS(paddock_descriptor_instance, paddock_plugin_descriptor)                 \
  BOOST_DLL_ALIAS(paddock_create_instance, paddock_plugin_create)
