#include "acl/access.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace paddock::acl {
namespace {

// Parses an IPv4 or IPv6 literal into network-order bytes; false if it is neither.
bool parse_address(std::string_view text, std::array<uint8_t, 16>& out, int& bits) {
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    bits = 32;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    bits = 128;
    return true;
  }
  return false;
}

bool split_pattern(std::string_view pattern, std::array<uint8_t, 16>& addr, int& addr_bits,
                   int& prefix) {
  size_t slash = pattern.find('/');
  if (!parse_address(pattern.substr(0, slash), addr, addr_bits)) return false;
  prefix = addr_bits;
  if (slash != std::string_view::npos) {
    std::string_view p = pattern.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > addr_bits) {
      return false;
    }
  }
  return true;
}

bool id_matches(const sdk::Id& acl_id, const sdk::Id& caller) {
  if (acl_id.scheme != caller.scheme) return false;
  if (acl_id.scheme == "ip") return ip_matches(caller.id, acl_id.id);
  return acl_id.id == caller.id;
}

bool is_authenticated_scheme(std::string_view scheme) {
  // ip is a provider but not an "authenticated" one: `auth` never expands to it.
  return scheme == "digest" || scheme == "x509" || scheme == "sasl";
}

bool is_valid_id(const sdk::Id& id) {
  if (id.scheme == "digest") {
    // user:base64-hash — exactly one colon separating two parts.
    size_t colon = id.id.find(':');
    return colon != std::string::npos && id.id.find(':', colon + 1) == std::string::npos;
  }
  if (id.scheme == "ip") return is_valid_ip_pattern(id.id);
  if (id.scheme == "x509" || id.scheme == "sasl") return true;
  return false;
}

}  // namespace

bool ip_matches(std::string_view address, std::string_view pattern) {
  std::array<uint8_t, 16> want{}, have{};
  int want_bits = 0, have_bits = 0, prefix = 0;
  if (!split_pattern(pattern, want, want_bits, prefix)) return false;
  if (!parse_address(address, have, have_bits) || have_bits != want_bits) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    int byte = bit / 8, shift = 7 - bit % 8;
    if (((want[byte] >> shift) & 1) != ((have[byte] >> shift) & 1)) return false;
  }
  return true;
}

bool is_valid_ip_pattern(std::string_view pattern) {
  std::array<uint8_t, 16> addr{};
  int bits = 0, prefix = 0;
  return split_pattern(pattern, addr, bits, prefix);
}

bool allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids) {
  if (acl.empty()) return true;
  for (const auto& id : ids) {
    if (id.scheme == "super") return true;
  }
  for (const auto& a : acl) {
    if ((a.perms & perm) == 0) continue;
    if (a.id.scheme == "world" && a.id.id == "anyone") return true;
    for (const auto& id : ids) {
      if (id_matches(a.id, id)) return true;
    }
  }
  return false;
}

sdk::ErrorCode fixup(std::vector<sdk::Acl>& acl, const Ids& ids) {
  // Duplicates go first, keeping the first occurrence.
  std::vector<sdk::Acl> unique;
  for (const auto& a : acl) {
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  }
  if (unique.empty()) return sdk::ErrorCode::kInvalidAcl;
  std::vector<sdk::Acl> out;
  for (const auto& a : unique) {
    if (a.id.scheme == "world" && a.id.id == "anyone") {
      out.push_back(a);
    } else if (a.id.scheme == "auth") {
      bool expanded = false;
      for (const auto& id : ids) {
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

std::string digest_id(std::string_view user_password) {
  unsigned char hash[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(user_password.data()), user_password.size(), hash);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, hash, SHA_DIGEST_LENGTH);
  size_t colon = user_password.find(':');
  std::string user(user_password.substr(0, colon));
  return user + ":" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

}  // namespace paddock::acl
