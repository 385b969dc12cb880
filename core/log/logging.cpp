#include "log/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace paddock::log {

sdk::Status init(const std::string& level, const std::string& file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return sdk::Status::error("unknown log level '" + level + "'");
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (file.empty()) {
      logger = spdlog::stderr_logger_mt("paddock");
    } else {
      logger = spdlog::basic_logger_mt("paddock", file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return sdk::Status::error("cannot open log file " + file + ": " + e.what());
  }
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return {};
}

void PluginHost::log(sdk::LogLevel level, std::string_view message) {
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case sdk::LogLevel::kTrace: lvl = spdlog::level::trace; break;
    case sdk::LogLevel::kDebug: lvl = spdlog::level::debug; break;
    case sdk::LogLevel::kInfo: lvl = spdlog::level::info; break;
    case sdk::LogLevel::kWarn: lvl = spdlog::level::warn; break;
    case sdk::LogLevel::kError: lvl = spdlog::level::err; break;
  }
  spdlog::log(lvl, "[{}] {}", plugin_, message);
}

}  // namespace paddock::log
