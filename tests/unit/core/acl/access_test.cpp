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
