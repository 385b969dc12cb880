// Text the CLI prints, in zkCli's (ZooKeeper 3.8) formats: Stat blocks, ACL lines, watch
// events, the prompt's connection state, and error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zk_types.hpp"

namespace paddock::cli {

// StatPrinter: "cZxid = 0x..." ... "numChildren = N", one line each, each ending in '\n'.
std::string stat_text(const NodeStat& stat);

// getAcl: per entry "'scheme,'id" then ": perms", each line ending in '\n'.
std::string acl_text(const std::vector<AclEntry>& acl);

// WatchedEvent.toString(): "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x".
std::string event_text(const WatchEvent& event);

// ZooKeeper.States names: CONNECTING, CONNECTED, CLOSED, ...
std::string_view state_name(SessionState state);

// KeeperException.getCodeMessage(): "NoNode", "Directory not empty", ...
std::string code_message(int code);

// What zkCli prints for a failed request (CliWrapperException): "Node does not exist: /x",
// "Node already exists: /x", "version No is not valid : /x", ..., else
// "KeeperErrorCode = <code message> for /x" ("KeeperErrorCode = <...>" when `path` is empty).
std::string error_message(int code, std::string_view path);

// java.util.Date.toString() of milliseconds since the epoch, in local time:
// "Thu Jan 01 00:00:00 UTC 1970".
std::string java_date(int64_t millis);

}  // namespace paddock::cli
