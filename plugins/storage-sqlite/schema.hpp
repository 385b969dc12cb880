// Every on-disk name and table of the SQLite storage, in one place.
//
//   <dataLogDir>/paddock-log.sqlite        the transaction log and the epoch records
//   <dataDir>/paddock-snapshots.sqlite     snapshots
//
// Two database files because SQLite lets one connection write a database at a time: a
// snapshot is written as one transaction that may take seconds, and must never hold up the
// log's group commits (nor be fsynced by them). Both files are in WAL mode; each has a
// -wal and a -shm file beside it while open.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "paddock/sdk/types.hpp"

namespace paddock::storage_sqlite {

inline constexpr const char* kLogFileName = "paddock-log.sqlite";
inline constexpr const char* kSnapshotFileName = "paddock-snapshots.sqlite";

// PRAGMA application_id of both files ("PDCK"), and the schema version (PRAGMA user_version)
// this plugin writes and reads.
inline constexpr int32_t kApplicationId = 0x5044434B;
inline constexpr int32_t kSchemaVersion = 1;

// Transaction log database.
//   txn(zxid PK, checksum, entry)    one row per txn entry; checksum = Adler-32 of entry
//   segment(first_zxid PK)           where roll() started a new segment (ZooKeeper's log
//                                    files), so purge() keeps exactly what storage-file keeps
//   epoch(name PK, value)            "currentEpoch" / "acceptedEpoch"
extern const char* const kLogSchema;

// Snapshot database. Rows of snapshot S are keyed (S << 32) | position, position counting from
// 0 in the order they were written, so one snapshot is one contiguous key range per table.
//   snapshot(id PK, zxid, size_bytes, checksum, digest_zxid, digest_version, digest)
//   snapshot_session(key PK, session_id, timeout_ms)
//   snapshot_acl(key PK, ref, acls)            acls = the jute vector<ACL>
//   snapshot_node(key PK, path, data, acl_ref, czxid .. pzxid)   data NULL = null data
// checksum = Adler-32 over the snapshot's content in a fixed encoding (snapshot_store.cpp).
// The view snapshot_node_v shows the snapshot id and position of each node.
extern const char* const kSnapshotSchema;

inline constexpr int64_t kPositionBits = 32;
inline constexpr int64_t first_key(int64_t snapshot_id) { return snapshot_id << kPositionBits; }
inline constexpr int64_t last_key(int64_t snapshot_id) {
  return (snapshot_id << kPositionBits) | 0xffffffffLL;
}

// ZooKeeper's snapshot.<hex zxid> name, used for SnapshotInfo::name so logs and tools read
// the same as with storage-file.
std::string snapshot_name(sdk::Zxid zxid);
bool parse_snapshot_name(std::string_view name, sdk::Zxid& zxid);
std::string zxid_hex(sdk::Zxid zxid);  // Long.toHexString
std::string join_path(std::string_view dir, std::string_view name);

}  // namespace paddock::storage_sqlite
