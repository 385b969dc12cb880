#include "acl/access.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <optional>

namespace paddock::acl {
namespace {

// Java's Integer.parseInt: an optional sign, then decimal digits, within 32 bits.
std::optional<int64_t> java_parse_int(std::string_view s) {
  size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
    if (v > 2147483648LL) return std::nullopt;
  }
  if (negative) v = -v;
  if (v > 2147483647LL || v < -2147483648LL) return std::nullopt;
  return v;
}

// IPAuthenticationProvider.v4addr2Bytes: four '.'-separated decimal parts 0..255.
bool parse_v4(std::string_view text, std::array<uint8_t, 4>& out) {
  size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    size_t dot = text.find('.', start);
    if (part < 3 && dot == std::string_view::npos) return false;
    if (part == 3) {
      if (dot != std::string_view::npos) return false;
      dot = text.size();
    }
    auto v = java_parse_int(text.substr(start, dot - start));
    if (!v || *v < 0 || *v > 255) return false;
    out[part] = static_cast<uint8_t>(*v);
    start = dot + 1;
  }
  return true;
}

// Splits "addr[/bits]" as ZooKeeper does (split("/", 2)); false if malformed.
bool parse_pattern(std::string_view pattern, std::array<uint8_t, 4>& addr, int& bits) {
  size_t slash = pattern.find('/');
  if (!parse_v4(pattern.substr(0, slash), addr)) return false;
  bits = 32;
  if (slash != std::string_view::npos) {
    auto v = java_parse_int(pattern.substr(slash + 1));
    if (!v || *v < 0 || *v > 32) return false;
    bits = static_cast<int>(*v);
  }
  return true;
}

// Java's String.split(":") length (trailing empty strings dropped).
size_t java_split_count(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(s.substr(start));
      break;
    }
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
  // An input with no separator is one part, even when empty.
  if (parts.size() == 1) return 1;
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts.size();
}

bool is_world_anyone(const sdk::Id& id) { return id.scheme == "world" && id.id == "anyone"; }

// Java's String.hashCode over the UTF-16 units; ids here are ASCII, so bytes stand in for them.
uint32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  for (unsigned char ch : s) h = 31 * h + ch;
  return h;
}

// Where a ConcurrentHashMap of `table` bins keeps an Id (jute's Id.hashCode, then the map's
// spread of the high bits).
uint32_t java_set_bin(const sdk::Id& id, uint32_t table) {
  uint32_t h = 17;
  h = 37 * h + java_string_hash(id.scheme);
  h = 37 * h + java_string_hash(id.id);
  return ((h ^ (h >> 16)) & 0x7fffffffU) & (table - 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ip and digest

bool ip_matches(std::string_view address, std::string_view pattern) {
  std::array<uint8_t, 4> want{}, have{};
  int bits = 0;
  if (!parse_pattern(pattern, want, bits)) return false;
  if (!parse_v4(address, have)) return false;
  for (int bit = 0; bit < bits; ++bit) {
    int byte = bit / 8, shift = 7 - bit % 8;
    if (((want[byte] >> shift) & 1) != ((have[byte] >> shift) & 1)) return false;
  }
  return true;
}

bool is_valid_ip_pattern(std::string_view pattern) {
  std::array<uint8_t, 4> addr{};
  int bits = 0;
  return parse_pattern(pattern, addr, bits);
}

std::string digest_id(std::string_view user_password) {
  unsigned char hash[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(user_password.data()), user_password.size(), hash);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, hash, SHA_DIGEST_LENGTH);
  size_t colon = user_password.find(':');
  std::string user(user_password.substr(0, colon));
  return user + ":" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

Ids in_java_set_order(Ids ids) {
  // ConcurrentHashMap starts with 16 bins and doubles once 3/4 of them are used.
  uint32_t table = 16;
  while (ids.size() >= table - table / 4) table *= 2;
  std::stable_sort(ids.begin(), ids.end(), [table](const sdk::Id& a, const sdk::Id& b) {
    return java_set_bin(a, table) < java_set_bin(b, table);
  });
  return ids;
}

// ---------------------------------------------------------------------------------------
// AuthRegistry

sdk::Status AuthRegistry::add(sdk::AuthProvider* provider, const std::string& name) {
  std::string scheme;
  try {
    scheme = provider->scheme();
  } catch (const std::exception& e) {
    return sdk::Status::error("auth plugin '" + name + "': scheme() threw: " + e.what());
  }
  if (scheme.empty()) return sdk::Status::error("auth plugin '" + name + "' names no scheme");
  for (std::string_view builtin : {"world", "auth", "ip", "digest", "super"}) {
    if (scheme == builtin) {
      return sdk::Status::error("auth plugin '" + name + "': scheme '" + scheme +
                                "' is built into the server");
    }
  }
  if (this->provider(scheme) != nullptr) {
    return sdk::Status::error("auth plugin '" + name + "': scheme '" + scheme +
                              "' is already provided");
  }
  providers_.emplace_back(scheme, provider);
  provider_names_.push_back(name);
  return sdk::Status::ok();
}

std::vector<std::string> AuthRegistry::schemes() const {
  std::vector<std::string> out{"ip"};
  if (settings_.digest_enabled) out.emplace_back("digest");
  for (const auto& [scheme, p] : providers_) out.push_back(scheme);
  return out;
}

sdk::AuthProvider* AuthRegistry::provider(std::string_view scheme) const {
  for (const auto& [s, p] : providers_) {
    if (s == scheme) return p;
  }
  return nullptr;
}

bool AuthRegistry::id_matches(const sdk::Id& acl_id, const sdk::Id& caller) const {
  if (acl_id.scheme != caller.scheme) return false;
  if (acl_id.scheme == "ip") return ip_matches(caller.id, acl_id.id);
  if (acl_id.scheme == "digest") return settings_.digest_enabled && acl_id.id == caller.id;
  sdk::AuthProvider* p = provider(acl_id.scheme);
  if (p == nullptr) return false;
  try {
    return p->matches(caller.id, acl_id.id);
  } catch (const std::exception& e) {
    spdlog::error("auth plugin for scheme '{}': matches() threw: {}", acl_id.scheme, e.what());
    return false;
  }
}

bool AuthRegistry::is_valid_id(const sdk::Id& id) const {
  if (id.scheme == "digest") return settings_.digest_enabled && java_split_count(id.id, ':') == 2;
  if (id.scheme == "ip") return is_valid_ip_pattern(id.id);
  sdk::AuthProvider* p = provider(id.scheme);
  if (p == nullptr) return false;
  try {
    return p->is_valid_id(id.id);
  } catch (const std::exception& e) {
    spdlog::error("auth plugin for scheme '{}': is_valid_id() threw: {}", id.scheme, e.what());
    return false;
  }
}

bool AuthRegistry::is_authenticated_scheme(std::string_view scheme) const {
  // ip is a provider but not an "authenticated" one; super has no provider at all.
  if (scheme == "digest") return settings_.digest_enabled;
  sdk::AuthProvider* p = provider(scheme);
  if (p == nullptr) return false;
  try {
    return p->is_authenticated();
  } catch (const std::exception& e) {
    spdlog::error("auth plugin for scheme '{}': is_authenticated() threw: {}", scheme, e.what());
    return false;
  }
}

bool AuthRegistry::allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids) const {
  if (settings_.skip_acl || acl.empty()) return true;
  for (const auto& id : ids) {
    if (id.scheme == "super") return true;
  }
  for (const auto& a : acl) {
    if ((a.perms & perm) == 0) continue;
    if (is_world_anyone(a.id)) return true;
    for (const auto& id : ids) {
      if (id_matches(a.id, id)) return true;
    }
  }
  return false;
}

sdk::ErrorCode AuthRegistry::fixup(std::vector<sdk::Acl>& acl, const Ids& ids) const {
  // Duplicates go first, keeping the first occurrence.
  std::vector<sdk::Acl> unique;
  for (const auto& a : acl) {
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  }
  if (unique.empty()) return sdk::ErrorCode::kInvalidAcl;
  std::vector<sdk::Acl> out;
  for (const auto& a : unique) {
    if (is_world_anyone(a.id)) {
      out.push_back(a);
    } else if (a.id.scheme == "auth") {
      bool expanded = false;
      for (const auto& id : in_java_set_order(ids)) {
        if (is_authenticated_scheme(id.scheme)) {
          out.push_back({a.perms, id});
          expanded = true;
        }
      }
      if (!expanded) return sdk::ErrorCode::kInvalidAcl;
    } else {
      if (!is_valid_id(a.id)) return sdk::ErrorCode::kInvalidAcl;
      out.push_back(a);
    }
  }
  acl = std::move(out);
  return sdk::ErrorCode::kOk;
}

void AuthRegistry::add_id(Ids& ids, sdk::Id id) const {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
}

sdk::ErrorCode AuthRegistry::authenticate(std::string_view scheme, std::string_view credentials,
                                          const sdk::AuthConnection& connection, Ids& ids) const {
  if (scheme == "digest" && settings_.digest_enabled) {
    std::string id = digest_id(credentials);
    if (!settings_.super_digest.empty() && id == settings_.super_digest) add_id(ids, {"super", ""});
    add_id(ids, {"digest", std::move(id)});
    return sdk::ErrorCode::kOk;
  }
  if (scheme == "ip") {
    // IPAuthenticationProvider: the connection's own address, whatever the credentials.
    std::string_view addr = connection.remote_address;
    size_t colon = addr.rfind(':');
    add_id(ids, {"ip", std::string(addr.substr(0, colon))});
    return sdk::ErrorCode::kOk;
  }
  sdk::AuthProvider* p = provider(scheme);
  if (p == nullptr) return sdk::ErrorCode::kAuthFailed;
  try {
    auto identity = p->authenticate(connection, credentials);
    if (!identity) return sdk::ErrorCode::kAuthFailed;
    if (scheme == "x509" && !settings_.x509_super_user.empty() &&
        identity.value() == settings_.x509_super_user) {
      add_id(ids, {"super", identity.value()});
    }
    add_id(ids, {std::string(scheme), std::move(identity.value())});
    return sdk::ErrorCode::kOk;
  } catch (const std::exception& e) {
    spdlog::error("auth plugin for scheme '{}': authenticate() threw: {}", scheme, e.what());
    return sdk::ErrorCode::kAuthFailed;
  }
}

Ids AuthRegistry::connection_ids(const sdk::AuthConnection& connection, std::string_view ip) const {
  Ids ids{{"ip", std::string(ip)}};
  for (const auto& [scheme, p] : providers_) {
    std::optional<std::string> identity;
    try {
      identity = p->connection_identity(connection);
    } catch (const std::exception& e) {
      spdlog::error("auth plugin for scheme '{}': connection_identity() threw: {}", scheme, e.what());
    }
    if (!identity) continue;
    if (scheme == "x509" && !settings_.x509_super_user.empty() &&
        *identity == settings_.x509_super_user) {
      add_id(ids, {"super", *identity});
    }
    add_id(ids, {scheme, std::move(*identity)});
  }
  return ids;
}

std::string AuthRegistry::user_name(const sdk::Id& id) const {
  if (id.scheme == "digest") return id.id.substr(0, id.id.find(':'));
  if (id.scheme == "ip" || provider(id.scheme) != nullptr) return id.id;
  return "";
}

const AuthRegistry& builtin_registry() {
  static const AuthRegistry registry;
  return registry;
}

bool allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids) {
  return builtin_registry().allowed(acl, perm, ids);
}

sdk::ErrorCode fixup(std::vector<sdk::Acl>& acl, const Ids& ids) {
  return builtin_registry().fixup(acl, ids);
}

}  // namespace paddock::acl
