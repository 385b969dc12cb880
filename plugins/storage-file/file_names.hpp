// Every on-disk name of the file storage, in one place (like LevelDB's db/filename.h): the
// version-2 subdirectory, log.<zxid>, snapshot.<zxid>[.gz|.snappy], the epoch files and the
// temporary names of atomic writes. Nothing else in the plugin spells a file name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::storage_file {

using sdk::Zxid;

// "<base>/version-2": where ZooKeeper 3.x keeps logs (under dataLogDir) and snapshots and
// epochs (under dataDir).
std::string version_dir(std::string_view base);
std::string join_path(std::string_view dir, std::string_view name);

// Long.toHexString: lower-case, no prefix, no leading zeros.
std::string zxid_hex(Zxid zxid);

std::string log_file_name(Zxid first_zxid);    // "log.<hex>"
std::string snapshot_file_name(Zxid zxid);     // "snapshot.<hex>"
// Where a snapshot is written until it is sealed. Starts with a dot, so neither ZooKeeper's
// name parser ("snapshot" must be the first dot-separated part) nor ours sees a snapshot.
std::string snapshot_temp_name(Zxid zxid);     // ".snapshot.<hex>.tmp"
bool is_snapshot_temp_name(std::string_view name);

const char* epoch_file_name(sdk::EpochKind kind);  // "currentEpoch" / "acceptedEpoch"
// Temporary name of an atomic write (ZooKeeper's AtomicFileOutputStream: "<name>.tmp").
std::string atomic_temp_name(std::string_view name);

// ZooKeeper's own prefix tests (FileTxnSnapLog#checkLogDir / #checkSnapDir).
bool has_log_prefix(std::string_view name);       // "log."
bool has_snapshot_prefix(std::string_view name);  // "snapshot."

enum class Compression { kNone, kGzip, kSnappy };

struct LogFile {
  Zxid first_zxid = 0;
  std::string name;
};

struct SnapshotFile {
  Zxid zxid = 0;
  Compression compression = Compression::kNone;
  std::string name;
};

// Exactly "log.<hex>"; nullopt for anything else.
std::optional<Zxid> parse_log_name(std::string_view name);
// Exactly "snapshot.<hex>", "snapshot.<hex>.gz" or "snapshot.<hex>.snappy".
std::optional<SnapshotFile> parse_snapshot_name(std::string_view name);

// Every entry name of a directory (no "." and "..").
sdk::Result<std::vector<std::string>> list_dir_names(const std::string& dir);

// The log files of a version-2 directory, oldest first (by zxid, not by name).
sdk::Result<std::vector<LogFile>> list_log_files(const std::string& dir);
// The snapshot files of a version-2 directory (any validity), newest first.
sdk::Result<std::vector<SnapshotFile>> list_snapshot_files(const std::string& dir);

// ZooKeeper's FileTxnLog#getLogFiles: the log with the greatest first zxid <= `zxid` (or the
// oldest when none starts that early) and every later one. `logs` is oldest first.
std::vector<LogFile> logs_from(const std::vector<LogFile>& logs, Zxid zxid);

}  // namespace paddock::storage_file
