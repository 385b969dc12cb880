// Tests of the "file" storage plugin's own formats: files checked byte for byte against
// ZooKeeper 3.8's (spec/disk-formats.md), preallocation, torn tails, ZooKeeper's own data and
// tools. The behaviour every storage plugin shares is tested once for all of them in
// tests/unit/plugins/storage/storage_contract_test.cpp.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "storage_test_support.hpp"

namespace {

using namespace paddock::storage_test;  // NOLINT: test helpers

void patch_bytes(const fs::path& p, uint64_t offset, const std::string& bytes) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

uint32_t be32(const std::string& b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

uint64_t be64(const std::string& b, size_t at) {
  return (static_cast<uint64_t>(be32(b, at)) << 32) | be32(b, at + 4);
}

uint32_t adler(std::string_view bytes) {
  return static_cast<uint32_t>(adler32_z(adler32_z(0, Z_NULL, 0),
                                         reinterpret_cast<const Bytef*>(bytes.data()),
                                         bytes.size()));
}

// Where each entry of a log file starts and ends, read independently of the plugin.
struct RawEntry {
  uint64_t offset = 0;  // of the checksum
  uint32_t len = 0;
  uint64_t end() const { return offset + 12 + len + 1; }
};

std::vector<RawEntry> raw_entries(const std::string& file) {
  std::vector<RawEntry> out;
  size_t at = 16;
  while (at + 12 <= file.size()) {
    uint32_t len = be32(file, at + 8);
    if (len == 0 || at + 13 + len > file.size()) break;
    out.push_back(RawEntry{at, len});
    at += 13 + len;
  }
  return out;
}

class StorageFileTest : public ::testing::Test, protected StorageFixture {
 protected:
  void SetUp() override { set_up("file"); }
  void TearDown() override { tear_down(); }

  fs::path log_dir() const { return fs::path(options_.data_log_dir) / "version-2"; }
  fs::path snap_dir() const { return fs::path(options_.data_dir) / "version-2"; }

  std::vector<std::string> names_in(const fs::path& dir) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Transaction log

TEST_F(StorageFileTest, OpenCreatesVersion2Directories) {
  options_.data_log_dir = (root_ / "logs").string();
  auto& s = reopen();
  EXPECT_TRUE(fs::is_directory(snap_dir()));
  EXPECT_TRUE(fs::is_directory(log_dir()));
  auto last = s.last_logged_zxid();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 0);
  EXPECT_TRUE(read_all(s, 0).empty());
}

TEST_F(StorageFileTest, LogHeaderAndEntryFramingAreZooKeepers) {
  options_.pre_alloc_size_bytes = 0;
  auto& s = reopen();
  const std::string txn = set_data_txn(0x100000001LL);
  ASSERT_TRUE(s.append(0x100000001LL, txn));
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(names_in(log_dir()), std::vector<std::string>{"log.100000001"});
  const std::string file = read_bytes(log_dir() / "log.100000001");
  ASSERT_EQ(file.size(), 16 + 8 + 4 + txn.size() + 1);
  EXPECT_EQ(be32(file, 0), 0x5A4B4C47u);
  EXPECT_EQ(be32(file, 4), 2u);
  EXPECT_EQ(be64(file, 8), 0u);
  EXPECT_EQ(be64(file, 16), adler(txn));  // high 32 bits zero
  EXPECT_EQ(be32(file, 24), txn.size());
  EXPECT_EQ(file.substr(28, txn.size()), txn);
  EXPECT_EQ(file.back(), 'B');
}

TEST_F(StorageFileTest, AppendCommitReadAcrossRollAndReopen) {
  {
    auto& s = reopen();
    append_all(s, 1, 5);
    ASSERT_TRUE(s.commit());
    ASSERT_TRUE(s.roll());
    append_all(s, 6, 8);
    ASSERT_TRUE(s.roll());  // roll with uncommitted entries: they belong to log.6
    append_all(s, 9, 10);
    ASSERT_TRUE(s.commit());
    EXPECT_EQ(names_in(log_dir()), (std::vector<std::string>{"log.1", "log.6", "log.9"}));
    EXPECT_EQ(read_all(s, 0), expected(1, 10));
    EXPECT_EQ(s.last_logged_zxid().value(), 10);
  }
  auto& s = reopen();
  EXPECT_EQ(s.last_logged_zxid().value(), 10);
  EXPECT_EQ(read_all(s, 0), expected(1, 10));
  EXPECT_EQ(read_all(s, 7), expected(7, 10));  // starts in log.6, skips 6
  EXPECT_EQ(read_all(s, 6), expected(6, 10));
  EXPECT_EQ(read_all(s, 10), expected(10, 10));
  EXPECT_TRUE(read_all(s, 11).empty());

  // Every start opens a new log file.
  append_all(s, 11, 12);
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(names_in(log_dir()),
            (std::vector<std::string>{"log.1", "log.6", "log.9", "log.b"}));
  EXPECT_EQ(read_all(s, 0), expected(1, 12));
  EXPECT_EQ(s.last_logged_zxid().value(), 12);
}

TEST_F(StorageFileTest, PreallocationFollowsZooKeepersFilePadding) {
  constexpr uint64_t kPre = 64 * 1024;
  options_.pre_alloc_size_bytes = kPre;
  auto& s = reopen();
  append_all(s, 1, 3);
  ASSERT_TRUE(s.commit());
  const fs::path log = log_dir() / "log.1";
  // FilePadding: currentSize starts at the header (16) and grows by preAllocSize.
  EXPECT_EQ(fs::file_size(log), 16 + kPre);
  std::string file = read_bytes(log);
  auto entries = raw_entries(file);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(file.find_first_not_of('\0', entries.back().end()), std::string::npos);

  // Entries until the data comes within 4 KiB of the end: one more step.
  for (Zxid z = 4; z <= 200; ++z) ASSERT_TRUE(s.append(z, set_data_txn(z, "p", 400)));
  ASSERT_TRUE(s.commit());
  file = read_bytes(log);
  entries = raw_entries(file);
  ASSERT_EQ(entries.size(), 200u);
  ASSERT_GT(entries.back().end() + 4096, 16 + kPre);
  EXPECT_EQ(fs::file_size(log), 16 + 2 * kPre);
  EXPECT_EQ(read_all(s, 0).size(), 200u);

  // An entry written past the preallocated end rounds up to a multiple (the other branch).
  ASSERT_TRUE(s.append(201, set_data_txn(201, "huge", 3 * kPre)));
  ASSERT_TRUE(s.append(202, set_data_txn(202)));
  ASSERT_TRUE(s.commit());
  file = read_bytes(log);
  entries = raw_entries(file);
  ASSERT_EQ(entries.size(), 202u);
  const uint64_t pos = entries.back().offset;  // where entry 202 started
  EXPECT_EQ(fs::file_size(log), (pos + kPre) - (pos + kPre) % kPre);
  EXPECT_EQ(fs::file_size(log) % kPre, 0u);
  EXPECT_EQ(read_all(s, 201).size(), 2u);
}

TEST_F(StorageFileTest, NoPreallocationWhenSizeIsZero) {
  options_.pre_alloc_size_bytes = 0;
  auto& s = reopen();
  append_all(s, 1, 10);
  ASSERT_TRUE(s.commit());
  const std::string file = read_bytes(log_dir() / "log.1");
  auto entries = raw_entries(file);
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(file.size(), entries.back().end());
}

// A crash during append leaves a torn final entry; it is the end of the log, never returned,
// and after a restart the next append does not make it readable.
class StorageFileTornTailTest : public StorageFileTest {
 protected:
  // Writes 1..5 to log.1 (padded) and returns the raw entries.
  std::vector<RawEntry> write_five() {
    auto& s = reopen();
    append_all(s, 1, 5);
    EXPECT_TRUE(s.commit());
    storage_.reset();
    return raw_entries(read_bytes(log_dir() / "log.1"));
  }

  void expect_recovers_without_entry_5() {
    auto& s = reopen();
    auto last = s.last_logged_zxid();
    ASSERT_TRUE(last.is_ok()) << last.status().message();
    EXPECT_EQ(*last, 4);
    EXPECT_EQ(read_all(s, 0), expected(1, 4));
    // Re-append 5 with different content, as a new leader would.
    ASSERT_TRUE(s.append(5, set_data_txn(5, "v2")));
    append_all(s, 6, 7, "v2");
    ASSERT_TRUE(s.commit());
    Entries want = expected(1, 4);
    for (auto& e : expected(5, 7, "v2")) want.push_back(e);
    EXPECT_EQ(read_all(s, 0), want);
    EXPECT_EQ(read_all(s, 5), expected(5, 7, "v2"));
    auto& again = reopen();
    EXPECT_EQ(read_all(again, 0), want);
    EXPECT_EQ(again.last_logged_zxid().value(), 7);
  }
};

TEST_F(StorageFileTornTailTest, FileEndsInsideTheLastEntry) {
  auto e = write_five();
  ASSERT_EQ(e.size(), 5u);
  fs::resize_file(log_dir() / "log.1", e[4].offset + 12 + e[4].len / 2);
  expect_recovers_without_entry_5();
}

TEST_F(StorageFileTornTailTest, FileEndsInsideTheLastEntryHeader) {
  auto e = write_five();
  fs::resize_file(log_dir() / "log.1", e[4].offset + 7);
  expect_recovers_without_entry_5();
}

TEST_F(StorageFileTornTailTest, EndOfRecordMarkerOverwritten) {
  auto e = write_five();
  patch_bytes(log_dir() / "log.1", e[4].end() - 1, "X");
  expect_recovers_without_entry_5();
}

TEST_F(StorageFileTornTailTest, PartialEntryFollowedByZeroPadding) {
  auto e = write_five();
  // The length made it to disk, the second half of the payload and the 'B' did not.
  const uint64_t from = e[4].offset + 12 + e[4].len / 2;
  patch_bytes(log_dir() / "log.1", from, std::string(e[4].end() - from, '\0'));
  expect_recovers_without_entry_5();
}

TEST_F(StorageFileTornTailTest, ChecksumMismatchOnTheLastEntryBeforePadding) {
  auto e = write_five();
  patch_bytes(log_dir() / "log.1", e[4].offset + 12 + e[4].len - 3, "\x7f");
  expect_recovers_without_entry_5();
  bool warned = false;
  for (const auto& line : host_.lines) warned |= line.find("partial") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(StorageFileTornTailTest, OnlyEntryOfTheLastFileTorn) {
  {
    auto& s = reopen();
    append_all(s, 1, 4);
    ASSERT_TRUE(s.commit());
    ASSERT_TRUE(s.roll());
    append_all(s, 5, 5);
    ASSERT_TRUE(s.commit());
  }
  storage_.reset();
  auto e = raw_entries(read_bytes(log_dir() / "log.5"));
  ASSERT_EQ(e.size(), 1u);
  fs::resize_file(log_dir() / "log.5", e[0].offset + 20);
  expect_recovers_without_entry_5();
}

TEST_F(StorageFileTornTailTest, HeaderNeverReachedTheDisk) {
  {
    auto& s = reopen();
    append_all(s, 1, 4);
    ASSERT_TRUE(s.commit());
  }
  storage_.reset();
  // A preallocated file of zeros, and an empty one: both hold no entries.
  write_bytes(log_dir() / "log.5", std::string(4096, '\0'));
  expect_recovers_without_entry_5();
  storage_.reset();
  write_bytes(log_dir() / "log.8", "");
  auto& s = reopen();
  EXPECT_EQ(s.last_logged_zxid().value(), 7);
}

TEST_F(StorageFileTest, ChecksumMismatchInTheMiddleIsAnError) {
  {
    auto& s = reopen();
    append_all(s, 1, 5);
    ASSERT_TRUE(s.commit());
  }
  storage_.reset();
  auto e = raw_entries(read_bytes(log_dir() / "log.1"));
  patch_bytes(log_dir() / "log.1", e[2].offset + 12 + e[2].len - 2, "\x7f");

  auto& s = reopen();  // open still works: truncate_log may repair the log
  sdk::Status st;
  Entries got = read_all(s, 0, &st);
  EXPECT_EQ(got, expected(1, 2));
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("log.1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("expected"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("found"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  EXPECT_FALSE(s.last_logged_zxid().is_ok());

  ASSERT_TRUE(s.truncate_log(2));
  EXPECT_EQ(s.last_logged_zxid().value(), 2);
  EXPECT_EQ(read_all(s, 0), expected(1, 2));
}

TEST_F(StorageFileTest, BadMagicIsAnError) {
  auto& s = reopen();
  write_bytes(log_dir() / "log.1", std::string("NOTALOG-HEADER!!") + std::string(32, 'x'));
  sdk::Status st;
  read_all(s, 0, &st);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("log.1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("0x5a4b4c47"), std::string::npos) << st.message();
}

TEST_F(StorageFileTest, TruncateLogKeepsEntriesUpToZxid) {
  auto& s = reopen();
  append_all(s, 1, 4);
  ASSERT_TRUE(s.roll());
  append_all(s, 5, 7);
  ASSERT_TRUE(s.roll());
  append_all(s, 8, 10);
  ASSERT_TRUE(s.commit());

  ASSERT_TRUE(s.truncate_log(6));
  EXPECT_EQ(names_in(log_dir()), (std::vector<std::string>{"log.1", "log.5"}));
  auto e = raw_entries(read_bytes(log_dir() / "log.5"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(fs::file_size(log_dir() / "log.5"), e[1].end());  // cut right after, no padding
  EXPECT_EQ(read_all(s, 0), expected(1, 6));
  EXPECT_EQ(s.last_logged_zxid().value(), 6);

  // Appending continues in a new file.
  append_all(s, 7, 8, "v2");
  ASSERT_TRUE(s.commit());
  EXPECT_EQ(names_in(log_dir()), (std::vector<std::string>{"log.1", "log.5", "log.7"}));
  Entries want = expected(1, 6);
  for (auto& x : expected(7, 8, "v2")) want.push_back(x);
  EXPECT_EQ(read_all(reopen(), 0), want);

  auto& r = *storage_;
  ASSERT_TRUE(r.truncate_log(4));  // at a file boundary
  EXPECT_EQ(names_in(log_dir()), std::vector<std::string>{"log.1"});
  EXPECT_EQ(read_all(r, 0), expected(1, 4));
  ASSERT_TRUE(r.truncate_log(0));
  EXPECT_TRUE(read_all(r, 0).empty());
  EXPECT_EQ(r.last_logged_zxid().value(), 0);
}

TEST_F(StorageFileTest, TruncateDropsTornBytesAfterTheCut) {
  {
    auto& s = reopen();
    append_all(s, 1, 5);
    ASSERT_TRUE(s.commit());
  }
  storage_.reset();
  auto e = raw_entries(read_bytes(log_dir() / "log.1"));
  fs::resize_file(log_dir() / "log.1", e[4].offset + 20);
  auto& s = reopen();
  ASSERT_TRUE(s.truncate_log(4));
  EXPECT_EQ(fs::file_size(log_dir() / "log.1"), e[3].end());
}

// ---------------------------------------------------------------------------------------------
// Snapshots

TEST_F(StorageFileTest, SnapshotRoundTripWithDigest) {
  auto& s = reopen();
  write_snapshot(s, 0x100000005LL, true, true);
  auto list = s.list_snapshots();
  ASSERT_TRUE(list.is_ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "snapshot.100000005");
  EXPECT_EQ((*list)[0].zxid, 0x100000005LL);
  EXPECT_EQ((*list)[0].size_bytes, fs::file_size(snap_dir() / "snapshot.100000005"));
  EXPECT_EQ(names_in(snap_dir()), std::vector<std::string>{"snapshot.100000005"});

  RecordingSink sink;
  sdk::Status st = s.load_snapshot((*list)[0], sink);
  ASSERT_TRUE(st) << st.message();
  ASSERT_EQ(sink.sessions.size(), 2u);
  EXPECT_EQ(sink.sessions[0].id, kSession);
  EXPECT_EQ(sink.sessions[0].timeout_ms, 30000);
  EXPECT_EQ(sink.sessions[1].timeout_ms, 4000);
  ASSERT_EQ(sink.acls.size(), 2u);
  EXPECT_EQ(sink.acls[0].ref, 1);
  EXPECT_EQ(sink.acls[0].acls, standard_acls()[0].acls);
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
  ASSERT_TRUE(sink.digest.has_value());
  EXPECT_EQ(sink.digest->zxid, 0x100000008LL);
  EXPECT_EQ(sink.digest->version, 2);
  EXPECT_EQ(sink.digest->tree_digest, 0x1234567890abcdefLL);
}

TEST_F(StorageFileTest, SnapshotBytesAreZooKeepers) {
  auto& s = reopen();
  write_snapshot(s, 0x1a, true);
  const std::string f = read_bytes(snap_dir() / "snapshot.1a");
  EXPECT_EQ(be32(f, 0), 0x5A4B534Eu);
  EXPECT_EQ(be32(f, 4), 2u);
  EXPECT_EQ(be64(f, 8), ~0ULL);
  EXPECT_EQ(be32(f, 16), 2u);  // sessions
  // Root first, with the empty path; null data is length -1, empty data length 0.
  const size_t root = f.find(std::string("\0\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16));
  ASSERT_NE(root, std::string::npos);
  const size_t null_node = f.find("/null");
  ASSERT_NE(null_node, std::string::npos);
  EXPECT_EQ(be32(f, null_node + 5), 0xffffffffu);
  const size_t empty_node = f.find("/empty");
  EXPECT_EQ(be32(f, empty_node + 6), 0u);
  // Tail: ... "/" seal1 "/" {zxid, 2, digest} seal2 "/"
  const size_t n = f.size();
  const size_t seal2 = n - 13;
  const size_t trailer = seal2 - 20;
  const size_t seal1 = trailer - 13;
  EXPECT_EQ(f.substr(seal1 - 5, 5), std::string("\0\0\0\1/", 5));
  EXPECT_EQ(be64(f, seal1), adler(std::string_view(f).substr(0, seal1)));
  EXPECT_EQ(f.substr(seal1 + 8, 5), std::string("\0\0\0\1/", 5));
  EXPECT_EQ(be64(f, trailer), 0x1dULL);
  EXPECT_EQ(be32(f, trailer + 8), 2u);
  EXPECT_EQ(be64(f, trailer + 12), 0x1234567890abcdefULL);
  EXPECT_EQ(be64(f, seal2), adler(std::string_view(f).substr(0, seal2)));
  EXPECT_EQ(f.substr(n - 5), std::string("\0\0\0\1/", 5));
}

TEST_F(StorageFileTest, SnapshotWithoutDigestTrailer) {
  auto& s = reopen();
  write_snapshot(s, 7, false);
  const std::string f = read_bytes(snap_dir() / "snapshot.7");
  EXPECT_EQ(be64(f, f.size() - 13), adler(std::string_view(f).substr(0, f.size() - 13)));
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  RecordingSink sink;
  ASSERT_TRUE(s.load_snapshot((*list)[0], sink));
  EXPECT_EQ(sink.nodes.size(), standard_nodes().size());
  EXPECT_FALSE(sink.digest.has_value());
}

TEST_F(StorageFileTest, CorruptedSealsAreRejected) {
  auto& s = reopen();
  write_snapshot(s, 9, true);
  const fs::path p = snap_dir() / "snapshot.9";
  const std::string good = read_bytes(p);
  const sdk::SnapshotInfo info{9, "snapshot.9", good.size()};

  std::string bad = good;
  bad[good.find("\x01\xff/")] ^= 0x20;  // a byte of /binary's data
  write_bytes(p, bad);
  RecordingSink sink1;
  sdk::Status st = s.load_snapshot(info, sink1);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("seal 1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("snapshot.9"), std::string::npos) << st.message();

  bad = good;
  bad[good.size() - 13 - 1] ^= 0x01;  // the digest value in the trailer
  write_bytes(p, bad);
  RecordingSink sink2;
  st = s.load_snapshot(info, sink2);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("seal 2"), std::string::npos) << st.message();
  EXPECT_FALSE(sink2.digest.has_value());

  bad = good.substr(0, good.size() / 2);  // cut: fails the validity check and the load
  write_bytes(p, bad);
  EXPECT_TRUE(s.list_snapshots()->empty());
  RecordingSink sink3;
  EXPECT_FALSE(s.load_snapshot(info, sink3));
}

TEST_F(StorageFileTest, UnfinishedSnapshotIsInvisibleAndLeavesNothing) {
  auto& s = reopen();
  {
    auto w = s.begin_snapshot(0x20);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->write_sessions({}));
    ASSERT_TRUE((*w)->write_acls({}));
    sdk::NodeRecord root;
    ASSERT_TRUE((*w)->write_node(root));
    EXPECT_TRUE(s.list_snapshots()->empty());
    EXPECT_EQ(names_in(snap_dir()).size(), 1u);  // the temporary file
  }
  EXPECT_TRUE(names_in(snap_dir()).empty());
  EXPECT_TRUE(s.list_snapshots()->empty());

  // A crash leaves the temporary file: open() removes it; ZooKeeper ignores its name.
  auto w = s.begin_snapshot(0x21);
  ASSERT_TRUE(w.is_ok());
  const auto names = names_in(snap_dir());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_NE(names[0].rfind("snapshot.", 0), 0u);
  fs::copy_file(snap_dir() / names[0], root_ / "leftover");
  w->reset();
  fs::copy_file(root_ / "leftover", snap_dir() / names[0]);
  reopen();
  EXPECT_TRUE(names_in(snap_dir()).empty());
}

TEST_F(StorageFileTest, ListSnapshotsNewestFirstAndSkipsInvalid) {
  auto& s = reopen();
  write_snapshot(s, 0x5, false);
  write_snapshot(s, 0x100000000LL, true);
  write_snapshot(s, 0x30, true);
  write_bytes(snap_dir() / "snapshot.40", std::string("ZKSN-truncated"));
  write_bytes(snap_dir() / "snapshot.xyz", std::string(20, '\0'));
  write_bytes(snap_dir() / "snapshot.50.tmp", read_bytes(snap_dir() / "snapshot.30"));
  auto list = s.list_snapshots();
  ASSERT_TRUE(list.is_ok());
  std::vector<std::string> names;
  for (const auto& i : *list) names.push_back(i.name);
  EXPECT_EQ(names, (std::vector<std::string>{"snapshot.100000000", "snapshot.30", "snapshot.5"}));
}

TEST_F(StorageFileTest, GzipSnapshotIsReadable) {
  auto& s = reopen();
  write_snapshot(s, 0x44, true);
  const std::string plain = read_bytes(snap_dir() / "snapshot.44");
  const std::string gz_path = (snap_dir() / "snapshot.44.gz").string();
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, plain.data(), static_cast<unsigned>(plain.size())),
            static_cast<int>(plain.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  fs::remove(snap_dir() / "snapshot.44");
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "snapshot.44.gz");
  RecordingSink sink;
  sdk::Status st = s.load_snapshot((*list)[0], sink);
  ASSERT_TRUE(st) << st.message();
  EXPECT_EQ(sink.nodes.size(), standard_nodes().size());
  EXPECT_TRUE(sink.digest.has_value());
}

TEST_F(StorageFileTest, SnappySnapshotIsListedButRefusedClearly) {
  auto& s = reopen();
  write_bytes(snap_dir() / "snapshot.5.snappy", std::string("\x82SNAPPY\0rest-of-stream", 22));
  write_bytes(snap_dir() / "snapshot.6.snappy", "not snappy at all");
  auto list = s.list_snapshots();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "snapshot.5.snappy");
  RecordingSink sink;
  sdk::Status st = s.load_snapshot((*list)[0], sink);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("snappy"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------------------------------------
// Epochs, purge, layout

TEST_F(StorageFileTest, EpochFiles) {
  auto& s = reopen();
  auto e = s.read_epoch(sdk::EpochKind::kCurrent);
  ASSERT_TRUE(e.is_ok());
  EXPECT_FALSE(e->has_value());
  ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kCurrent, 5));
  ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kAccepted, 6));
  EXPECT_EQ(read_bytes(snap_dir() / "currentEpoch"), "5");
  EXPECT_EQ(read_bytes(snap_dir() / "acceptedEpoch"), "6");
  ASSERT_TRUE(s.write_epoch(sdk::EpochKind::kCurrent, 123456789012LL));
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kCurrent).value(), 123456789012LL);
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 6);
  EXPECT_EQ(names_in(snap_dir()), (std::vector<std::string>{"acceptedEpoch", "currentEpoch"}));

  write_bytes(snap_dir() / "acceptedEpoch", "7\n");  // a trailing newline is fine
  EXPECT_EQ(*s.read_epoch(sdk::EpochKind::kAccepted).value(), 7);
  write_bytes(snap_dir() / "acceptedEpoch", "seven");
  auto bad = s.read_epoch(sdk::EpochKind::kAccepted);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("acceptedEpoch"), std::string::npos);
}

TEST_F(StorageFileTest, PurgeKeepsNewestSnapshotsAndTheLogsTheyNeed) {
  auto& s = reopen();
  for (Zxid z : {0x10, 0x20, 0x30, 0x40}) write_snapshot(s, z, false);
  for (Zxid start : {0x1, 0x15, 0x25, 0x35, 0x45}) {
    ASSERT_TRUE(s.append(start, set_data_txn(start)));
    ASSERT_TRUE(s.commit());
    ASSERT_TRUE(s.roll());
  }
  EXPECT_FALSE(s.purge(2));  // PurgeTxnLog needs at least 3
  ASSERT_TRUE(s.purge(3));
  // Oldest kept snapshot: 0x20; log.15 may hold its transactions.
  EXPECT_EQ(names_in(snap_dir()),
            (std::vector<std::string>{"log.15", "log.25", "log.35", "log.45", "snapshot.20",
                                      "snapshot.30", "snapshot.40"}));
  ASSERT_TRUE(s.purge(3));  // idempotent
  EXPECT_EQ(names_in(snap_dir()).size(), 7u);
  ASSERT_TRUE(s.purge(10));  // fewer snapshots than asked for: nothing to delete
  EXPECT_EQ(names_in(snap_dir()).size(), 7u);
}

TEST_F(StorageFileTest, SeparateDirectoriesMustNotMixFiles) {
  options_.data_log_dir = (root_ / "logs").string();
  fs::create_directories(root_ / "logs" / "version-2");
  write_bytes(root_ / "logs" / "version-2" / "snapshot.1", "x");
  auto s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  sdk::Status st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("snapshot.1"), std::string::npos) << st.message();
  fs::remove(root_ / "logs" / "version-2" / "snapshot.1");

  fs::create_directories(snap_dir());
  write_bytes(snap_dir() / "log.1", "x");
  s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("log.1"), std::string::npos) << st.message();
  fs::remove(snap_dir() / "log.1");

  auto& ok = reopen();
  append_all(ok, 1, 3);
  ASSERT_TRUE(ok.commit());
  write_snapshot(ok, 3, true);
  EXPECT_EQ(names_in(log_dir()), std::vector<std::string>{"log.1"});
  EXPECT_EQ(names_in(snap_dir()), std::vector<std::string>{"snapshot.3"});
}

TEST_F(StorageFileTest, OsErrorsNameTheFileAndTheReason) {
  if (geteuid() == 0) {
    // root ignores permissions; use a path whose parent is a regular file instead.
    write_bytes(root_ / "file", "x");
    options_.data_dir = (root_ / "file" / "data").string();
  } else {
    fs::create_directories(root_ / "ro");
    fs::permissions(root_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    options_.data_dir = (root_ / "ro" / "data").string();
  }
  options_.data_log_dir = options_.data_dir;
  auto s = make();
  ASSERT_TRUE(s->configure(config_, host_));
  sdk::Status st = s->open(options_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find(options_.data_dir), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cannot create directory"), std::string::npos) << st.message();
  std::error_code ec;
  fs::permissions(root_ / "ro", fs::perms::owner_all, ec);
}

// ---------------------------------------------------------------------------------------------
// Interoperability with Apache ZooKeeper 3.8

// Data written by a real ZooKeeper 3.8.0 server (tests/unit/plugins/storage-file/fixtures/zk38,
// log padding trimmed): a createSession, creates under /paddock, a setData, a delete and a
// closeSession, then a restart snapshot.
TEST_F(StorageFileTest, ReadsDataWrittenByZooKeeper) {
  const fs::path data = fs::path(env_or("PADDOCK_SOURCE_DIR", "")) /
                        "tests/unit/plugins/storage-file/fixtures/zk38";
  const fs::path src = fs::exists(data) ? data : fs::path(PADDOCK_STORAGE_FILE_FIXTURES) / "zk38";
  ASSERT_TRUE(fs::exists(src / "version-2")) << src;
  fs::copy(src, root_ / "data", fs::copy_options::recursive);
  auto& s = reopen();

  Entries txns = read_all(s, 0);
  ASSERT_FALSE(txns.empty());
  std::map<int32_t, int> types;
  for (size_t i = 0; i < txns.size(); ++i) {
    jute::Reader r(txns[i].second);
    auto h = jute::read_txn_header(r);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(h.zxid, txns[i].first);
    if (i > 0) {
      EXPECT_GT(txns[i].first, txns[i - 1].first);
    }
    ++types[h.type];
  }
  EXPECT_GE(types[-10], 1);  // createSession
  EXPECT_GE(types[1] + types[15], 3);  // creates
  EXPECT_GE(types[5], 1);  // setData
  EXPECT_GE(types[2], 1);  // delete
  EXPECT_GE(types[-11], 1);  // closeSession
  EXPECT_EQ(s.last_logged_zxid().value(), txns.back().first);

  auto list = s.list_snapshots();
  ASSERT_TRUE(list.is_ok());
  ASSERT_FALSE(list->empty());
  for (const auto& snap : *list) {
    SCOPED_TRACE(snap.name);
    RecordingSink sink;
    sdk::Status st = s.load_snapshot(snap, sink);
    ASSERT_TRUE(st) << st.message();
    ASSERT_GE(sink.nodes.size(), 4u);
    EXPECT_EQ(sink.nodes[0].path, "");
    EXPECT_TRUE(sink.digest.has_value());
    std::map<std::string, int64_t> acl_of;
    for (const auto& n : sink.nodes) acl_of[n.path] = n.acl_ref;
    ASSERT_TRUE(acl_of.count("/zookeeper/config"));
    int64_t ref = acl_of["/zookeeper/config"];
    bool found = false;
    for (const auto& a : sink.acls) {
      if (a.ref == ref) {
        found = true;
        EXPECT_EQ(a.acls, (std::vector<sdk::Acl>{{sdk::perms::kRead, {"world", "anyone"}}}));
      }
    }
    EXPECT_TRUE(found);
  }
  // The newest snapshot was taken after all the writes.
  RecordingSink newest;
  ASSERT_TRUE(s.load_snapshot(list->front(), newest));
  std::vector<std::string> paths;
  for (const auto& n : newest.nodes) paths.push_back(n.path);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"", "/paddock", "/paddock/a", "/paddock/c",
                                             "/zookeeper", "/zookeeper/config",
                                             "/zookeeper/quota"}));

  // Appending after ZooKeeper's data continues in a new file.
  const Zxid next = txns.back().first + 1;
  ASSERT_TRUE(s.append(next, set_data_txn(next)));
  ASSERT_TRUE(s.commit());
  Entries after = read_all(reopen(), 0);
  ASSERT_EQ(after.size(), txns.size() + 1);
  EXPECT_EQ(after.back().first, next);
}

// Runs ZooKeeper's own tools on files this plugin wrote. Skipped without java and the jars
// (Debian's zookeeper package; PADDOCK_ZOOKEEPER_CLASSPATH overrides the classpath).
std::string zookeeper_classpath() {
  return env_or("PADDOCK_ZOOKEEPER_CLASSPATH",
                "/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar");
}

bool have_zookeeper_tools() {
  if (std::system("command -v java >/dev/null 2>&1") != 0) return false;
  std::string cp = zookeeper_classpath();
  size_t start = 0;
  while (start <= cp.size()) {  // bounded by the classpath length
    size_t end = cp.find(':', start);
    if (end == std::string::npos) end = cp.size();
    if (!fs::exists(cp.substr(start, end - start))) return false;
    start = end + 1;
  }
  return true;
}

// Runs a command with a time limit, returns its exit code and output.
int run(const std::string& command, std::string& output) {
  output.clear();
  FILE* p = popen(("timeout 60 " + command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(StorageFileTest, ZooKeeperToolsReadOurFiles) {
  if (!have_zookeeper_tools()) GTEST_SKIP() << "java or the ZooKeeper 3.8 jars are not installed";
  auto& s = reopen();
  const sdk::SessionId session = 0x100000abcdef0001LL;
  ASSERT_TRUE(s.append(0x100000001LL, create_session_txn(0x100000001LL, session, 30000)));
  ASSERT_TRUE(s.append(0x100000002LL, create_txn(0x100000002LL, session, "/a", "hello", 1)));
  ASSERT_TRUE(s.commit());

  auto w = s.begin_snapshot(0x100000002LL);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->write_sessions({{session, 30000}}));
  ASSERT_TRUE((*w)->write_acls(
      {sdk::AclRecord{1, {sdk::Acl{sdk::perms::kRead, {"world", "anyone"}}}}}));
  const std::vector<std::pair<std::string, int64_t>> nodes{
      {"", -1}, {"/zookeeper", -1}, {"/zookeeper/quota", -1}, {"/zookeeper/config", 1},
      {"/a", -1}};
  for (size_t i = 0; i < nodes.size(); ++i) {
    sdk::NodeRecord n;
    n.path = nodes[i].first;
    n.acl_ref = nodes[i].second;
    if (n.path == "/a") n.data = "hello";
    n.stat = stat_for(static_cast<int>(i));
    n.stat.ephemeral_owner = 0;
    ASSERT_TRUE((*w)->write_node(n));
  }
  ASSERT_TRUE((*w)->finish(sdk::SnapshotDigest{0x100000002LL, 2, 42}, true));

  const std::string java = "java -cp " + zookeeper_classpath() + " ";
  std::string out;
  int rc = run(java + "org.apache.zookeeper.server.persistence.TxnLogToolkit " +
                   (log_dir() / "log.100000001").string(),
               out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("createSession"), std::string::npos) << out;
  EXPECT_NE(out.find("cxid 0x0 zxid 0x100000001 createSession 30000"), std::string::npos) << out;
  EXPECT_NE(out.find("zxid 0x100000002 create /a,hello,[31,s{'world,'anyone}"), std::string::npos)
      << out;
  EXPECT_NE(out.find("EOF reached after 2 txns."), std::string::npos) << out;
  EXPECT_EQ(out.find("CRC"), std::string::npos) << out;

  rc = run(java + "org.apache.zookeeper.server.SnapshotFormatter " +
               (snap_dir() / "snapshot.100000002").string(),
           out);
  EXPECT_EQ(rc, 0) << out;
  // ZooKeeper's DataTree also maps the root under "/", hence one more than we wrote.
  EXPECT_NE(out.find("ZNode Details (count=6):"), std::string::npos) << out;
  EXPECT_NE(out.find("\n/zookeeper/config\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n/zookeeper/quota\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n/a\n"), std::string::npos) << out;
  EXPECT_NE(out.find("dataLength = 5"), std::string::npos) << out;
  EXPECT_NE(out.find("Session Details (sid, timeout, ephemeralCount):\n"
                     "0x100000abcdef0001, 30000, 0"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Last zxid: 0x100000024"), std::string::npos) << out;  // highest in a stat
}

}  // namespace
