// auth-x509, driven through its shared object exactly as the core loads it.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include "paddock/sdk/auth.hpp"
#include "paddock/sdk/plugin.hpp"

namespace sdk = paddock::sdk;

namespace {

const boost::dll::shared_library& plugin_library() {
  static const boost::dll::shared_library* library = [] {
    const char* build_dir = std::getenv("PADDOCK_BUILD_DIR");
    if (build_dir == nullptr) throw std::runtime_error("PADDOCK_BUILD_DIR is not set");
    const auto path = std::filesystem::path(build_dir) / "lib" / "paddock" / "plugins" /
                      "paddock-auth-x509.so";
    return new boost::dll::shared_library(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  }();
  return *library;
}

const sdk::PluginDescriptor& descriptor() {
  return plugin_library().get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
}

class NullHost : public sdk::Host {
 public:
  void log(sdk::LogLevel, std::string_view) override {}
};

class NoConfig : public sdk::PluginConfig {
 public:
  std::optional<std::string_view> get(std::string_view) const override { return std::nullopt; }
};

std::unique_ptr<sdk::AuthProvider> make_provider() {
  auto& create = plugin_library().get_alias<sdk::Plugin*()>("paddock_plugin_create");
  std::unique_ptr<sdk::Plugin> plugin(create());
  if (!plugin) return nullptr;
  NullHost host;
  NoConfig config;
  EXPECT_TRUE(plugin->configure(config, host).is_ok());
  return std::unique_ptr<sdk::AuthProvider>(static_cast<sdk::AuthProvider*>(plugin.release()));
}

constexpr std::string_view kSubject = "CN=client-1,OU=Payments,O=Example\\, Inc.,C=DE";

}  // namespace

TEST(AuthX509Plugin, DescriptorDeclaresTheX509AuthProvider) {
  const auto& d = descriptor();
  EXPECT_EQ(d.abi_version, sdk::kAbiVersion);
  EXPECT_EQ(d.kind, sdk::PluginKind::kAuth);
  EXPECT_STREQ(d.name, "x509");
  EXPECT_EQ(d.config_key_count, 0u);
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->scheme(), "x509");
  EXPECT_TRUE(provider->is_authenticated());
}

TEST(AuthX509Plugin, TheCertificateSubjectIsTheConnectionsIdentity) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  const auto identity =
      provider->connection_identity(sdk::AuthConnection{"127.0.0.1:50000", kSubject});
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(*identity, kSubject);
  EXPECT_FALSE(provider->connection_identity(sdk::AuthConnection{"127.0.0.1:50000", ""}));
}

TEST(AuthX509Plugin, MatchesIsExactEquality) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  EXPECT_TRUE(provider->matches(kSubject, kSubject));
  EXPECT_FALSE(provider->matches("CN=client-1", kSubject));
  EXPECT_FALSE(provider->matches(kSubject, "CN=client-1"));
  EXPECT_FALSE(provider->matches("CN=client-1,O=Example", "cn=client-1,o=example"));
  EXPECT_FALSE(provider->matches("CN=a", "CN=a,O=b"));
  EXPECT_FALSE(provider->matches("", ""));
}

TEST(AuthX509Plugin, ValidIdsAreNonEmptyDistinguishedNames) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  EXPECT_TRUE(provider->is_valid_id(kSubject));
  EXPECT_TRUE(provider->is_valid_id("CN=client"));
  EXPECT_TRUE(provider->is_valid_id("CN=a+UID=7,O=\"Quoted, Ltd\",2.5.4.11=#0403616263"));
  EXPECT_TRUE(provider->is_valid_id("CN=caf\xc3\xa9,O=Example"));
  EXPECT_FALSE(provider->is_valid_id(""));
  EXPECT_FALSE(provider->is_valid_id("client"));
  EXPECT_FALSE(provider->is_valid_id("CN=a,"));
  EXPECT_FALSE(provider->is_valid_id("=a"));
  EXPECT_FALSE(provider->is_valid_id("CN=\"open"));
  EXPECT_FALSE(provider->is_valid_id("CN=a\\"));
}

TEST(AuthX509Plugin, AddauthGivesTheCertificatesIdentityOrFails) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  // Without a certificate there is no x509 identity, whatever the credentials say.
  auto without = provider->authenticate(sdk::AuthConnection{"127.0.0.1:50000", ""}, "CN=admin");
  ASSERT_FALSE(without.is_ok());
  EXPECT_EQ(without.status().code(), sdk::ErrorCode::kAuthFailed);
  // With one, the credentials are ignored: the identity is the certificate's (as ZooKeeper).
  auto with = provider->authenticate(sdk::AuthConnection{"127.0.0.1:50000", kSubject}, "CN=admin");
  ASSERT_TRUE(with.is_ok()) << with.status().message();
  EXPECT_EQ(with.value(), kSubject);
}
