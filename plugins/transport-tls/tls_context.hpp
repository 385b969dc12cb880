// The TLS settings of the tls transport: ZooKeeper 3.8's ssl.* keys read into one OpenSSL
// context (through Boost.Asio's ssl::context), shared by every connection of the transport.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/status.hpp"

namespace paddock::transport_tls {

enum class ClientAuth { kNeed, kWant, kNone };

struct TlsSettings {
  std::shared_ptr<boost::asio::ssl::context> context;
  ClientAuth client_auth = ClientAuth::kNeed;  // accepted connections
  bool hostname_verification = true;          // connect(): the peer's certificate names the host
};

// Reads the ssl.* keys and builds the context: key store (certificate chain and private key,
// one PEM file), trust store (CA certificates, one PEM file; the system's when not set),
// protocol versions and cipher suites. Every failure names the key and says why, with
// OpenSSL's own text.
sdk::Result<TlsSettings> load_tls_settings(const sdk::PluginConfig& config);

// The first error on OpenSSL's queue of this thread as text ("" when none); clears the queue.
std::string openssl_error_text();

}  // namespace paddock::transport_tls
