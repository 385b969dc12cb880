#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/transport.hpp"
#include "plugin/loader.hpp"

namespace fs = std::filesystem;
using paddock::plugin::Loader;
using paddock::sdk::PluginKind;

namespace {

const std::string kBadAbi = std::string(TEST_PLUGIN_DIR) + "/test_plugin_bad_abi.so";
const std::string kWrongKind = std::string(TEST_PLUGIN_DIR) + "/test_plugin_wrong_kind.so";

struct RunResult {
  int exit_code;
  std::string output;
};

// Runs the server binary with a config and returns its exit code and standard error.
RunResult run_server(const std::string& config) {
  std::string cmd = std::string("timeout 20 ") + PADDOCK_BINARY + " " + config + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class PluginDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("paddock-plugin-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "plugins");
    fs::copy_file(std::string(PADDOCK_PLUGIN_DIR) + "/paddock-storage-file.so",
                  dir_ / "plugins" / "paddock-storage-file.so");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write_config() {
    std::string path = (dir_ / "zoo.cfg").string();
    std::ofstream(path) << "tickTime=2000\ndataDir=" << (dir_ / "data").string()
                        << "\nclientPort=0\nclientPortAddress=127.0.0.1\npaddock.pluginDir="
                        << (dir_ / "plugins").string() << "\n";
    return path;
  }
  fs::path dir_;
};

}  // namespace

TEST(PluginLoader, RefusesAnotherAbiVersionInOneLine) {
  Loader loader(TEST_PLUGIN_DIR);
  auto r = loader.inspect_file(PluginKind::kTransport, kBadAbi);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "plugin " + kBadAbi + ": SDK ABI version mismatch: expected " +
                std::to_string(paddock::sdk::kAbiVersion) + ", found " +
                std::to_string(paddock::sdk::kAbiVersion + 998));
}

TEST(PluginLoader, RefusesTheWrongKindInOneLine) {
  Loader loader(TEST_PLUGIN_DIR);
  auto r = loader.inspect_file(PluginKind::kTransport, kWrongKind);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "plugin " + kWrongKind + ": wrong kind: expected transport, found storage");
}

TEST(PluginLoader, UnknownNameListsTheKnownOnes) {
  Loader loader(PADDOCK_PLUGIN_DIR);
  auto r = loader.inspect(PluginKind::kStorage, "sqllite");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("unknown storage plugin 'sqllite'"), std::string::npos);
  EXPECT_NE(r.status().message().find("known: file"), std::string::npos);
}

TEST(PluginLoader, NotASharedObjectSaysWhy) {
  std::string path = fs::temp_directory_path() / "paddock-not-a-plugin.so";
  std::ofstream(path) << "not an ELF file";
  Loader loader(fs::temp_directory_path());
  auto r = loader.inspect_file(PluginKind::kStorage, path);
  fs::remove(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message().rfind("cannot load plugin " + path + ": ", 0), 0u)
      << r.status().message();
}

TEST(PluginLoader, LoadsAndCreatesTheShippedPlugins) {
  Loader loader(PADDOCK_PLUGIN_DIR);
  auto lib = loader.inspect(PluginKind::kTransport, "tcp");
  ASSERT_TRUE(lib.is_ok()) << lib.status().message();
  EXPECT_STREQ(lib->descriptor->name, "tcp");
  auto obj = loader.create<paddock::sdk::Transport>(lib.value());
  ASSERT_TRUE(obj.is_ok()) << obj.status().message();
  EXPECT_NE(obj->get(), nullptr);
}

TEST_F(PluginDirTest, ServerStopsOnAWrongAbiPluginNamingTheFile) {
  fs::copy_file(kBadAbi, dir_ / "plugins" / "paddock-transport-tcp.so");
  RunResult r = run_server(write_config());
  EXPECT_EQ(r.exit_code, 2);
  std::string file = (dir_ / "plugins" / "paddock-transport-tcp.so").string();
  EXPECT_NE(r.output.find("plugin " + file + ": SDK ABI version mismatch: expected 1, found 999"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(PluginDirTest, ServerStopsOnAWrongKindPluginNamingTheFile) {
  fs::copy_file(kWrongKind, dir_ / "plugins" / "paddock-transport-tcp.so");
  RunResult r = run_server(write_config());
  EXPECT_EQ(r.exit_code, 2);
  std::string file = (dir_ / "plugins" / "paddock-transport-tcp.so").string();
  EXPECT_NE(r.output.find("plugin " + file + ": wrong kind: expected transport, found storage"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}
