// paddock-cli's pure pieces against zkCli's (ZooKeeper 3.8) behaviour.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "acl_text.hpp"
#include "command_line.hpp"
#include "printer.hpp"
#include "znode_path.hpp"

namespace paddock::cli {
namespace {

using Words = std::vector<std::string>;

TEST(SplitWords, WhiteSpaceAndQuotes) {
  EXPECT_EQ(split_words("ls  -R\t/a "), (Words{"ls", "-R", "/a"}));
  EXPECT_EQ(split_words("set /x \"hello world\""), (Words{"set", "/x", "hello world"}));
  EXPECT_EQ(split_words("set /x 'a  b'"), (Words{"set", "/x", "a  b"}));
  EXPECT_EQ(split_words("set /x \"\""), (Words{"set", "/x", ""}));
  EXPECT_TRUE(split_words("   ").empty());
}

TEST(SplitWords, QuotesInsideWordsAndUnpairedQuotes) {
  // zkCli's pattern: a word that does not start with a quote runs to the next space.
  EXPECT_EQ(split_words("a\"b c\""), (Words{"a\"b", "c\""}));
  // A quoted word ends at its closing quote.
  EXPECT_EQ(split_words("\"abc\"def"), (Words{"abc", "def"}));
  // A quote without a partner is skipped.
  EXPECT_EQ(split_words("set /x \"abc"), (Words{"set", "/x", "abc"}));
}

TEST(ParseArgs, FlagsValuesAnywhere) {
  std::string err;
  auto a = parse_args({"ls", "-s", "/x", "-w"}, "swR", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->args, (Words{"ls", "/x"}));
  EXPECT_TRUE(a->has('s'));
  EXPECT_TRUE(a->has('w'));
  EXPECT_FALSE(a->has('R'));

  a = parse_args({"ls", "-sR", "/x"}, "swR", &err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->has('s') && a->has('R'));

  a = parse_args({"set", "-v", "3", "/x", "d"}, "sv:", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value('v'), "3");
  EXPECT_EQ(a->args, (Words{"set", "/x", "d"}));

  a = parse_args({"set", "-v-1", "/x", "d"}, "sv:", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value('v'), "-1");
  a = parse_args({"set", "-v", "-1", "/x", "d"}, "sv:", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value('v'), "-1");

  a = parse_args({"deleteall", "/x", "-b", "5"}, "b:", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value('b'), "5");
  EXPECT_EQ(a->args, (Words{"deleteall", "/x"}));

  a = parse_args({"set", "--", "/x", "-q"}, "sv:", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->args, (Words{"set", "/x", "-q"}));
}

TEST(ParseArgs, CommonsCliMessages) {
  std::string err;
  EXPECT_FALSE(parse_args({"get", "-q", "/x"}, "sw", &err));
  EXPECT_EQ(err, "Unrecognized option: -q");
  EXPECT_FALSE(parse_args({"delete", "/x", "-v"}, "v:", &err));
  EXPECT_EQ(err, "Missing argument for option: v");
  EXPECT_FALSE(parse_args({"set", "-v", "-s", "/x"}, "sv:", &err));
  EXPECT_EQ(err, "Missing argument for option: v");
}

TEST(AclText, ParsesAsZkCli) {
  std::vector<std::string> warnings;
  auto acl = parse_acl("world:anyone:cdrwa,digest:u:hash=:rw,ip:10.0.0.0/8:r", &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(acl.size(), 3u);
  EXPECT_EQ(acl[0].scheme, "world");
  EXPECT_EQ(acl[0].id, "anyone");
  EXPECT_EQ(acl[0].perms, perms::kAll);
  EXPECT_EQ(acl[1].scheme, "digest");
  EXPECT_EQ(acl[1].id, "u:hash=");
  EXPECT_EQ(acl[1].perms, perms::kRead | perms::kWrite);
  EXPECT_EQ(acl[2].id, "10.0.0.0/8");
  EXPECT_EQ(acl[2].perms, perms::kRead);
}

TEST(AclText, BadEntriesWarnedAndSkipped) {
  std::vector<std::string> warnings;
  auto acl = parse_acl("bogus,world:anyone:rq,", &warnings);
  ASSERT_EQ(acl.size(), 1u);
  EXPECT_EQ(acl[0].perms, perms::kRead);
  EXPECT_EQ(warnings, (Words{"bogus does not have the form scheme:id:perm", "Unknown perm type: q"}));
}

TEST(AclText, PermString) {
  EXPECT_EQ(perm_string(perms::kAll), "cdrwa");
  EXPECT_EQ(perm_string(perms::kRead | perms::kAdmin), "ra");
  EXPECT_EQ(perm_string(0), "");
}

TEST(ZnodePath, JavaClientChecks) {
  EXPECT_FALSE(path_problem("/"));
  EXPECT_FALSE(path_problem("/a/b.c/..d"));
  EXPECT_EQ(path_problem(""), "Path length must be > 0");
  EXPECT_EQ(path_problem("a"), "Path must start with / character");
  EXPECT_EQ(path_problem("/a/"), "Path must not end with / character");
  EXPECT_EQ(path_problem("/a//b"), "Invalid path string \"/a//b\" caused by empty node name specified @3");
  EXPECT_EQ(path_problem("/a/./b"), "Invalid path string \"/a/./b\" caused by relative paths not allowed @3");
  EXPECT_EQ(path_problem("/a/../b"), "Invalid path string \"/a/../b\" caused by relative paths not allowed @4");
  EXPECT_EQ(path_problem("/a\x01"), "Invalid path string \"/a\x01\" caused by invalid character @2");
  EXPECT_EQ(path_problem("/a\xff"), "Invalid path string \"/a\xff\" caused by invalid character @2");
  EXPECT_FALSE(path_problem("/caf\xc3\xa9"));
  // A sequential create is checked with the counter the server appends.
  EXPECT_FALSE(path_problem("/a/", true));
  EXPECT_EQ(child_path("/", "a"), "/a");
  EXPECT_EQ(child_path("/a", "b"), "/a/b");
}

TEST(Printer, ErrorMessages) {
  EXPECT_EQ(error_message(-101, "/x"), "Node does not exist: /x");
  EXPECT_EQ(error_message(-110, "/x"), "Node already exists: /x");
  EXPECT_EQ(error_message(-103, "/x"), "version No is not valid : /x");
  EXPECT_EQ(error_message(-111, "/x"), "Node not empty: /x");
  EXPECT_EQ(error_message(-102, "/x"), "Insufficient permission : /x");
  EXPECT_EQ(error_message(-6, "/x"), "KeeperErrorCode = Unimplemented for /x");
  EXPECT_EQ(error_message(-115, ""), "KeeperErrorCode = AuthFailed");
  EXPECT_EQ(error_message(-4, "/x"), "KeeperErrorCode = ConnectionLoss for /x");
}

TEST(Printer, StatAclEvent) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
  NodeStat st;
  st.czxid = 0x100000002;
  st.ephemeral_owner = -1;
  st.data_length = 5;
  std::string text = stat_text(st);
  EXPECT_EQ(text.substr(0, text.find('\n')), "cZxid = 0x100000002");
  EXPECT_NE(text.find("\nephemeralOwner = 0xffffffffffffffff\n"), std::string::npos);
  EXPECT_NE(text.find("\ndataLength = 5\nnumChildren = 0\n"), std::string::npos);

  EXPECT_EQ(acl_text({{perms::kAll, "world", "anyone"}, {perms::kRead, "x", "a,b"}}),
            "'world,'anyone\n: cdrwa\n'x,'a%2Cb\n: r\n");

  EXPECT_EQ(event_text({KeeperState::kSyncConnected, EventType::kNodeDataChanged, "/x"}),
            "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x");
  EXPECT_EQ(event_text({KeeperState::kDisconnected, EventType::kNone, std::nullopt}),
            "WatchedEvent state:Disconnected type:None path:null");
  EXPECT_EQ(state_name(SessionState::kConnected), "CONNECTED");
}

}  // namespace
}  // namespace paddock::cli
