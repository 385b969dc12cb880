// ACL evaluation and normalisation as ZooKeeper does them (checkACL, fixupACL), and the
// identities a connection carries (ip:<address>, digest:<user>:<hash> after addauth).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/status.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::acl {

using Ids = std::vector<sdk::Id>;

// True if `ids` may exercise `perm` (any of its bits) on a node with `acl`. An empty ACL
// list, a `super` id, or an ACL entry for world:anyone with the bit admits everyone.
bool allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids);

// Normalises an ACL list given to create / setACL: duplicates removed, `auth` expanded to the
// caller's authenticated ids, every other id checked against its scheme. INVALIDACL when the
// list is empty, an id is malformed, a scheme is unknown, or `auth` has nothing to expand to.
sdk::ErrorCode fixup(std::vector<sdk::Acl>& acl, const Ids& ids);

// digest scheme: "user:password" -> "user:" + base64(sha1("user:password")).
std::string digest_id(std::string_view user_password);

// ip scheme: whether `address` (a client's IPv4/IPv6 address) matches `pattern`
// ("10.0.0.1" or "10.0.0.0/8").
bool ip_matches(std::string_view address, std::string_view pattern);
bool is_valid_ip_pattern(std::string_view pattern);

}  // namespace paddock::acl
