// ACL evaluation and normalisation as ZooKeeper does them (checkACL, fixupACL), and the
// identities a connection carries (ip:<address>, digest:<user>:<hash> after addauth, the
// identities of auth plugins such as x509, super).
//
// The schemes world, auth, digest and ip are built in (ZooKeeper's ProviderRegistry always has
// ip and, unless DigestAuthenticationProvider.enabled=false, digest); further schemes come from
// auth plugins (sdk/auth.hpp) named by authProvider.<n> keys and are added to an AuthRegistry.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/auth.hpp"
#include "paddock/sdk/status.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::acl {

using Ids = std::vector<sdk::Id>;

// True if some entry of `acl` grants a bit of `perm` to world:anyone: the hot path, checked
// before anything else (no identities copied, no provider consulted).
inline bool world_allows(const std::vector<sdk::Acl>& acl, int32_t perm) {
  for (const auto& a : acl) {
    if ((a.perms & perm) && a.id.scheme == "world" && a.id.id == "anyone") return true;
  }
  return false;
}

// The schemes a server knows and the settings that change how ACLs are checked. Built once at
// start-up (providers added on the main thread), then only read: every method is safe from
// any thread.
class AuthRegistry {
 public:
  struct Settings {
    // DigestAuthenticationProvider.superDigest: "super:<base64 sha1>"; a connection whose
    // digest identity equals it also gets super.
    std::string super_digest;
    // X509AuthenticationProvider.superUser: a certificate subject that gets super.
    std::string x509_super_user;
    bool digest_enabled = true;  // DigestAuthenticationProvider.enabled
    bool skip_acl = false;       // skipACL=yes: no permission is ever checked
  };

  AuthRegistry() = default;
  explicit AuthRegistry(Settings settings) : settings_(std::move(settings)) {}

  // Adds a plugin's scheme. Fails when the scheme is built in or already provided.
  // `provider` must outlive the registry; `name` is the plugin's name for messages.
  sdk::Status add(sdk::AuthProvider* provider, const std::string& name);
  std::vector<std::string> schemes() const;
  const Settings& settings() const { return settings_; }

  // ZooKeeper's checkACL: true if `ids` may exercise a bit of `perm` on a node with `acl`.
  // An empty ACL list, a `super` id, skipACL, or world:anyone with the bit admits everyone.
  bool allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids) const;

  // ZooKeeper's fixupACL for create / setACL: duplicates removed, `auth` expanded to the
  // caller's ids of authenticated schemes, every other id checked by its scheme. INVALIDACL
  // when the list is empty, an id is malformed, a scheme is unknown, or `auth` expands to
  // nothing.
  sdk::ErrorCode fixup(std::vector<sdk::Acl>& acl, const Ids& ids) const;

  // addauth <scheme> <credentials>: appends the identities gained to `ids` (no duplicates).
  // AUTHFAILED for an unknown scheme or refused credentials.
  sdk::ErrorCode authenticate(std::string_view scheme, std::string_view credentials,
                              const sdk::AuthConnection& connection, Ids& ids) const;

  // The identities a new connection has before any addauth: ip:<address>, then those of
  // providers that derive one from the connection (x509: the certificate subject).
  Ids connection_ids(const sdk::AuthConnection& connection, std::string_view ip) const;

  // The "user" whoAmI reports for an id (ZooKeeper's AuthenticationProvider.getUserName):
  // digest ids lose their hash, schemes without a provider (super) report "".
  std::string user_name(const sdk::Id& id) const;

 private:
  sdk::AuthProvider* provider(std::string_view scheme) const;
  bool id_matches(const sdk::Id& acl_id, const sdk::Id& caller) const;
  bool is_valid_id(const sdk::Id& id) const;
  bool is_authenticated_scheme(std::string_view scheme) const;
  void add_id(Ids& ids, sdk::Id id) const;

  Settings settings_;
  std::vector<std::pair<std::string, sdk::AuthProvider*>> providers_;  // scheme, provider
  std::vector<std::string> provider_names_;
};

// The built-in schemes with default settings (no plugins, no super digest).
const AuthRegistry& builtin_registry();

// Shorthands on builtin_registry() (tests, server-internal use).
bool allowed(const std::vector<sdk::Acl>& acl, int32_t perm, const Ids& ids);
sdk::ErrorCode fixup(std::vector<sdk::Acl>& acl, const Ids& ids);

// `ids` in the order ZooKeeper walks a connection's identities (a ConcurrentHashMap-backed
// set keyed by Id): whoami lists them so, and `auth` ACL entries expand in it.
Ids in_java_set_order(Ids ids);

// digest scheme: "user:password" -> "user:" + base64(sha1("user:password")).
std::string digest_id(std::string_view user_password);

// ip scheme, as ZooKeeper's IPAuthenticationProvider: IPv4 only ("10.0.0.1" or "10.0.0.0/8";
// each part a decimal 0..255, prefix 0..32). `address` is a client's address.
bool ip_matches(std::string_view address, std::string_view pattern);
bool is_valid_ip_pattern(std::string_view pattern);

}  // namespace paddock::acl
