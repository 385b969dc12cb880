// The AdminServer's commands: ZooKeeper 3.8's /commands/<name> (server/admin/Commands.java),
// each answering a JSON object with ZooKeeper's field names plus "command" (the primary name)
// and "error" (null, or why the command could not run). The data is the four-letter words'
// (admin/server_info.hpp); only the format differs.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "admin/server_info.hpp"

namespace paddock::admin {

// The primary names of every command, sorted (what GET /commands lists).
std::vector<std::string> command_names();

// Runs the command called `name` (its primary name or an alias: "mntr" is "monitor") with the
// request's query parameters, and returns the JSON text. An unknown name answers
// {"command": name, "error": "Unknown command: name"}, as ZooKeeper does.
std::string run_command(const Sources& sources, std::string_view name,
                        const std::map<std::string, std::string>& params);

}  // namespace paddock::admin
