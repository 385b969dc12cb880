// Auth extension point: an ACL scheme (ZooKeeper's AuthenticationProvider). A provider turns
// credentials (addauth packets, a TLS client certificate) into identities of its scheme and
// decides whether an identity matches an ACL id of its scheme. Chosen by ZooKeeper's
// authProvider.<n> keys. The core has world, auth, digest, ip and super built in.
//
// Threading: every method may be called from any I/O thread or the sync thread, concurrently;
// implementations are thread-safe and must not block.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/status.hpp"

namespace paddock::sdk {

// What the core knows about the connection asking.
struct AuthConnection {
  std::string_view remote_address;       // "ip:port"
  std::string_view certificate_subject;  // TLS client certificate subject, "" if none
};

class PADDOCK_SDK_API AuthProvider : public Plugin {
 public:
  // The scheme name ACLs and addauth use ("x509").
  virtual std::string scheme() const = 0;
  // addauth <scheme> <credentials>: the identity to add to the connection, or an error
  // (the client then gets AUTHFAILED and the connection is closed).
  virtual Result<std::string> authenticate(const AuthConnection& connection,
                                           std::string_view credentials) = 0;
  // An identity the connection has without addauth (x509: its certificate's subject).
  virtual std::optional<std::string> connection_identity(const AuthConnection& connection) = 0;
  // Whether an ACL id of this scheme is well formed (create / setACL fail with INVALIDACL
  // otherwise).
  virtual bool is_valid_id(std::string_view id) = 0;
  // Whether a caller identity of this scheme matches an ACL id of this scheme.
  virtual bool matches(std::string_view identity, std::string_view acl_id) = 0;
  // Whether the `auth` ACL scheme expands to identities of this scheme.
  virtual bool is_authenticated() = 0;
};

}  // namespace paddock::sdk
