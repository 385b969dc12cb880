// auth-x509: the `x509` ACL scheme, as ZooKeeper's X509AuthenticationProvider. A client that
// connects over TLS with a certificate is, for ACLs, the certificate's subject in RFC 2253
// form ("CN=app1,OU=Payments,O=Example"), which the tls transport reads during the handshake.
// An ACL id of this scheme names one subject and matches that subject exactly (ZooKeeper
// compares the principal names as strings too).
//
// Nothing here has state: every method is safe to call from any thread at any time.
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "paddock/sdk/auth.hpp"
#include "paddock/sdk/plugin.hpp"

#ifndef PADDOCK_VERSION
#define PADDOCK_VERSION "0.0.0"
#endif

namespace paddock::auth_x509 {
namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Whether `dn` reads as a distinguished name in RFC 2253 (or RFC 1779) syntax: attribute
// type=value pairs, separated by ',' ';' or '+', with values plain (special characters escaped
// by '\' or given as two hex digits), quoted, or '#'-hex. ZooKeeper accepts what Java's
// X500Principal parses; this is that grammar, without Java's list of keywords.
bool well_formed_dn(std::string_view dn) {
  size_t i = 0;
  const size_t n = dn.size();
  auto skip_spaces = [&] {
    while (i < n && dn[i] == ' ') ++i;
  };
  for (;;) {
    skip_spaces();
    // Attribute type: a keyword ("CN", "OU", "emailAddress") or an OID ("2.5.4.3").
    if (i < n && is_alpha(dn[i])) {
      while (i < n && (is_alpha(dn[i]) || is_digit(dn[i]) || dn[i] == '-')) ++i;
    } else if (i < n && is_digit(dn[i])) {
      while (i < n && (is_digit(dn[i]) || dn[i] == '.')) ++i;
      if (dn[i - 1] == '.') return false;
    } else {
      return false;
    }
    skip_spaces();
    if (i >= n || dn[i] != '=') return false;
    ++i;
    skip_spaces();
    // Attribute value.
    if (i < n && dn[i] == '#') {
      const size_t start = ++i;
      while (i < n && is_hex(dn[i])) ++i;
      if (i == start || (i - start) % 2 != 0) return false;
    } else if (i < n && dn[i] == '"') {
      ++i;
      while (i < n && dn[i] != '"') {
        if (dn[i] == '\\') ++i;
        ++i;
      }
      if (i >= n) return false;  // unterminated
      ++i;
    } else {
      while (i < n && dn[i] != ',' && dn[i] != ';' && dn[i] != '+') {
        if (dn[i] == '\\') {
          if (i + 1 >= n) return false;
          if (is_hex(dn[i + 1]) && i + 2 < n && is_hex(dn[i + 2])) {
            i += 3;
          } else {
            i += 2;
          }
          continue;
        }
        if (dn[i] == '"' || dn[i] == '<' || dn[i] == '>' || dn[i] == '=') return false;
        ++i;
      }
    }
    skip_spaces();
    if (i == n) return true;
    if (dn[i] != ',' && dn[i] != ';' && dn[i] != '+') return false;
    ++i;  // another attribute must follow
  }
}

class X509Auth final : public sdk::AuthProvider {
 public:
  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }

  std::string scheme() const override { return "x509"; }

  // `addauth x509 <anything>`: the credentials are ignored; the identity is the certificate's,
  // as in ZooKeeper, whose provider re-reads the connection's certificate. Without a
  // certificate there is no x509 identity to give: AUTHFAILED.
  sdk::Result<std::string> authenticate(const sdk::AuthConnection& connection,
                                        std::string_view) override {
    if (connection.certificate_subject.empty()) {
      return sdk::Status(sdk::ErrorCode::kAuthFailed,
                         "x509: the connection has no TLS client certificate");
    }
    return std::string(connection.certificate_subject);
  }

  std::optional<std::string> connection_identity(const sdk::AuthConnection& connection) override {
    if (connection.certificate_subject.empty()) return std::nullopt;
    return std::string(connection.certificate_subject);
  }

  bool is_valid_id(std::string_view id) override { return !id.empty() && well_formed_dn(id); }

  bool matches(std::string_view identity, std::string_view acl_id) override {
    return !identity.empty() && identity == acl_id;
  }

  bool is_authenticated() override { return true; }
};

}  // namespace
}  // namespace paddock::auth_x509

PADDOCK_PLUGIN(kAuth, "x509", PADDOCK_VERSION, nullptr, 0, paddock::auth_x509::X509Auth)
