#include "sqlite_storage.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "paddock/sdk/plugin.hpp"
#include "schema.hpp"

namespace paddock::storage_sqlite {
namespace {

namespace fs = std::filesystem;

Status not_open() {
  return Status::error("sqlite storage: expected open() to have succeeded, found it was not");
}

const char* epoch_name(sdk::EpochKind kind) {
  return kind == sdk::EpochKind::kCurrent ? "currentEpoch" : "acceptedEpoch";
}

Status create_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::error(dir + ": cannot create directory: " + ec.message());
  return Status::ok();
}

// Makes a newly created database file's directory entry durable.
Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::error(dir + ": cannot open directory: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::error(dir + ": cannot fsync directory: " + std::strerror(err));
  return Status::ok();
}

}  // namespace

SqliteStorage::~SqliteStorage() = default;

Status SqliteStorage::configure(const sdk::PluginConfig& /*config*/, sdk::Host& host) {
  host_ = &host;
  return Status::ok();
}

// A dataDir that already holds ZooKeeper's files (storage-file's) must not silently start
// empty: the user switched paddock.storage without converting.
Status SqliteStorage::refuse_zookeeper_files(const std::string& dir) const {
  std::error_code ec;
  const fs::path v2 = fs::path(dir) / "version-2";
  if (!fs::is_directory(v2, ec)) return Status::ok();
  for (const auto& e : fs::directory_iterator(v2, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("log.", 0) == 0 || name.rfind("snapshot.", 0) == 0) {
      return Status::error(v2.string() +
                           ": expected no ZooKeeper data files with paddock.storage=sqlite, found " +
                           name + "; convert the data with paddock-convert or use "
                                  "paddock.storage=file");
    }
  }
  return Status::ok();
}

Status SqliteStorage::open(const sdk::StorageOptions& options) {
  if (open_) return Status::error("sqlite storage: open() called twice (expected once)");
  if (options.data_dir.empty()) {
    return Status::error("sqlite storage: dataDir: expected a directory, found an empty value");
  }
  const std::string data_dir = options.data_dir;
  const std::string log_dir = options.data_log_dir.empty() ? data_dir : options.data_log_dir;
  for (const std::string& dir : {data_dir, log_dir}) {
    if (Status st = create_dir(dir); !st) return st;
  }
  const std::string log_path = join_path(log_dir, kLogFileName);
  const std::string snap_path = join_path(data_dir, kSnapshotFileName);
  std::error_code ec;
  const bool fresh_log = !fs::exists(log_path, ec);
  const bool fresh_snap = !fs::exists(snap_path, ec);
  if (fresh_log && fresh_snap) {
    if (Status st = refuse_zookeeper_files(data_dir); !st) return st;
    if (Status st = refuse_zookeeper_files(log_dir); !st) return st;
  }

  auto log = std::make_unique<TxnStore>(host_);
  if (Status st = log->open(log_path, options.force_sync); !st) return st;
  auto snaps = std::make_unique<SnapshotStore>(host_);
  if (Status st = snaps->open(snap_path); !st) return st;
  if (fresh_log) {
    if (Status st = sync_dir(log_dir); !st) return st;
  }
  if (fresh_snap) {
    if (Status st = sync_dir(data_dir); !st) return st;
  }
  log_ = std::move(log);
  snapshots_ = std::move(snaps);
  open_ = true;
  if (host_ != nullptr) {
    host_->log(sdk::LogLevel::kInfo,
               "snapshots in " + snap_path + ", transaction log in " + log_path +
                   " (WAL, synchronous=" + (options.force_sync ? "FULL" : "OFF") +
                   "), last logged zxid 0x" + zxid_hex(log_->last_zxid()));
  }
  return Status::ok();
}

Status SqliteStorage::append(sdk::Zxid zxid, std::string_view txn_entry) {
  if (!open_) return not_open();
  return log_->append(zxid, txn_entry);
}

Status SqliteStorage::commit() {
  if (!open_) return not_open();
  return log_->commit();
}

Status SqliteStorage::roll() {
  if (!open_) return not_open();
  return log_->roll();
}

Result<std::unique_ptr<sdk::TxnIterator>> SqliteStorage::read_log(sdk::Zxid from) {
  if (!open_) return not_open();
  return log_->read(from);
}

Status SqliteStorage::truncate_log(sdk::Zxid last_kept) {
  if (!open_) return not_open();
  Status st = log_->truncate(last_kept);
  if (!st) return st;
  if (host_ != nullptr) {
    host_->log(sdk::LogLevel::kInfo, "truncated the log after zxid 0x" + zxid_hex(last_kept));
  }
  // A snapshot newer than the cut holds transactions that are gone now.
  return snapshots_->delete_after(last_kept);
}

Result<sdk::Zxid> SqliteStorage::last_logged_zxid() {
  if (!open_) return not_open();
  return log_->last_zxid();
}

Result<std::unique_ptr<sdk::SnapshotWriter>> SqliteStorage::begin_snapshot(sdk::Zxid zxid) {
  if (!open_) return not_open();
  return snapshots_->begin(zxid);
}

Result<std::vector<sdk::SnapshotInfo>> SqliteStorage::list_snapshots() {
  if (!open_) return not_open();
  return snapshots_->list();
}

Status SqliteStorage::load_snapshot(const sdk::SnapshotInfo& snapshot, sdk::SnapshotSink& sink) {
  if (!open_) return not_open();
  return snapshots_->load(snapshot, sink);
}

Result<std::optional<int64_t>> SqliteStorage::read_epoch(sdk::EpochKind kind) {
  if (!open_) return not_open();
  return log_->read_epoch(epoch_name(kind));
}

Status SqliteStorage::write_epoch(sdk::EpochKind kind, int64_t epoch) {
  if (!open_) return not_open();
  return log_->write_epoch(epoch_name(kind), epoch);
}

// storage-file's (PurgeTxnLog's) rule: keep the newest `retain` snapshots and the log
// segments from the one that may hold transactions of the oldest kept snapshot.
Status SqliteStorage::purge(int retain) {
  if (!open_) return not_open();
  if (retain < 3) {
    return Status(sdk::ErrorCode::kBadArguments,
                  "purge: expected a snapshot retain count of at least 3 (PurgeTxnLog), found " +
                      std::to_string(retain));
  }
  auto snaps = snapshots_->list();
  if (!snaps) return snaps.status();
  if (snaps->empty()) return Status::ok();
  const size_t kept = std::min(snaps->size(), static_cast<size_t>(retain));
  const sdk::Zxid least = (*snaps)[kept - 1].zxid;
  if (Status st = log_->purge_before_segment_of(least); !st) return st;
  return snapshots_->delete_before(least);
}

}  // namespace paddock::storage_sqlite

PADDOCK_PLUGIN(kStorage, "sqlite", "0.1.0", nullptr, 0, paddock::storage_sqlite::SqliteStorage)
