// ZooKeeper's path rules (PathUtils.validatePath) and path helpers.
#pragma once

#include <string>
#include <string_view>

namespace paddock::tree {

// True if `path` is a valid znode path: starts with '/', no trailing '/' (except "/"), no
// empty, "." or ".." segment, no NUL, no control or reserved code points.
bool is_valid_path(std::string_view path);

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "".
std::string_view parent_of(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view basename_of(std::string_view path);

// Nodes that can never be deleted: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config".
bool is_special_path(std::string_view path);

constexpr std::string_view kZookeeperPath = "/zookeeper";
constexpr std::string_view kQuotaPath = "/zookeeper/quota";
constexpr std::string_view kConfigPath = "/zookeeper/config";

}  // namespace paddock::tree
