// Server logging on spdlog: level and destination from the config, and the Host object each
// plugin logs through (its lines are tagged with the plugin's name).
#pragma once

#include <string>
#include <string_view>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/status.hpp"

namespace paddock::log {

// Sends the default logger to `file` (standard error when empty) at `level`
// (trace|debug|info|warn|error).
sdk::Status init(const std::string& level, const std::string& file);

class PluginHost final : public sdk::Host {
 public:
  explicit PluginHost(std::string plugin) : plugin_(std::move(plugin)) {}
  void log(sdk::LogLevel level, std::string_view message) override;

 private:
  std::string plugin_;
};

}  // namespace paddock::log
