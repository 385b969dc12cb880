// ZooKeeper's snapshot files (spec/disk-formats.md §4):
//   FileHeader{int magic "ZKSN", int version 2, long dbid -1}
//   int n, n × {long sessionId, int timeout}
//   int n, n × {long aclRef, vector<ACL>}
//   node* {ustring path ("" for the root), buffer data, long aclRef, StatPersisted}
//   ustring "/"
//   long adler32(everything before); ustring "/"                       -- seal 1
//   [long zxid, int digestVersion, long treeDigest; long adler32; "/"]  -- digest trailer, seal 2
//
// The writer streams through a bounded buffer into a temporary file that no name parser
// takes for a snapshot, and renames it into place when sealed. The loader streams (plain or
// gzip) into a SnapshotSink and verifies both seals.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "file_names.hpp"
#include "paddock/sdk/storage.hpp"
#include "posix_file.hpp"

namespace paddock::storage_file {

inline constexpr int32_t kSnapshotMagic = 0x5A4B534E;  // "ZKSN"
inline constexpr int32_t kSnapshotVersion = 2;
inline constexpr int64_t kSnapshotDbId = -1;

// Starts dir/snapshot.<hex zxid>; nothing named like a snapshot exists before finish().
Result<std::unique_ptr<sdk::SnapshotWriter>> begin_snapshot_file(const std::string& dir,
                                                                 sdk::Zxid zxid);

// ZooKeeper's SnapStream#isValidSnapshot, without deserialising: plain files must be at least
// 10 bytes and end with 00 00 00 01 2F (the ustring "/"), gzip files start with the gzip
// magic, snappy files with snappy-java's. Sets `size` to the file size.
Result<bool> snapshot_looks_valid(const std::string& dir, const SnapshotFile& snap,
                                  uint64_t& size);

// Streams dir/<snap.name> into `sink`, verifying seal 1 and, with a digest trailer, seal 2.
// Snappy-compressed files are refused (snappy-java's framing is not implemented).
Status load_snapshot_file(const std::string& dir, const SnapshotFile& snap,
                          sdk::SnapshotSink& sink);

}  // namespace paddock::storage_file
