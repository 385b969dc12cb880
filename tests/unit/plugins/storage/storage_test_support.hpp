// Helpers shared by the storage test suites (the contract suite run against every storage
// plugin, and each plugin's own suite): loading a storage plugin from the build tree through
// Boost.DLL exactly as the core does, txn entries, a recording snapshot sink, and a fixture
// with a fresh dataDir.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/storage.hpp"

namespace paddock::storage_test {

namespace fs = std::filesystem;
namespace sdk = paddock::sdk;
namespace jute = paddock::sdk::jute;
using sdk::Zxid;

// ---------------------------------------------------------------------------------------------
// Loading a plugin

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

inline std::string plugin_path(const std::string& name) {
  return env_or("PADDOCK_BUILD_DIR", ".") + "/lib/paddock/plugins/paddock-storage-" + name + ".so";
}

// Loaded once per name and never unloaded while the test runs: objects it made must not
// outlive it.
inline boost::dll::shared_library& plugin_library(const std::string& name) {
  static std::map<std::string, std::unique_ptr<boost::dll::shared_library>> libs;
  auto& lib = libs[name];
  if (!lib) {
    lib = std::make_unique<boost::dll::shared_library>(
        plugin_path(name), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  }
  return *lib;
}

class NoConfig : public sdk::PluginConfig {
 public:
  std::optional<std::string_view> get(std::string_view) const override { return std::nullopt; }
};

class RecordingHost : public sdk::Host {
 public:
  void log(sdk::LogLevel, std::string_view message) override { lines.emplace_back(message); }
  bool logged(std::string_view part) const {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(part) != std::string::npos; });
  }
  std::vector<std::string> lines;
};

inline std::unique_ptr<sdk::Storage> create_storage(const std::string& name) {
  auto& create = plugin_library(name).get_alias<sdk::Plugin*()>("paddock_plugin_create");
  std::unique_ptr<sdk::Plugin> plugin(create());
  auto* storage = dynamic_cast<sdk::Storage*>(plugin.get());
  if (storage == nullptr) return nullptr;
  plugin.release();
  return std::unique_ptr<sdk::Storage>(storage);
}

// ---------------------------------------------------------------------------------------------
// Bytes and files

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---------------------------------------------------------------------------------------------
// Transactions (spec/jute.md §7)

constexpr sdk::SessionId kSession = 0x1000001a2b3c4d5LL;

// A setData txn whose payload identifies its zxid and a tag.
inline std::string set_data_txn(Zxid zxid, const std::string& tag = "v1", size_t data_size = 16) {
  std::string out;
  jute::Writer w(out);
  jute::write_txn_header(w, jute::TxnHeader{kSession, static_cast<int32_t>(zxid), zxid,
                                            1700000000000LL + zxid, 5});
  std::string data = tag + ":" + std::to_string(zxid);
  data.resize(std::max(data.size(), data_size), '.');
  w.write_string("/node");
  w.write_buffer(data);
  w.write_int(static_cast<int32_t>(zxid));
  return out;
}

inline std::string create_session_txn(Zxid zxid, sdk::SessionId session, int32_t timeout) {
  std::string out;
  jute::Writer w(out);
  jute::write_txn_header(w, jute::TxnHeader{session, 0, zxid, 1700000000000LL, -10});
  w.write_int(timeout);
  return out;
}

inline std::string create_txn(Zxid zxid, sdk::SessionId session, const std::string& path,
                              const std::string& data, int32_t parent_cversion) {
  std::string out;
  jute::Writer w(out);
  jute::write_txn_header(w, jute::TxnHeader{session, 1, zxid, 1700000000001LL, 1});
  w.write_string(path);
  w.write_buffer(data);
  jute::write_acl_list(w, {sdk::Acl{sdk::perms::kAll, {"world", "anyone"}}});
  w.write_bool(false);
  w.write_int(parent_cversion);
  return out;
}

using Entries = std::vector<std::pair<Zxid, std::string>>;

inline Entries expected(Zxid from, Zxid to, const std::string& tag = "v1") {
  Entries out;
  for (Zxid z = from; z <= to; ++z) out.emplace_back(z, set_data_txn(z, tag));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Snapshot content

class RecordingSink : public sdk::SnapshotSink {
 public:
  struct Node {
    std::string path;
    std::string data;
    bool data_null;
    int64_t acl_ref;
    sdk::StatPersisted stat;
  };
  sdk::Status on_session(const sdk::SessionRecord& s) override {
    sessions.push_back(s);
    return {};
  }
  sdk::Status on_acl(const sdk::AclRecord& a) override {
    acls.push_back(a);
    return {};
  }
  sdk::Status on_node(const sdk::NodeRecord& n) override {
    nodes.push_back(Node{std::string(n.path), std::string(n.data), n.data_null, n.acl_ref, n.stat});
    return {};
  }
  sdk::Status on_digest(const sdk::SnapshotDigest& d) override {
    digest = d;
    return {};
  }
  std::vector<sdk::SessionRecord> sessions;
  std::vector<sdk::AclRecord> acls;
  std::vector<Node> nodes;
  std::optional<sdk::SnapshotDigest> digest;
};

inline sdk::StatPersisted stat_for(int i) {
  sdk::StatPersisted s;
  s.czxid = 0x100000000LL + i;
  s.mzxid = 0x100000010LL + i;
  s.ctime = 1700000000000LL + i;
  s.mtime = 1700000000500LL + i;
  s.version = i;
  s.cversion = 2 * i;
  s.aversion = 3 * i;
  s.ephemeral_owner = i == 5 ? kSession : 0;
  s.pzxid = 0x100000020LL + i;
  return s;
}

struct TestNode {
  std::string path;
  std::optional<std::string> data;
  int64_t acl_ref;
};

// The standard tree of a fresh ZooKeeper plus a few nodes covering null, empty and binary data.
inline std::vector<TestNode> standard_nodes() {
  return {
      {"", std::string(), -1},
      {"/zookeeper", std::string(), -1},
      {"/zookeeper/quota", std::string(), -1},
      {"/zookeeper/config", std::string(), 1},
      {"/null", std::nullopt, -1},
      {"/empty", std::string(), 2},
      {"/binary", std::string("\0\x01\xff/\n", 5), -1},
  };
}

inline std::vector<sdk::AclRecord> standard_acls() {
  return {sdk::AclRecord{1, {sdk::Acl{sdk::perms::kRead, {"world", "anyone"}}}},
          sdk::AclRecord{2,
                         {sdk::Acl{sdk::perms::kAll, {"digest", "u:hash="}},
                          sdk::Acl{sdk::perms::kRead, {"ip", "127.0.0.1"}}}}};
}

// ---------------------------------------------------------------------------------------------
// Fixture: a fresh dataDir per test and a storage of plugin `name_`.

class StorageFixture {
 protected:
  void set_up(const std::string& name) {
    name_ = name;
    std::string tmpl = "/tmp/paddock-storage-" + name + "-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    options_.data_dir = (root_ / "data").string();
    options_.data_log_dir = options_.data_dir;
    options_.pre_alloc_size_bytes = 64 * 1024;
    options_.force_sync = true;
  }

  void tear_down() {
    storage_.reset();
    if (std::getenv("PADDOCK_KEEP_TEST_DIRS") != nullptr) return;  // for debugging
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<sdk::Storage> make() { return create_storage(name_); }

  // Creates, configures and opens a storage (replacing any previous one).
  sdk::Storage& reopen() {
    storage_.reset();
    storage_ = make();
    EXPECT_NE(storage_, nullptr);
    EXPECT_TRUE(storage_->configure(config_, host_));
    sdk::Status st = storage_->open(options_);
    EXPECT_TRUE(st) << st.message();
    return *storage_;
  }

  void append_all(sdk::Storage& s, Zxid from, Zxid to, const std::string& tag = "v1") {
    for (Zxid z = from; z <= to; ++z) {
      sdk::Status st = s.append(z, set_data_txn(z, tag));
      ASSERT_TRUE(st) << st.message();
    }
  }

  Entries read_all(sdk::Storage& s, Zxid from, sdk::Status* status = nullptr) {
    Entries out;
    auto it = s.read_log(from);
    EXPECT_TRUE(it.is_ok()) << it.status().message();
    if (!it) return out;
    for (int guard = 0; guard < 200000 && (*it)->next(); ++guard) {
      out.emplace_back((*it)->zxid(), std::string((*it)->bytes()));
    }
    if (status != nullptr) {
      *status = (*it)->status();
    } else {
      EXPECT_TRUE((*it)->status()) << (*it)->status().message();
    }
    return out;
  }

  void write_snapshot(sdk::Storage& s, Zxid zxid, bool with_digest, bool fsync = false) {
    auto w = s.begin_snapshot(zxid);
    ASSERT_TRUE(w.is_ok()) << w.status().message();
    auto& writer = **w;
    ASSERT_TRUE(writer.write_sessions({{kSession, 30000}, {0x2000000000000001LL, 4000}}));
    ASSERT_TRUE(writer.write_acls(standard_acls()));
    int i = 0;
    for (const auto& n : standard_nodes()) {
      sdk::NodeRecord rec;
      rec.path = n.path;
      rec.data_null = !n.data.has_value();
      if (n.data) rec.data = *n.data;
      rec.acl_ref = n.acl_ref;
      rec.stat = stat_for(i++);
      sdk::Status st = writer.write_node(rec);
      ASSERT_TRUE(st) << st.message();
    }
    std::optional<sdk::SnapshotDigest> digest;
    if (with_digest) digest = sdk::SnapshotDigest{zxid + 3, 2, 0x1234567890abcdefLL};
    sdk::Status st = writer.finish(digest, fsync);
    ASSERT_TRUE(st) << st.message();
  }

  std::vector<std::string> snapshot_names(sdk::Storage& s) {
    std::vector<std::string> out;
    auto list = s.list_snapshots();
    EXPECT_TRUE(list.is_ok()) << list.status().message();
    if (list) {
      for (const auto& i : *list) out.push_back(i.name);
    }
    return out;
  }

  std::string name_;
  fs::path root_;
  sdk::StorageOptions options_;
  NoConfig config_;
  RecordingHost host_;
  std::unique_ptr<sdk::Storage> storage_;
};

}  // namespace paddock::storage_test
