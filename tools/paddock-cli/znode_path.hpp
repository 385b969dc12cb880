// znode paths: the client-side check ZooKeeper's Java client makes before sending a request
// (PathUtils.validatePath, with its messages), and joining a child name to its parent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace paddock::cli {

// None when `path` is a valid znode path, else the Java client's message, e.g.
// "Path must start with / character" or
// "Invalid path string \"/a//b\" caused by empty node name specified @3".
// A sequential create validates path + "1" (the server appends the counter).
std::optional<std::string> path_problem(std::string_view path, bool sequential = false);

std::string child_path(std::string_view parent, std::string_view name);

}  // namespace paddock::cli
