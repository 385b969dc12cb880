#include <gtest/gtest.h>

#include "tree/path.hpp"

using paddock::tree::basename_of;
using paddock::tree::is_special_path;
using paddock::tree::is_valid_path;
using paddock::tree::parent_of;

TEST(Path, AcceptsZooKeeperValidPaths) {
  for (const char* p : {"/", "/a", "/a/b", "/a.b", "/..a", "/a..", "/zookeeper/quota", "/é"}) {
    EXPECT_TRUE(is_valid_path(p)) << p;
  }
}

TEST(Path, RejectsWhatPathUtilsRejects) {
  const std::string nul("/a\0b", 4);
  for (const std::string& p :
       {std::string(""), std::string("a"), std::string("/a/"), std::string("//"), std::string("/a//b"),
        std::string("/."), std::string("/a/./b"), std::string("/a/.."), nul, std::string("/a\x01"),
        std::string("/a\x7f"), std::string("/\xc2\x80"),  // U+0080
        std::string("/\xef\xbf\xb0"),                     // U+FFF0
        std::string("/\xee\x80\x80"),                     // U+E000 (private use)
        std::string("/\xf0\x9f\x98\x80")}) {              // beyond the BMP
    EXPECT_FALSE(is_valid_path(p)) << p;
  }
}

TEST(Path, ParentAndBasename) {
  EXPECT_EQ(parent_of("/a/b"), "/a");
  EXPECT_EQ(parent_of("/a"), "/");
  EXPECT_EQ(parent_of("/"), "");
  EXPECT_EQ(basename_of("/a/b"), "b");
  EXPECT_EQ(basename_of("/a"), "a");
}

TEST(Path, SpecialPaths) {
  EXPECT_TRUE(is_special_path("/"));
  EXPECT_TRUE(is_special_path("/zookeeper"));
  EXPECT_TRUE(is_special_path("/zookeeper/quota"));
  EXPECT_TRUE(is_special_path("/zookeeper/config"));
  EXPECT_FALSE(is_special_path("/zookeeper/other"));
}
