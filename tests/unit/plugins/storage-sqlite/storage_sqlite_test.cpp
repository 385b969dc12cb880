// Tests of the "sqlite" storage plugin's own behaviour: where its databases are and how they
// are set up, what a kill leaves (a torn WAL tail, an uncommitted transaction), corruption
// found by its checksums, and the data directories it refuses. The storage contract shared
// with every backend is in tests/unit/plugins/storage/storage_contract_test.cpp.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "storage_test_support.hpp"

namespace {

using namespace paddock::storage_test;  // NOLINT: test helpers

// A connection of the test's own, to look at or damage what the plugin wrote.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK) << path;
    sqlite3_busy_timeout(db_, 10000);
  }
  ~RawDb() { sqlite3_close(db_); }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }
  void exec(const std::string& sql) {
    char* msg = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg), SQLITE_OK)
        << sql << ": " << (msg != nullptr ? msg : "");
    sqlite3_free(msg);
  }

 private:
  sqlite3* db_ = nullptr;
};

class StorageSqliteTest : public ::testing::Test, protected StorageFixture {
 protected:
  void SetUp() override { set_up("sqlite"); }
  void TearDown() override { tear_down(); }

  fs::path log_db() const { return fs::path(options_.data_log_dir) / "paddock-log.sqlite"; }
  fs::path snap_db() const { return fs::path(options_.data_dir) / "paddock-snapshots.sqlite"; }

  // Runs `body` in a child process, waits for its one report, SIGKILLs it (so SQLite gets no
  // chance to checkpoint or clean up) and reaps it.
  template <typename Body>
  void run_then_kill(Body body) {
    storage_.reset();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      auto s = make();
      if (!s || !s->configure(config_, host_) || !s->open(options_)) _exit(2);
      body(*s);
      char ready = 'r';
      if (write(fds[1], &ready, 1) != 1) _exit(3);
      pause();  // until killed
      _exit(0);
    }
    close(fds[1]);
    char ready = 0;
    ASSERT_EQ(read(fds[0], &ready, 1), 1) << "the child failed before reporting";
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status));
  }
};

TEST_F(StorageSqliteTest, DescriptorNamesTheSqlitePlugin) {
  const auto& desc =
      plugin_library("sqlite").get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
  EXPECT_STREQ(desc.name, "sqlite");
  EXPECT_EQ(desc.kind, sdk::PluginKind::kStorage);
  EXPECT_EQ(desc.config_key_count, 0u);
}

TEST_F(StorageSqliteTest, LogUnderDataLogDirSnapshotsUnderDataDirBothInWalMode) {
  options_.data_log_dir = (root_ / "logs").string();
  auto& s = reopen();
  append_all(s, 1, 3);
  ASSERT_TRUE(s.commit());
  write_snapshot(s, 3, true);
  ASSERT_TRUE(fs::exists(log_db()));
  ASSERT_TRUE(fs::exists(snap_db()));
  EXPECT_FALSE(fs::exists(fs::path(options_.data_dir) / "paddock-log.sqlite"));
  EXPECT_FALSE(fs::exists(fs::path(options_.data_dir) / "version-2"));
  for (const auto& path : {log_db(), snap_db()}) {
    SCOPED_TRACE(path);
    RawDb db(path);
    EXPECT_EQ(db.text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.text("PRAGMA application_id"), std::to_string(0x5044434B));
    EXPECT_EQ(db.text("PRAGMA user_version"), "1");
  }
  RawDb log(log_db());
  EXPECT_EQ(log.text("SELECT count(*) FROM txn"), "3");
  EXPECT_EQ(log.text("SELECT group_concat(first_zxid) FROM segment"), "1");
  RawDb snaps(snap_db());
  EXPECT_EQ(snaps.text("SELECT zxid FROM snapshot"), "3");
  EXPECT_EQ(snaps.text("SELECT count(*) FROM snapshot_node_v WHERE snapshot = 1"),
            std::to_string(standard_nodes().size()));
  EXPECT_EQ(snaps.text("SELECT typeof(data) FROM snapshot_node WHERE path = '/null'"), "null");
  EXPECT_EQ(snaps.text("SELECT length(data) FROM snapshot_node WHERE path = '/empty'"), "0");
}

// A batch whose commit never completed: its rows went into the WAL (the batch was large
// enough to spill before commit()), then the process was killed.
TEST_F(StorageSqliteTest, UncommittedTransactionAfterAKillIsInvisible) {
  run_then_kill([](sdk::Storage& s) {
    for (Zxid z = 1; z <= 5; ++z) {
      if (!s.append(z, set_data_txn(z))) _exit(2);
    }
    if (!s.commit()) _exit(2);
    for (Zxid z = 6; z <= 100; ++z) {  // ~24 MiB: written into an open transaction
      if (!s.append(z, set_data_txn(z, "big", 256 * 1024))) _exit(2);
    }
  });
  EXPECT_GT(fs::file_size(fs::path(log_db().string() + "-wal")), 4u << 20);  // uncommitted frames
  auto& s = reopen();
  EXPECT_EQ(s.last_logged_zxid().value(), 5);
  EXPECT_EQ(read_all(s, 0), expected(1, 5));
  append_all(s, 6, 7, "v2");
  ASSERT_TRUE(s.commit());
  Entries want = expected(1, 5);
  for (auto& e : expected(6, 7, "v2")) want.push_back(e);
  EXPECT_EQ(read_all(reopen(), 0), want);
}

// A commit torn by a crash: the last WAL frames (holding the commit record) never reached
// the disk whole. SQLite's WAL checksums drop the whole transaction.
TEST_F(StorageSqliteTest, TornWalTailDropsTheWholeLastCommit) {
  run_then_kill([](sdk::Storage& s) {
    for (Zxid z = 1; z <= 5; ++z) {
      if (!s.append(z, set_data_txn(z))) _exit(2);
    }
    if (!s.commit()) _exit(2);
    for (Zxid z = 6; z <= 10; ++z) {
      if (!s.append(z, set_data_txn(z))) _exit(2);
    }
    if (!s.commit()) _exit(2);
  });
  const fs::path wal = log_db().string() + "-wal";
  const auto size = fs::file_size(wal);
  ASSERT_GT(size, 4096u);
  fs::resize_file(wal, size - 100);
  auto& s = reopen();
  EXPECT_EQ(s.last_logged_zxid().value(), 5);
  EXPECT_EQ(read_all(s, 0), expected(1, 5));
  append_all(s, 6, 6, "v2");
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(read_all(reopen(), 6), expected(6, 6, "v2"));
}

TEST_F(StorageSqliteTest, ChecksumMismatchInTheMiddleIsAnError) {
  {
    auto& s = reopen();
    append_all(s, 1, 5);
    ASSERT_TRUE(s.commit());
  }
  storage_.reset();
  {
    RawDb db(log_db());
    db.exec("UPDATE txn SET entry = CAST(zeroblob(40) AS BLOB) WHERE zxid = 3");
  }
  auto& s = reopen();
  sdk::Status st;
  Entries got = read_all(s, 0, &st);
  EXPECT_EQ(got, expected(1, 2));
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("paddock-log.sqlite"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("zxid 0x3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("expected"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  ASSERT_TRUE(s.truncate_log(2));
  EXPECT_EQ(read_all(s, 0), expected(1, 2));
}

TEST_F(StorageSqliteTest, ChangedSnapshotRowsAreRejected) {
  {
    auto& s = reopen();
    write_snapshot(s, 9, true);
  }
  storage_.reset();
  {
    RawDb db(snap_db());
    db.exec("UPDATE snapshot_node SET mzxid = mzxid + 1 WHERE path = '/binary'");
  }
  auto& s = reopen();
  RecordingSink sink;
  sdk::Status st = s.load_snapshot(s.list_snapshots()->front(), sink);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("snapshot.9"), std::string::npos) << st.message();
  EXPECT_FALSE(sink.digest.has_value());  // the digest only follows a verified snapshot
}

TEST_F(StorageSqliteTest, RefusesADataDirHoldingZooKeeperFiles) {
  fs::create_directories(fs::path(options_.data_dir) / "version-2");
  write_bytes(fs::path(options_.data_dir) / "version-2" / "snapshot.0", "x");
  auto s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  sdk::Status st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("snapshot.0"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("paddock-convert"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(log_db()));
}

TEST_F(StorageSqliteTest, RefusesForeignAndNewerDatabases) {
  fs::create_directories(options_.data_dir);
  {
    RawDb db(log_db());
    db.exec("CREATE TABLE other (x)");
  }
  auto s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  sdk::Status st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("application_id"), std::string::npos) << st.message();

  fs::remove(log_db());
  {
    RawDb db(log_db());
    db.exec("PRAGMA application_id=" + std::to_string(0x5044434B) + "; PRAGMA user_version=99");
  }
  s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("user_version"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("99"), std::string::npos) << st.message();
}

// The WAL is copied back into the database by the background checkpointer, so it stays
// bounded while the log grows.
TEST_F(StorageSqliteTest, WalIsCheckpointedWhileTheLogGrows) {
  auto& s = reopen();
  for (Zxid z = 1; z <= 3000; ++z) {
    ASSERT_TRUE(s.append(z, set_data_txn(z, "w", 4000)));
    if (z % 3 == 0) ASSERT_TRUE(s.commit());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fs::file_size(log_db()) < (8u << 20) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the checkpointer's pace
  }
  EXPECT_GE(fs::file_size(log_db()), 8u << 20);
  EXPECT_LT(fs::file_size(fs::path(log_db().string() + "-wal")), 80u << 20);
  EXPECT_EQ(read_all(s, 2990).size(), 11u);
}

}  // namespace
