#include <gtest/gtest.h>

#include "acl/access.hpp"

using namespace paddock;
using sdk::ErrorCode;

TEST(Access, DigestIdAsZooKeeperComputesIt) {
  EXPECT_EQ(acl::digest_id("user:pass"), "user:smGaoVKd/cQkjm7b88GyorAUz20=");
}

TEST(Access, WorldAnyoneAndEmptyAclAdmitEveryone) {
  std::vector<sdk::Acl> open{{sdk::perms::kRead, {"world", "anyone"}}};
  EXPECT_TRUE(acl::allowed(open, sdk::perms::kRead, {}));
  EXPECT_FALSE(acl::allowed(open, sdk::perms::kWrite, {}));
  EXPECT_TRUE(acl::allowed({}, sdk::perms::kAdmin, {}));
}

TEST(Access, DigestIpAndSuper) {
  std::vector<sdk::Acl> acl{{sdk::perms::kAll, {"digest", "user:smGaoVKd/cQkjm7b88GyorAUz20="}},
                            {sdk::perms::kRead, {"ip", "10.1.0.0/16"}}};
  EXPECT_TRUE(acl::allowed(acl, sdk::perms::kWrite, {{"digest", "user:smGaoVKd/cQkjm7b88GyorAUz20="}}));
  EXPECT_FALSE(acl::allowed(acl, sdk::perms::kWrite, {{"ip", "10.1.2.3"}}));
  EXPECT_TRUE(acl::allowed(acl, sdk::perms::kRead, {{"ip", "10.1.2.3"}}));
  EXPECT_FALSE(acl::allowed(acl, sdk::perms::kRead, {{"ip", "10.2.2.3"}}));
  EXPECT_TRUE(acl::allowed(acl, sdk::perms::kDelete, {{"super", ""}}));
}

TEST(Access, FixupRejectsEmptyAndUnknownAndExpandsAuth) {
  std::vector<sdk::Acl> empty;
  EXPECT_EQ(acl::fixup(empty, {}), ErrorCode::kInvalidAcl);
  std::vector<sdk::Acl> bad{{sdk::perms::kAll, {"nosuch", "x"}}};
  EXPECT_EQ(acl::fixup(bad, {}), ErrorCode::kInvalidAcl);
  std::vector<sdk::Acl> world_other{{sdk::perms::kAll, {"world", "everyone"}}};
  EXPECT_EQ(acl::fixup(world_other, {}), ErrorCode::kInvalidAcl);
  std::vector<sdk::Acl> auth{{sdk::perms::kAll, {"auth", ""}}};
  EXPECT_EQ(acl::fixup(auth, {{"ip", "127.0.0.1"}}), ErrorCode::kInvalidAcl);
  EXPECT_EQ(acl::fixup(auth, {{"ip", "127.0.0.1"}, {"digest", "u:h"}}), ErrorCode::kOk);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0].id.scheme, "digest");
  std::vector<sdk::Acl> dup{{31, {"world", "anyone"}}, {31, {"world", "anyone"}}};
  EXPECT_EQ(acl::fixup(dup, {}), ErrorCode::kOk);
  EXPECT_EQ(dup.size(), 1u);
}

TEST(AuthRegistry, SuperDigestGrantsSuperAlongsideTheDigestId) {
  acl::AuthRegistry::Settings settings;
  settings.super_digest = acl::digest_id("super:secret");
  acl::AuthRegistry registry(settings);
  acl::Ids ids{{"ip", "127.0.0.1"}};
  EXPECT_EQ(registry.authenticate("digest", "super:secret", {"127.0.0.1:1", ""}, ids),
            ErrorCode::kOk);
  EXPECT_EQ(ids, (acl::Ids{{"ip", "127.0.0.1"}, {"super", ""}, {"digest", settings.super_digest}}));
  std::vector<sdk::Acl> closed{{sdk::perms::kRead, {"digest", "other:x"}}};
  EXPECT_TRUE(registry.allowed(closed, sdk::perms::kAdmin, ids));
  // the same credentials again add nothing; a wrong password is an ordinary digest id
  EXPECT_EQ(registry.authenticate("digest", "super:secret", {"127.0.0.1:1", ""}, ids),
            ErrorCode::kOk);
  EXPECT_EQ(ids.size(), 3u);
  acl::Ids other;
  registry.authenticate("digest", "super:wrong", {"127.0.0.1:1", ""}, other);
  EXPECT_EQ(other, (acl::Ids{{"digest", acl::digest_id("super:wrong")}}));
}

TEST(AuthRegistry, UnknownSchemeFailsAndSkipAclAdmitsAll) {
  acl::AuthRegistry registry;
  acl::Ids ids;
  EXPECT_EQ(registry.authenticate("x509", "", {"127.0.0.1:1", ""}, ids), ErrorCode::kAuthFailed);
  EXPECT_TRUE(ids.empty());
  std::vector<sdk::Acl> closed{{sdk::perms::kRead, {"digest", "u:h"}}};
  EXPECT_FALSE(registry.allowed(closed, sdk::perms::kRead, {}));
  acl::AuthRegistry::Settings skip;
  skip.skip_acl = true;
  EXPECT_TRUE(acl::AuthRegistry(skip).allowed(closed, sdk::perms::kRead, {}));
}

TEST(AuthRegistry, DigestDisabledMakesDigestIdsInvalidAndInert) {
  acl::AuthRegistry::Settings settings;
  settings.digest_enabled = false;
  acl::AuthRegistry registry(settings);
  std::vector<sdk::Acl> digest{{sdk::perms::kAll, {"digest", "u:h"}}};
  EXPECT_EQ(registry.fixup(digest, {}), ErrorCode::kInvalidAcl);
  EXPECT_FALSE(registry.allowed(digest, sdk::perms::kRead, {{"digest", "u:h"}}));
}

TEST(Access, IdentitiesInZooKeepersHashSetOrder) {
  // ZooKeeper 3.8 answers whoAmI for these two with digest first (a differential test saw it).
  acl::Ids ids{{"ip", "127.0.0.1"}, {"digest", "u1:fpT/y03U+EjItKZOSLGvjnJlyng="}};
  EXPECT_EQ(acl::in_java_set_order(ids),
            (acl::Ids{{"digest", "u1:fpT/y03U+EjItKZOSLGvjnJlyng="}, {"ip", "127.0.0.1"}}));
}

TEST(Access, IpPatternsAreIpv4AsZooKeeperParsesThem) {
  EXPECT_TRUE(acl::is_valid_ip_pattern("10.0.0.0/8"));
  EXPECT_TRUE(acl::is_valid_ip_pattern("10.0.0.1"));
  EXPECT_FALSE(acl::is_valid_ip_pattern("10.0.0.256"));
  EXPECT_FALSE(acl::is_valid_ip_pattern("10.0.0.0/33"));
  EXPECT_FALSE(acl::is_valid_ip_pattern("::1"));
  EXPECT_TRUE(acl::ip_matches("10.200.3.4", "10.0.0.0/8"));
  EXPECT_FALSE(acl::ip_matches("11.0.0.1", "10.0.0.0/8"));
  EXPECT_TRUE(acl::ip_matches("192.168.1.1", "0.0.0.0/0"));
}
