// The storage contract (paddock/sdk/storage.hpp), run against every storage plugin so the
// backends cannot drift: the same calls must give the same observable results. Format-specific
// tests live in each plugin's own suite (tests/unit/plugins/storage-<name>/).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "storage_test_support.hpp"

namespace paddock::storage_test {
namespace {

const char* const kBackends[] = {"file", "sqlite"};

class StorageContract : public ::testing::TestWithParam<const char*>, protected StorageFixture {
 protected:
  void SetUp() override { set_up(GetParam()); }
  void TearDown() override { tear_down(); }
};

// ---------------------------------------------------------------------------------------------
// The export

TEST_P(StorageContract, DescriptorAndFactoryLoadThroughBoostDll) {
  auto& lib = plugin_library(name_);
  ASSERT_TRUE(lib.is_loaded()) << plugin_path(name_);
  ASSERT_TRUE(lib.has("paddock_plugin_descriptor"));
  ASSERT_TRUE(lib.has("paddock_plugin_create"));
  const auto& desc = lib.get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
  EXPECT_EQ(desc.abi_version, sdk::kAbiVersion);
  EXPECT_EQ(desc.kind, sdk::PluginKind::kStorage);
  EXPECT_EQ(std::string(desc.name), name_);
  EXPECT_NE(desc.version, nullptr);
  EXPECT_NE(desc.build, nullptr);
  auto plugin = make();
  ASSERT_NE(plugin, nullptr);
}

TEST_P(StorageContract, CallsBeforeOpenFail) {
  auto s = make();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->append(1, set_data_txn(1)));
  EXPECT_FALSE(s->commit());
  EXPECT_FALSE(s->last_logged_zxid().is_ok());
  EXPECT_FALSE(s->read_log(0).is_ok());
  EXPECT_FALSE(s->list_snapshots().is_ok());
  EXPECT_FALSE(s->begin_snapshot(1).is_ok());
  EXPECT_FALSE(s->read_epoch(sdk::EpochKind::kCurrent).is_ok());
  EXPECT_FALSE(s->purge(3));
}

TEST_P(StorageContract, OpenTwiceFails) {
  auto& s = reopen();
  EXPECT_FALSE(s.open(options_));
}

TEST_P(StorageContract, FreshStorageIsEmpty) {
  options_.data_log_dir = (root_ / "logs").string();
  auto& s = reopen();
  EXPECT_TRUE(fs::is_directory(options_.data_dir));
  EXPECT_TRUE(fs::is_directory(options_.data_log_dir));
  EXPECT_EQ(s.last_logged_zxid().value(), 0);
  EXPECT_TRUE(read_all(s, 0).empty());
  EXPECT_TRUE(snapshot_names(s).empty());
  EXPECT_FALSE(s.read_epoch(sdk::EpochKind::kCurrent).value().has_value());
  EXPECT_FALSE(s.read_epoch(sdk::EpochKind::kAccepted).value().has_value());
  EXPECT_TRUE(s.commit());  // nothing to commit is fine
  EXPECT_TRUE(s.purge(3));  // nothing to purge is fine
}

TEST_P(StorageContract, OpenFailsWithTheDirectoryInTheMessage) {
  write_bytes(root_ / "file", "x");  // a regular file where a directory must be created
  options_.data_dir = (root_ / "file" / "data").string();
  options_.data_log_dir = options_.data_dir;
  auto s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  sdk::Status st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find(options_.data_dir), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Transaction log

TEST_P(StorageContract, AppendCommitReadAcrossRollAndReopen) {
  {
    auto& s = reopen();
    append_all(s, 1, 5);
    ASSERT_TRUE(s.commit());
    ASSERT_TRUE(s.roll());
    append_all(s, 6, 8);
    ASSERT_TRUE(s.roll());  // roll with uncommitted entries
    append_all(s, 9, 10);
    ASSERT_TRUE(s.commit());
    EXPECT_EQ(read_all(s, 0), expected(1, 10));
    EXPECT_EQ(s.last_logged_zxid().value(), 10);
  }
  auto& s = reopen();
  EXPECT_EQ(s.last_logged_zxid().value(), 10);
  EXPECT_EQ(read_all(s, 0), expected(1, 10));
  EXPECT_EQ(read_all(s, 7), expected(7, 10));
  EXPECT_EQ(read_all(s, 6), expected(6, 10));
  EXPECT_EQ(read_all(s, 10), expected(10, 10));
  EXPECT_TRUE(read_all(s, 11).empty());

  append_all(s, 11, 12);
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(read_all(s, 0), expected(1, 12));
  EXPECT_EQ(s.last_logged_zxid().value(), 12);
  EXPECT_EQ(read_all(reopen(), 0), expected(1, 12));
}

TEST_P(StorageContract, ZxidsAcrossEpochsKeepTheirOrder) {
  auto& s = reopen();
  const std::vector<Zxid> zxids{0x100000001LL, 0x100000002LL, 0x200000000LL + 1,
                                0x7fffffff00000001LL};
  for (Zxid z : zxids) ASSERT_TRUE(s.append(z, set_data_txn(z)));
  ASSERT_TRUE(s.commit());
  Entries want;
  for (Zxid z : zxids) want.emplace_back(z, set_data_txn(z));
  EXPECT_EQ(read_all(reopen(), 0), want);
  EXPECT_EQ(storage_->last_logged_zxid().value(), zxids.back());
  EXPECT_EQ(read_all(*storage_, 0x100000003LL).size(), 2u);
}

TEST_P(StorageContract, UncommittedAppendsCountButAreNotRead) {
  auto& s = reopen();
  append_all(s, 1, 3);
  ASSERT_TRUE(s.commit());
  append_all(s, 4, 5);
  EXPECT_EQ(s.last_logged_zxid().value(), 5);  // appended entries not yet committed included
  EXPECT_EQ(read_all(s, 0), expected(1, 3));
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(read_all(s, 0), expected(1, 5));
}

TEST_P(StorageContract, ClosingKeepsAppendedEntries) {
  {
    auto& s = reopen();
    append_all(s, 1, 4);  // never committed: written on close, like ZooKeeper's close()
  }
  storage_.reset();
  EXPECT_EQ(read_all(reopen(), 0), expected(1, 4));
}

TEST_P(StorageContract, AppendRejectsZxidsThatDoNotIncreaseAndShortEntries) {
  auto& s = reopen();
  append_all(s, 5, 6);
  sdk::Status st = s.append(6, set_data_txn(6));
  EXPECT_FALSE(st);
  EXPECT_EQ(st.code(), sdk::ErrorCode::kBadArguments);
  EXPECT_NE(st.message().find("expected a zxid above"), std::string::npos) << st.message();
  EXPECT_FALSE(s.append(4, set_data_txn(4)));
  EXPECT_FALSE(s.append(7, "short"));  // not a txn entry (no TxnHeader)
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(read_all(s, 0), expected(5, 6));
  EXPECT_FALSE(reopen().append(6, set_data_txn(6)));  // also after a restart
}

TEST_P(StorageContract, NoForceSyncStillWritesEverything) {
  options_.force_sync = false;
  {
    auto& s = reopen();
    append_all(s, 1, 50);
    ASSERT_TRUE(s.commit());
  }
  EXPECT_EQ(read_all(reopen(), 0), expected(1, 50));
}

TEST_P(StorageContract, ManySmallGroupCommits) {
  auto& s = reopen();
  for (Zxid z = 1; z <= 3000; z += 3) {
    append_all(s, z, z + 2);
    ASSERT_TRUE(s.commit());
  }
  EXPECT_EQ(read_all(s, 0), expected(1, 3000));
  EXPECT_EQ(read_all(reopen(), 2990), expected(2990, 3000));
}

TEST_P(StorageContract, LargeBatchReadsBack) {
  options_.pre_alloc_size_bytes = 1 << 20;
  auto& s = reopen();
  // ~24 MiB in one batch: more than either backend buffers before it spills.
  for (Zxid z = 1; z <= 96; ++z) {
    ASSERT_TRUE(s.append(z, set_data_txn(z, "big", 256 * 1024)));
  }
  ASSERT_TRUE(s.commit());
  for (int pass = 0; pass < 2; ++pass) {  // before and after a restart
    Entries all = read_all(pass == 0 ? s : reopen(), 0);
    ASSERT_EQ(all.size(), 96u);
    for (Zxid z = 1; z <= 96; ++z) {
      EXPECT_EQ(all[z - 1].second, set_data_txn(z, "big", 256 * 1024));
    }
  }
}

TEST_P(StorageContract, TruncateLogKeepsEntriesUpToZxid) {
  auto& s = reopen();
  append_all(s, 1, 4);
  ASSERT_TRUE(s.roll());
  append_all(s, 5, 7);
  ASSERT_TRUE(s.roll());
  append_all(s, 8, 10);
  ASSERT_TRUE(s.commit());

  ASSERT_TRUE(s.truncate_log(6));
  EXPECT_EQ(read_all(s, 0), expected(1, 6));
  EXPECT_EQ(s.last_logged_zxid().value(), 6);

  append_all(s, 7, 8, "v2");
  ASSERT_TRUE(s.commit());
  Entries want = expected(1, 6);
  for (auto& x : expected(7, 8, "v2")) want.push_back(x);
  EXPECT_EQ(read_all(reopen(), 0), want);

  auto& r = *storage_;
  ASSERT_TRUE(r.truncate_log(4));  // at a segment boundary
  EXPECT_EQ(read_all(r, 0), expected(1, 4));
  ASSERT_TRUE(r.truncate_log(100));  // beyond the end: nothing changes
  EXPECT_EQ(read_all(r, 0), expected(1, 4));
  ASSERT_TRUE(r.truncate_log(0));
  EXPECT_TRUE(read_all(r, 0).empty());
  EXPECT_EQ(r.last_logged_zxid().value(), 0);
  EXPECT_TRUE(read_all(reopen(), 0).empty());
  append_all(*storage_, 1, 2, "v3");
  ASSERT_TRUE(storage_->commit());
  EXPECT_EQ(read_all(*storage_, 0), expected(1, 2, "v3"));
}

TEST_P(StorageContract, TruncateLogDropsNewerSnapshots) {
  // A learner told to TRUNC must not restart from a snapshot holding the cut transactions.
  auto& s = reopen();
  append_all(s, 1, 9);
  ASSERT_TRUE(s.commit());
  write_snapshot(s, 3, false);
  write_snapshot(s, 8, false);
  ASSERT_TRUE(s.truncate_log(5));
  auto snaps = s.list_snapshots();
  ASSERT_TRUE(snaps.is_ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_EQ(snaps->front().zxid, 3);
  EXPECT_EQ(reopen().list_snapshots()->size(), 1u);
}

TEST_P(StorageContract, TruncateLogWithPendingAppends) {
  auto& s = reopen();
  append_all(s, 1, 5);
  ASSERT_TRUE(s.truncate_log(3));
  EXPECT_EQ(read_all(s, 0), expected(1, 3));
  EXPECT_EQ(s.last_logged_zxid().value(), 3);
  append_all(s, 4, 4, "v2");
  ASSERT_TRUE(s.commit());
  Entries want = expected(1, 3);
  want.push_back({4, set_data_txn(4, "v2")});
  EXPECT_EQ(read_all(s, 0), want);
}

// ---------------------------------------------------------------------------------------------
// Snapshots

void expect_standard_content(const RecordingSink& sink) {
  ASSERT_EQ(sink.sessions.size(), 2u);
  EXPECT_EQ(sink.sessions[0].id, kSession);
  EXPECT_EQ(sink.sessions[0].timeout_ms, 30000);
  EXPECT_EQ(sink.sessions[1].id, 0x2000000000000001LL);
  EXPECT_EQ(sink.sessions[1].timeout_ms, 4000);
  ASSERT_EQ(sink.acls.size(), 2u);
  EXPECT_EQ(sink.acls[0].ref, 1);
  EXPECT_EQ(sink.acls[0].acls, standard_acls()[0].acls);
  EXPECT_EQ(sink.acls[1].ref, 2);
  EXPECT_EQ(sink.acls[1].acls, standard_acls()[1].acls);
  auto nodes = standard_nodes();
  ASSERT_EQ(sink.nodes.size(), nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    SCOPED_TRACE(nodes[i].path);
    EXPECT_EQ(sink.nodes[i].path, nodes[i].path);
    EXPECT_EQ(sink.nodes[i].data_null, !nodes[i].data.has_value());
    EXPECT_EQ(sink.nodes[i].data, nodes[i].data.value_or(""));
    EXPECT_EQ(sink.nodes[i].acl_ref, nodes[i].acl_ref);
    EXPECT_EQ(sink.nodes[i].stat, stat_for(static_cast<int>(i)));
  }
}

TEST_P(StorageContract, SnapshotRoundTripWithDigest) {
  {
    auto& s = reopen();
    write_snapshot(s, 0x100000005LL, true, true);
  }
  auto& s = reopen();  // durable across a restart
  auto list = s.list_snapshots();
  ASSERT_TRUE(list.is_ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "snapshot.100000005");
  EXPECT_EQ((*list)[0].zxid, 0x100000005LL);
  EXPECT_GT((*list)[0].size_bytes, 0u);

  RecordingSink sink;
  sdk::Status st = s.load_snapshot((*list)[0], sink);
  ASSERT_TRUE(st) << st.message();
  expect_standard_content(sink);
  ASSERT_TRUE(sink.digest.has_value());
  EXPECT_EQ(sink.digest->zxid, 0x100000008LL);
  EXPECT_EQ(sink.digest->version, 2);
  EXPECT_EQ(sink.digest->tree_digest, 0x1234567890abcdefLL);
}

TEST_P(StorageContract, SnapshotWithoutDigest) {
  auto& s = reopen();
  write_snapshot(s, 7, false);
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot((*list)[0], sink));
  expect_standard_content(sink);
  EXPECT_FALSE(sink.digest.has_value());
}

TEST_P(StorageContract, EmptySnapshotSections) {
  auto& s = reopen();
  auto w = s.begin_snapshot(0x42);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->write_sessions({}));
  ASSERT_TRUE((*w)->write_acls({}));
  sdk::NodeRecord root;
  ASSERT_TRUE((*w)->write_node(root));
  ASSERT_TRUE((*w)->finish(std::nullopt, true));
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot(s.list_snapshots()->front(), sink));
  EXPECT_TRUE(sink.sessions.empty());
  EXPECT_TRUE(sink.acls.empty());
  ASSERT_EQ(sink.nodes.size(), 1u);
  EXPECT_EQ(sink.nodes[0].path, "");
  EXPECT_FALSE(sink.nodes[0].data_null);
  EXPECT_EQ(sink.nodes[0].stat, sdk::StatPersisted{});
}

TEST_P(StorageContract, UnfinishedSnapshotIsInvisibleAndLeavesNothing) {
  auto& s = reopen();
  write_snapshot(s, 0x10, false);
  {
    auto w = s.begin_snapshot(0x20);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->write_sessions({{kSession, 1000}}));
    ASSERT_TRUE((*w)->write_acls({}));
    sdk::NodeRecord root;
    ASSERT_TRUE((*w)->write_node(root));
    EXPECT_EQ(snapshot_names(s), std::vector<std::string>{"snapshot.10"});
  }
  EXPECT_EQ(snapshot_names(s), std::vector<std::string>{"snapshot.10"});
  EXPECT_EQ(snapshot_names(reopen()), std::vector<std::string>{"snapshot.10"});
  // The next snapshot works as usual.
  write_snapshot(*storage_, 0x20, true);
  EXPECT_EQ(snapshot_names(*storage_), (std::vector<std::string>{"snapshot.20", "snapshot.10"}));
}

TEST_P(StorageContract, SnapshotWriterEnforcesCallOrderAndPaths) {
  auto& s = reopen();
  auto w = s.begin_snapshot(1);
  ASSERT_TRUE(w.is_ok());
  sdk::NodeRecord node;
  EXPECT_FALSE((*w)->write_node(node));  // before sessions and ACLs
  ASSERT_TRUE((*w)->write_sessions({}));
  EXPECT_FALSE((*w)->write_sessions({}));  // twice
  ASSERT_TRUE((*w)->write_acls({}));
  node.path = "/";
  EXPECT_FALSE((*w)->write_node(node));  // would end ZooKeeper's node list
  node.path = "a";
  EXPECT_FALSE((*w)->write_node(node));
  node.path = "";
  ASSERT_TRUE((*w)->write_node(node));
  ASSERT_TRUE((*w)->finish(std::nullopt, false));
  EXPECT_FALSE((*w)->write_node(node));  // after finish
  EXPECT_FALSE((*w)->finish(std::nullopt, false));
}

TEST_P(StorageContract, ListSnapshotsNewestFirst) {
  auto& s = reopen();
  write_snapshot(s, 0x5, false);
  write_snapshot(s, 0x100000000LL, true);
  write_snapshot(s, 0x30, true);
  EXPECT_EQ(snapshot_names(s), (std::vector<std::string>{"snapshot.100000000", "snapshot.30",
                                                         "snapshot.5"}));
  auto list = s.list_snapshots();
  EXPECT_EQ((*list)[0].zxid, 0x100000000LL);
  EXPECT_EQ((*list)[2].zxid, 0x5);
}

TEST_P(StorageContract, SnapshotOfTheSameZxidReplacesTheOlder) {
  auto& s = reopen();
  write_snapshot(s, 0x9, false);
  auto w = s.begin_snapshot(0x9);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->write_sessions({}));
  ASSERT_TRUE((*w)->write_acls({}));
  sdk::NodeRecord root;
  root.data = "second";
  ASSERT_TRUE((*w)->write_node(root));
  ASSERT_TRUE((*w)->finish(std::nullopt, true));
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot((*list)[0], sink));
  ASSERT_EQ(sink.nodes.size(), 1u);
  EXPECT_EQ(sink.nodes[0].data, "second");
}

TEST_P(StorageContract, LoadingAMissingSnapshotFails) {
  auto& s = reopen();
  write_snapshot(s, 0x9, false);
  RecordingSink sink;
  EXPECT_FALSE(s.load_snapshot(sdk::SnapshotInfo{0x8, "snapshot.8", 100}, sink));
  EXPECT_FALSE(s.load_snapshot(sdk::SnapshotInfo{0x9, "not-a-snapshot", 100}, sink));
  EXPECT_TRUE(sink.nodes.empty());
}

TEST_P(StorageContract, LargeSnapshotStreams) {
  auto& s = reopen();
  auto w = s.begin_snapshot(0x99);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->write_sessions({}));
  ASSERT_TRUE((*w)->write_acls({}));
  const std::string data(3000, 'd');
  std::vector<std::string> paths{""};
  for (int i = 0; i < 5000; ++i) paths.push_back("/n" + std::to_string(i));
  for (const auto& p : paths) {
    sdk::NodeRecord n;
    n.path = p;
    n.data = data;
    ASSERT_TRUE((*w)->write_node(n));
  }
  ASSERT_TRUE((*w)->finish(std::nullopt, false));
  RecordingSink sink;
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_GT((*list)[0].size_bytes, 5000u * 3000u);
  ASSERT_TRUE(s.load_snapshot((*list)[0], sink));
  ASSERT_EQ(sink.nodes.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) ASSERT_EQ(sink.nodes[i].path, paths[i]);
  EXPECT_EQ(sink.nodes.back().data, data);
}

// "Snapshots never stop the write path": while a snapshot is being written (on its own
// thread), appends, group commits and epoch writes go on.
TEST_P(StorageContract, AppendsAndCommitsGoOnWhileASnapshotIsWritten) {
  auto& s = reopen();
  auto w = s.begin_snapshot(0x10);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->write_sessions({}));
  ASSERT_TRUE((*w)->write_acls({}));
  append_all(s, 1, 20);
  ASSERT_TRUE(s.commit());  // with the snapshot open and unfinished
  ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kAccepted, 3));

  std::atomic<bool> ok{true};
  std::thread snapshotter([&] {
    sdk::NodeRecord n;
    std::string path;
    for (int i = 0; i < 3000 && ok; ++i) {
      path = i == 0 ? "" : "/n" + std::to_string(i);
      n.path = path;
      n.data = "x";
      if (!(*w)->write_node(n)) ok = false;
    }
    if (!(*w)->finish(std::nullopt, true)) ok = false;
  });
  for (Zxid z = 21; z <= 400; z += 4) {
    append_all(s, z, z + 3);
    ASSERT_TRUE(s.commit());
  }
  snapshotter.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(read_all(s, 0), expected(1, 400));
  EXPECT_EQ(snapshot_names(s), std::vector<std::string>{"snapshot.10"});
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot(s.list_snapshots()->front(), sink));
  EXPECT_EQ(sink.nodes.size(), 3000u);
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 3);
}

// ---------------------------------------------------------------------------------------------
// Epochs and purge

TEST_P(StorageContract, EpochsAreKeptAcrossRestarts) {
  {
    auto& s = reopen();
    ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kCurrent, 5));
    ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kAccepted, 6));
    EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kCurrent).value(), 5);
    EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 6);
    ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kCurrent, 123456789012LL));
  }
  auto& s = reopen();
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kCurrent).value(), 123456789012LL);
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 6);
  ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kAccepted, 0));
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 0);
}

TEST_P(StorageContract, PurgeKeepsNewestSnapshotsAndTheLogsTheyNeed) {
  auto& s = reopen();
  for (Zxid z : {0x10, 0x20, 0x30, 0x40}) write_snapshot(s, z, false);
  for (Zxid start : {0x1, 0x15, 0x25, 0x35, 0x45}) {
    append_all(s, start, start + 1);
    ASSERT_TRUE(s.commit());
    ASSERT_TRUE(s.roll());
  }
  EXPECT_FALSE(s.purge(2));  // PurgeTxnLog needs at least 3
  EXPECT_EQ(snapshot_names(s).size(), 4u);
  ASSERT_TRUE(s.purge(3));
  // Oldest kept snapshot: 0x20; the segment starting at 0x15 may hold its transactions.
  const std::vector<std::string> kept{"snapshot.40", "snapshot.30", "snapshot.20"};
  Entries want;
  for (Zxid start : {0x15, 0x25, 0x35, 0x45}) {
    for (auto& e : expected(start, start + 1)) want.push_back(e);
  }
  EXPECT_EQ(snapshot_names(s), kept);
  EXPECT_EQ(read_all(s, 0), want);
  ASSERT_TRUE(s.purge(3));  // idempotent
  ASSERT_TRUE(s.purge(10));  // fewer snapshots than asked for: nothing to delete
  EXPECT_EQ(snapshot_names(reopen()), kept);
  EXPECT_EQ(read_all(*storage_, 0), want);
  EXPECT_EQ(storage_->last_logged_zxid().value(), 0x46);
}

TEST_P(StorageContract, PurgeKeepsTheWholeLogWhenNoSegmentStartsEarlyEnough) {
  auto& s = reopen();
  for (Zxid z : {0x1, 0x2, 0x3, 0x4}) write_snapshot(s, z, false);
  append_all(s, 0x10, 0x12);
  ASSERT_TRUE(s.commit());
  ASSERT_TRUE(s.purge(3));
  EXPECT_EQ(snapshot_names(s), (std::vector<std::string>{"snapshot.4", "snapshot.3",
                                                         "snapshot.2"}));
  EXPECT_EQ(read_all(s, 0), expected(0x10, 0x12));
}

// ---------------------------------------------------------------------------------------------
// Crashes: a child process writes and is SIGKILLed; the parent reopens the data.

// Runs `body` in a child process that reports progress numbers through a pipe; returns once
// the child has reported a number >= `kill_at`, after SIGKILLing and reaping it. Returns the
// last number reported.
template <typename Body>
int64_t run_and_kill(int64_t kill_at, Body body) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    auto report = [fd = fds[1]](int64_t v) {
      if (write(fd, &v, sizeof v) != sizeof v) _exit(3);
    };
    body(report);
    _exit(0);  // the body loops until killed; ending is a failure seen by the parent
  }
  close(fds[1]);
  int64_t last = -1, v = 0;
  while (read(fds[0], &v, sizeof v) == sizeof v) {
    last = v;
    if (v >= kill_at) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child ended by itself with status " << status;
  return last;
}

TEST_P(StorageContract, SigkillDuringGroupCommitsLeavesEveryCommittedTxn) {
  options_.pre_alloc_size_bytes = 64 * 1024;
  const int64_t acked = run_and_kill(600, [&](auto report) {
    auto s = make();
    if (!s || !s->configure(config_, host_) || !s->open(options_)) _exit(2);
    for (Zxid z = 1; z < 2000000; z += 7) {
      for (Zxid i = z; i < z + 7; ++i) {
        if (!s->append(i, set_data_txn(i, "k", i % 50 == 0 ? 20000 : 100))) _exit(2);
      }
      if (!s->commit()) _exit(2);
      report(z + 6);  // acknowledged
      if (z % 91 == 1) {
        if (!s->roll()) _exit(2);
      }
    }
  });
  ASSERT_GE(acked, 600);
  auto& s = reopen();
  const Zxid last = s.last_logged_zxid().value();
  EXPECT_GE(last, acked);
  Entries got = read_all(s, 0);
  ASSERT_EQ(got.size(), static_cast<size_t>(last));
  for (Zxid z = 1; z <= last; ++z) {
    ASSERT_EQ(got[z - 1].first, z);
    ASSERT_EQ(got[z - 1].second, set_data_txn(z, "k", z % 50 == 0 ? 20000 : 100));
  }
  // Writing goes on after the crash.
  append_all(s, last + 1, last + 3, "after");
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(read_all(reopen(), last + 1), expected(last + 1, last + 3, "after"));
}

TEST_P(StorageContract, SigkillDuringASnapshotLeavesOnlyFinishedOnes) {
  {
    auto& s = reopen();
    write_snapshot(s, 0x1, true);
    storage_.reset();
  }
  const int64_t written = run_and_kill(5000, [&](auto report) {
    auto s = make();
    if (!s || !s->configure(config_, host_) || !s->open(options_)) _exit(2);
    auto w = s->begin_snapshot(0x2);
    if (!w || !(*w)->write_sessions({}) || !(*w)->write_acls({})) _exit(2);
    const std::string data(500, 'x');
    std::string path;
    for (int64_t i = 0; i < 100000000; ++i) {
      path = i == 0 ? "" : "/n" + std::to_string(i);
      sdk::NodeRecord n;
      n.path = path;
      n.data = data;
      if (!(*w)->write_node(n)) _exit(2);
      if (i % 500 == 0) report(i);
    }
  });
  ASSERT_GE(written, 5000);
  auto& s = reopen();
  EXPECT_EQ(snapshot_names(s), std::vector<std::string>{"snapshot.1"});
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot(s.list_snapshots()->front(), sink));
  expect_standard_content(sink);
  write_snapshot(s, 0x2, false);  // and the next one works
  EXPECT_EQ(snapshot_names(s), (std::vector<std::string>{"snapshot.2", "snapshot.1"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageContract, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace paddock::storage_test
