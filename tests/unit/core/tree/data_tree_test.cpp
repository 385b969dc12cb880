#include <gtest/gtest.h>

#include <map>

#include "paddock/sdk/jute.hpp"
#include "tree/data_tree.hpp"
#include "txn/txn.hpp"

namespace {

using namespace paddock;
using sdk::ErrorCode;
using sdk::OpCode;
using sdk::jute::Reader;
using sdk::jute::TxnHeader;
using sdk::jute::Writer;

const std::vector<sdk::Acl> kOpen{{sdk::perms::kAll, {"world", "anyone"}}};

struct Recorder : watch::Watcher {
  std::vector<std::pair<watch::EventType, std::string>> events;
  void process(watch::EventType t, std::string_view p) override { events.emplace_back(t, std::string(p)); }
  int64_t watcher_session() const override { return 7; }
};

class TreeTest : public ::testing::Test {
 protected:
  tree::TxnResult apply(OpCode type, const std::string& body, int64_t session = 0x100) {
    TxnHeader h{session, 1, ++zxid_, 1000 + zxid_, static_cast<int32_t>(type)};
    Reader r(body);
    return tree_.process_txn(h, r);
  }
  tree::TxnResult create(const std::string& path, std::optional<std::string> data,
                         bool ephemeral = false, int32_t parent_cversion = -1) {
    std::string body;
    Writer w(body);
    txn::write_create(w, static_cast<int32_t>(OpCode::kCreate),
                      {path, std::move(data), kOpen, ephemeral, parent_cversion});
    return apply(OpCode::kCreate, body);
  }
  tree::TxnResult remove(const std::string& path) {
    std::string body;
    Writer w(body);
    txn::write_delete(w, {path});
    return apply(OpCode::kDelete, body);
  }
  sdk::Stat stat(const std::string& path) {
    tree::DataTree::ReadLock lk(tree_);
    const tree::Node* n = tree_.find(path);
    EXPECT_NE(n, nullptr) << path;
    return n ? tree::client_stat(*n) : sdk::Stat{};
  }
  tree::DataTree tree_;
  sdk::Zxid zxid_ = 0;
};

TEST_F(TreeTest, FreshTreeHasSystemNodesAndCountsRootTwice) {
  tree::DataTree::ReadLock lk(tree_);
  EXPECT_NE(tree_.find("/zookeeper"), nullptr);
  EXPECT_NE(tree_.find("/zookeeper/quota"), nullptr);
  EXPECT_NE(tree_.find("/zookeeper/config"), nullptr);
  EXPECT_EQ(tree_.node_count(), 5u);  // as ZooKeeper's srvr reports a fresh server
}

TEST_F(TreeTest, CreateSetsStatAndParentCversion) {
  auto rc = create("/a", std::string("x"));
  ASSERT_EQ(rc.err, ErrorCode::kOk);
  EXPECT_EQ(rc.stat.czxid, zxid_);
  EXPECT_EQ(rc.stat.mzxid, zxid_);
  EXPECT_EQ(rc.stat.pzxid, zxid_);
  EXPECT_EQ(rc.stat.data_length, 1);
  auto root = stat("/");
  EXPECT_EQ(root.num_children, 2);
  EXPECT_EQ(root.pzxid, zxid_);
  EXPECT_EQ(create("/a", std::nullopt).err, ErrorCode::kNodeExists);
  EXPECT_EQ(create("/missing/b", std::nullopt).err, ErrorCode::kNoNode);
}

TEST_F(TreeTest, ClientCversionCountsCreatesAndDeletes) {
  create("/p", std::nullopt);
  create("/p/a", std::nullopt);
  create("/p/b", std::nullopt);
  remove("/p/a");
  auto s = stat("/p");
  EXPECT_EQ(s.num_children, 1);
  EXPECT_EQ(s.cversion, 3);  // two creates + one delete
}

TEST_F(TreeTest, WatchesFireOnceWithZooKeepersEvents) {
  Recorder w;
  create("/w", std::nullopt);
  tree_.data_watches().add("/w", &w);
  tree_.child_watches().add("/w", &w);
  tree_.child_watches().add("/", &w);
  create("/w/c", std::nullopt);  // child watch on /w fires
  std::string body;
  Writer wr(body);
  txn::write_set_data(wr, {"/w", std::string("v"), 1});
  apply(OpCode::kSetData, body);  // data watch fires
  apply(OpCode::kSetData, body);  // nothing left to fire
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0], std::make_pair(watch::EventType::kNodeChildrenChanged, std::string("/w")));
  EXPECT_EQ(w.events[1], std::make_pair(watch::EventType::kNodeDataChanged, std::string("/w")));
}

TEST_F(TreeTest, DeleteFiresDeletedOnceAndParentChildEvent) {
  Recorder w;
  create("/d", std::nullopt);
  tree_.data_watches().add("/d", &w);
  tree_.child_watches().add("/d", &w);
  tree_.child_watches().add("/", &w);
  remove("/d");
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0], std::make_pair(watch::EventType::kNodeDeleted, std::string("/d")));
  EXPECT_EQ(w.events[1], std::make_pair(watch::EventType::kNodeChildrenChanged, std::string("/")));
}

TEST_F(TreeTest, CloseSessionRemovesEphemerals) {
  create("/e1", std::nullopt, /*ephemeral=*/true);
  create("/e2", std::nullopt, /*ephemeral=*/true);
  EXPECT_EQ(tree_.ephemerals_of(0x100).size(), 2u);
  std::string body;
  Writer w(body);
  txn::write_close_session(w, {{"/e1", "/e2"}});
  apply(OpCode::kCloseSession, body);
  tree::DataTree::ReadLock lk(tree_);
  EXPECT_EQ(tree_.find("/e1"), nullptr);
  EXPECT_EQ(tree_.find("/e2"), nullptr);
}

TEST_F(TreeTest, FailedMultiChangesNothing) {
  std::vector<txn::SubTxn> subs(2);
  subs[0].type = static_cast<int32_t>(OpCode::kCreate);
  {
    Writer w(subs[0].data);
    txn::write_create(w, subs[0].type, {"/m", std::nullopt, kOpen, false, 1});
  }
  subs[1].type = static_cast<int32_t>(OpCode::kError);
  {
    Writer w(subs[1].data);
    txn::write_error(w, {static_cast<int32_t>(ErrorCode::kNoNode)});
  }
  std::string body;
  Writer w(body);
  txn::write_multi(w, subs);
  auto rc = apply(OpCode::kMulti, body);
  ASSERT_EQ(rc.multi.size(), 2u);
  EXPECT_EQ(rc.multi[0].err, ErrorCode::kOk);
  EXPECT_EQ(rc.multi[1].err, ErrorCode::kNoNode);
  tree::DataTree::ReadLock lk(tree_);
  EXPECT_EQ(tree_.find("/m"), nullptr);
}

TEST_F(TreeTest, ReplayOfCreateOverFuzzySnapshotStillRaisesParentCversion) {
  create("/f", std::nullopt, false, 5);
  // The same create again, as a replay over a snapshot that already holds the node.
  std::string body;
  Writer w(body);
  txn::write_create(w, static_cast<int32_t>(OpCode::kCreate), {"/f", std::nullopt, kOpen, false, 9});
  TxnHeader h{0, 1, ++zxid_, 5, static_cast<int32_t>(OpCode::kCreate)};
  Reader r(body);
  EXPECT_EQ(tree_.process_txn(h, r, true).err, ErrorCode::kNodeExists);
  tree::DataTree::ReadLock lk(tree_);
  EXPECT_EQ(tree_.find("/")->stat.cversion, 9);
}

// A SnapshotWriter that keeps everything in memory, to round-trip through the Loader.
struct MemorySnapshot : sdk::SnapshotWriter {
  std::vector<sdk::AclRecord> acls;
  struct N { std::string path, data; bool null; int64_t acl; sdk::StatPersisted stat; };
  std::vector<N> nodes;
  sdk::Status write_sessions(const std::vector<sdk::SessionRecord>&) override { return {}; }
  sdk::Status write_acls(const std::vector<sdk::AclRecord>& a) override { acls = a; return {}; }
  sdk::Status write_node(const sdk::NodeRecord& n) override {
    nodes.push_back({std::string(n.path), std::string(n.data), n.data_null, n.acl_ref, n.stat});
    return {};
  }
  sdk::Status finish(const std::optional<sdk::SnapshotDigest>&, bool) override { return {}; }
};

TEST_F(TreeTest, SerializeAndLoadRoundTrip) {
  create("/s", std::string("data"));
  create("/s/n", std::nullopt);
  create("/s/e", std::string(""), /*ephemeral=*/true);
  MemorySnapshot snap;
  ASSERT_TRUE(tree_.serialize(snap).is_ok());
  ASSERT_EQ(snap.nodes.front().path, "");  // the root is written with the empty path
  tree::DataTree loaded;
  auto loader = loaded.begin_load();
  for (const auto& a : snap.acls) ASSERT_TRUE(loader->on_acl(a).is_ok());
  for (const auto& n : snap.nodes) {
    ASSERT_TRUE(loader->on_node({n.path, n.data, n.null, n.acl, n.stat}).is_ok()) << n.path;
  }
  ASSERT_TRUE(loader->finish().is_ok());
  EXPECT_EQ(loaded.node_count(), tree_.node_count());
  tree::DataTree::ReadLock a(tree_), b(loaded);
  for (const char* p : {"/", "/s", "/s/n", "/s/e", "/zookeeper/config"}) {
    ASSERT_NE(loaded.find(p), nullptr) << p;
    EXPECT_EQ(tree::client_stat(*loaded.find(p)), tree::client_stat(*tree_.find(p))) << p;
    EXPECT_EQ(loaded.find(p)->data_null, tree_.find(p)->data_null) << p;
    EXPECT_EQ(loaded.acl_of(*loaded.find(p)), tree_.acl_of(*tree_.find(p))) << p;
  }
  EXPECT_EQ(loaded.ephemerals_of(0x100).size(), 1u);
}

}  // namespace
