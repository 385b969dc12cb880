#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <vector>

namespace paddock::transport_tls {
namespace {

namespace ssl = boost::asio::ssl;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = trim(value.substr(start, comma - start));
    if (!item.empty()) items.emplace_back(item);
    start = comma + 1;
  }
  return items;
}

std::string value_of(const sdk::PluginConfig& config, std::string_view key) {
  auto v = config.get(key);
  return v ? std::string(trim(*v)) : std::string();
}

sdk::Status key_error(std::string_view key, const std::string& why) {
  return sdk::Status::error(std::string(key) + ": " + why);
}

// A file the key names must be readable; says which and why not, with the OS's text.
sdk::Status check_readable(std::string_view key, const std::string& path) {
  std::ifstream in(path);
  if (!in) return key_error(key, "cannot read " + path + ": " + std::strerror(errno));
  return sdk::Status::ok();
}

// ZooKeeper's store types; the tls transport reads PEM only.
sdk::Status check_store_type(const sdk::PluginConfig& config, std::string_view key) {
  const std::string type = value_of(config, key);
  if (type.empty() || lower(type) == "pem") return sdk::Status::ok();
  return key_error(key, "expected PEM (the only store type the tls transport reads), found '" +
                            type + "'");
}

std::optional<int> protocol_version(std::string_view name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return std::nullopt;
}

constexpr std::string_view kProtocolsExpected = "TLSv1.2 or TLSv1.3";

// TLS 1.3 suites have the same name in Java (IANA) and OpenSSL, and a list of their own.
bool is_tls13_suite(std::string_view name) {
  static constexpr std::string_view kSuites[] = {
      "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};
  return std::find(std::begin(kSuites), std::end(kSuites), name) != std::end(kSuites);
}

struct ProtocolRange {
  int min = TLS1_2_VERSION;
  int max = TLS1_3_VERSION;
};

sdk::Result<ProtocolRange> read_protocols(const sdk::PluginConfig& config) {
  const std::string protocol = value_of(config, "ssl.protocol");
  ProtocolRange range;
  if (!protocol.empty() && protocol != "TLS") {  // "TLS" (Java's generic name): both
    auto version = protocol_version(protocol);
    if (!version) {
      return key_error("ssl.protocol",
                       "expected " + std::string(kProtocolsExpected) + ", found '" + protocol + "'");
    }
    // As ZooKeeper 3.8: that protocol, and TLSv1.2 beside TLSv1.3.
    range.max = *version;
    range.min = TLS1_2_VERSION;
  }
  if (auto enabled = config.get("ssl.enabledProtocols"); enabled && !trim(*enabled).empty()) {
    range = ProtocolRange{TLS1_3_VERSION + 1, 0};
    for (const auto& name : split_list(*enabled)) {
      auto version = protocol_version(name);
      if (!version) {
        return key_error("ssl.enabledProtocols", "expected a list of " +
                                                     std::string(kProtocolsExpected) +
                                                     ", found '" + name + "'");
      }
      range.min = std::min(range.min, *version);
      range.max = std::max(range.max, *version);
    }
  }
  return range;
}

// ssl.ciphersuites: Java (IANA) names as ZooKeeper takes them, OpenSSL names accepted too.
// TLS 1.2 suites go to the cipher list, TLS 1.3 suites to the ciphersuites list; a protocol
// version left with no suite is disabled, as it would be in Java.
sdk::Status apply_cipher_suites(SSL_CTX* ctx, const sdk::PluginConfig& config,
                                ProtocolRange& range) {
  auto value = config.get("ssl.ciphersuites");
  if (!value || trim(*value).empty()) return sdk::Status::ok();
  std::string tls12, tls13;
  for (const auto& name : split_list(*value)) {
    if (name == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV") continue;  // a signal, not a suite
    if (is_tls13_suite(name)) {
      tls13 += (tls13.empty() ? "" : ":") + name;
      continue;
    }
    std::string openssl_name = name;
    if (const char* mapped = OPENSSL_cipher_name(name.c_str());
        mapped != nullptr && std::strcmp(mapped, "(NONE)") != 0) {
      openssl_name = mapped;
    }
    if (SSL_CTX_set_cipher_list(ctx, openssl_name.c_str()) != 1) {
      ERR_clear_error();
      return key_error("ssl.ciphersuites", "unknown cipher suite '" + name + "'");
    }
    tls12 += (tls12.empty() ? "" : ":") + openssl_name;
  }
  if (tls12.empty()) {
    range.min = std::max(range.min, TLS1_3_VERSION);
  } else if (SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
    return key_error("ssl.ciphersuites", "rejected by OpenSSL: " + openssl_error_text());
  }
  if (tls13.empty()) {
    range.max = std::min(range.max, TLS1_2_VERSION);
  } else if (SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) {
    return key_error("ssl.ciphersuites", "rejected by OpenSSL: " + openssl_error_text());
  }
  if (range.min > range.max) {
    return key_error("ssl.ciphersuites",
                     "no suite listed is usable with the enabled protocols (TLSv1.2 suites such "
                     "as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLSv1.3 suites such as "
                     "TLS_AES_128_GCM_SHA256)");
  }
  return sdk::Status::ok();
}

}  // namespace

std::string openssl_error_text() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return std::string();
  // The reason alone ("certificate verify failed"), else the whole code text.
  if (const char* reason = ERR_reason_error_string(first)) return reason;
  char buffer[256];
  ERR_error_string_n(first, buffer, sizeof buffer);
  return buffer;
}

sdk::Result<TlsSettings> load_tls_settings(const sdk::PluginConfig& config) {
  ERR_clear_error();
  TlsSettings settings;

  const std::string client_auth = lower(value_of(config, "ssl.clientAuth"));
  if (client_auth.empty() || client_auth == "need") {
    settings.client_auth = ClientAuth::kNeed;
  } else if (client_auth == "want") {
    settings.client_auth = ClientAuth::kWant;
  } else if (client_auth == "none") {
    settings.client_auth = ClientAuth::kNone;
  } else {
    return key_error("ssl.clientAuth",
                     "expected need, want or none, found '" + value_of(config, "ssl.clientAuth") + "'");
  }

  const std::string verify_host = lower(value_of(config, "ssl.hostnameVerification"));
  if (verify_host.empty() || verify_host == "true") {
    settings.hostname_verification = true;
  } else if (verify_host == "false") {
    settings.hostname_verification = false;
  } else {
    return key_error("ssl.hostnameVerification", "expected true or false, found '" +
                                                     value_of(config, "ssl.hostnameVerification") + "'");
  }

  if (auto s = check_store_type(config, "ssl.keyStore.type"); !s) return s;
  if (auto s = check_store_type(config, "ssl.trustStore.type"); !s) return s;

  auto range = read_protocols(config);
  if (!range) return range.status();

  auto context = std::make_shared<ssl::context>(ssl::context::tls);
  SSL_CTX* ctx = context->native_handle();
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char kSessionContext[] = "paddock";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  if (auto s = apply_cipher_suites(ctx, config, *range); !s) return s;
  if (SSL_CTX_set_min_proto_version(ctx, range->min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, range->max) != 1) {
    return key_error("ssl.enabledProtocols", "rejected by OpenSSL: " + openssl_error_text());
  }

  // Key store: the certificate (chain) and its private key in one PEM file, as ZooKeeper's
  // PEM key stores are. The password decrypts an encrypted key; unused otherwise.
  const std::string key_store = value_of(config, "ssl.keyStore.location");
  if (key_store.empty()) {
    return key_error("ssl.keyStore.location",
                     "required by the tls transport (a PEM file with the certificate and its "
                     "private key)");
  }
  if (auto s = check_readable("ssl.keyStore.location", key_store); !s) return s;
  const std::string password = value_of(config, "ssl.keyStore.password");
  context->set_password_callback(
      [password](std::size_t, ssl::context::password_purpose) { return password; });
  if (SSL_CTX_use_certificate_chain_file(ctx, key_store.c_str()) != 1) {
    return key_error("ssl.keyStore.location",
                     "no usable certificate in " + key_store + ": " + openssl_error_text());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_store.c_str(), SSL_FILETYPE_PEM) != 1) {
    return key_error("ssl.keyStore.location", "no usable private key in " + key_store + ": " +
                                                  openssl_error_text() +
                                                  " (an encrypted key needs ssl.keyStore.password)");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return key_error("ssl.keyStore.location", "the private key in " + key_store +
                                                  " does not match its certificate: " +
                                                  openssl_error_text());
  }

  // Trust store: the CA certificates peers' certificates must chain to; the system's CAs when
  // not set (as ZooKeeper falls back to the JVM's).
  const std::string trust_store = value_of(config, "ssl.trustStore.location");
  if (trust_store.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return key_error("ssl.trustStore.location",
                       "not set, and the system's CA certificates cannot be loaded: " +
                           openssl_error_text());
    }
  } else {
    if (auto s = check_readable("ssl.trustStore.location", trust_store); !s) return s;
    if (SSL_CTX_load_verify_locations(ctx, trust_store.c_str(), nullptr) != 1) {
      return key_error("ssl.trustStore.location", "no usable CA certificate in " + trust_store +
                                                      ": " + openssl_error_text());
    }
    // Tell clients which CAs we accept (helps clients holding several certificates).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(trust_store.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    ERR_clear_error();
  }

  settings.context = std::move(context);
  return settings;
}

}  // namespace paddock::transport_tls
