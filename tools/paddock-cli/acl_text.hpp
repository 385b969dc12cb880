// ACLs as zkCli writes them: "scheme:id:perms[,scheme:id:perms...]" with perms from "cdrwa".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zk_types.hpp"

namespace paddock::cli {

// Parses an ACL list as zkCli's AclParser does: each entry is split at its first and last
// colon (so "digest:user:hash:rw" has the id "user:hash" and "ip:10.0.0.0/8:r" the id
// "10.0.0.0/8"). An entry without two colons is skipped and an unknown permission letter
// ignored, each with one line appended to `warnings`, exactly as zkCli reports them.
std::vector<AclEntry> parse_acl(std::string_view text, std::vector<std::string>* warnings);

// "cdrwa" order, as ZKUtil.getPermString.
std::string perm_string(int32_t perms);

}  // namespace paddock::cli
