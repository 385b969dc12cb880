#include "file_storage.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <unordered_set>

#include "file_names.hpp"
#include "paddock/sdk/plugin.hpp"
#include "posix_file.hpp"
#include "snapshot_file.hpp"

namespace paddock::storage_file {
namespace {

// Long.parseLong of the first line (QuorumPeer#readLongFromFile).
std::optional<int64_t> parse_decimal(std::string_view text) {
  size_t eol = text.find_first_of("\r\n");
  if (eol != std::string_view::npos) text = text.substr(0, eol);
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t limit = negative ? (1ULL << 63) : (1ULL << 63) - 1;
  if (v > limit) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

Status not_open() {
  return Status::error("file storage: expected open() to have succeeded, found it was not");
}

}  // namespace

FileStorage::~FileStorage() = default;

Status FileStorage::configure(const sdk::PluginConfig& /*config*/, sdk::Host& host) {
  host_ = &host;
  return Status::ok();
}

void FileStorage::log(sdk::LogLevel level, const std::string& message) const {
  if (host_ != nullptr) host_->log(level, message);
}

Status FileStorage::check_open() const { return open_ ? Status::ok() : not_open(); }

Status FileStorage::open(const sdk::StorageOptions& options) {
  if (open_) {
    return Status::error("file storage: open() called twice (expected once, found " + snap_dir_ +
                         " already open)");
  }
  if (options.data_dir.empty()) {
    return Status::error("file storage: dataDir: expected a directory, found an empty value");
  }
  if (options.pre_alloc_size_bytes < 0) {
    return Status::error("file storage: preAllocSize: expected a size >= 0, found " +
                         std::to_string(options.pre_alloc_size_bytes));
  }
  snap_dir_ = version_dir(options.data_dir);
  log_dir_ = version_dir(options.data_log_dir.empty() ? options.data_dir : options.data_log_dir);
  if (Status st = create_dirs(snap_dir_); !st) return st;
  if (Status st = create_dirs(log_dir_); !st) return st;
  if (Status st = check_layout(); !st) return st;

  // Snapshots a crash interrupted before they were sealed.
  auto names = list_dir_names(snap_dir_);
  if (!names) return names.status();
  for (const auto& name : *names) {
    if (!is_snapshot_temp_name(name)) continue;
    if (Status st = remove_file(join_path(snap_dir_, name)); !st) return st;
    log(sdk::LogLevel::kInfo, "deleted unfinished snapshot " + join_path(snap_dir_, name));
  }

  if (Status st = rescan_last_zxid(); !st) {
    // Reported by last_logged_zxid() and read_log(); truncate_log() may still repair it.
    log(sdk::LogLevel::kError, st.message());
  }
  writer_ = std::make_unique<TxnLogWriter>(
      log_dir_, static_cast<uint64_t>(options.pre_alloc_size_bytes), options.force_sync);
  open_ = true;
  log(sdk::LogLevel::kInfo, "snapshots in " + snap_dir_ + ", transaction logs in " + log_dir_ +
                                ", last logged zxid " +
                                (last_zxid_status_ ? "0x" + zxid_hex(last_zxid_.load())
                                                   : std::string("unknown (corrupt log)")));
  return Status::ok();
}

// FileTxnSnapLog#checkLogDir / #checkSnapDir, only when the two directories differ.
Status FileStorage::check_layout() const {
  std::error_code ec;
  if (std::filesystem::equivalent(snap_dir_, log_dir_, ec) && !ec) return Status::ok();
  auto log_names = list_dir_names(log_dir_);
  if (!log_names) return log_names.status();
  for (const auto& name : *log_names) {
    if (has_snapshot_prefix(name)) {
      return format_error(log_dir_, "transaction log directory (dataLogDir differs from dataDir)",
                          "no snapshot files", name + "; check dataDir and dataLogDir");
    }
  }
  auto snap_names = list_dir_names(snap_dir_);
  if (!snap_names) return snap_names.status();
  for (const auto& name : *snap_names) {
    if (has_log_prefix(name)) {
      return format_error(snap_dir_, "snapshot directory (dataDir differs from dataLogDir)",
                          "no transaction log files", name + "; check dataDir and dataLogDir");
    }
  }
  return Status::ok();
}

Status FileStorage::rescan_last_zxid() {
  auto last = scan_last_zxid(log_dir_, host_);
  last_zxid_status_ = last.status();
  last_zxid_.store(last ? *last : 0);
  return last_zxid_status_;
}

// ---- transaction log ----

Status FileStorage::append(sdk::Zxid zxid, std::string_view txn_entry) {
  if (!open_) return not_open();
  const sdk::Zxid last = last_zxid_.load(std::memory_order_relaxed);
  if (zxid <= last && last_zxid_status_) {
    return Status(sdk::ErrorCode::kBadArguments,
                  log_dir_ + ": append: expected a zxid above the last logged 0x" +
                      zxid_hex(last) + ", found 0x" + zxid_hex(zxid));
  }
  Status st = writer_->append(zxid, txn_entry);
  if (st) last_zxid_.store(zxid, std::memory_order_relaxed);
  return st;
}

Status FileStorage::commit() {
  if (!open_) return not_open();
  return writer_->commit();
}

Status FileStorage::roll() {
  if (!open_) return not_open();
  return writer_->roll();
}

Result<std::unique_ptr<sdk::TxnIterator>> FileStorage::read_log(sdk::Zxid from) {
  if (!open_) return not_open();
  auto logs = list_log_files(log_dir_);
  if (!logs) return logs.status();
  return make_log_iterator(log_dir_, logs_from(*logs, from), from, host_);
}

Status FileStorage::truncate_log(sdk::Zxid last_kept) {
  if (!open_) return not_open();
  if (Status st = writer_->close(); !st) return st;
  if (Status st = truncate_logs(log_dir_, last_kept, host_); !st) return st;
  log(sdk::LogLevel::kInfo, log_dir_ + ": truncated the log after zxid 0x" + zxid_hex(last_kept));
  // A snapshot newer than the cut holds transactions that are gone now.
  auto snaps = list_snapshot_files(snap_dir_);
  if (!snaps) return snaps.status();
  for (const auto& f : *snaps) {
    if (f.zxid <= last_kept) continue;
    if (Status st = remove_file(join_path(snap_dir_, f.name)); !st) return st;
    log(sdk::LogLevel::kInfo, snap_dir_ + ": removed " + f.name + ", newer than the truncated log");
  }
  return rescan_last_zxid();
}

Result<sdk::Zxid> FileStorage::last_logged_zxid() {
  if (!open_) return not_open();
  if (!last_zxid_status_) return last_zxid_status_;
  return last_zxid_.load(std::memory_order_relaxed);
}

// ---- snapshots ----

Result<std::unique_ptr<sdk::SnapshotWriter>> FileStorage::begin_snapshot(sdk::Zxid zxid) {
  if (!open_) return not_open();
  return begin_snapshot_file(snap_dir_, zxid);
}

Result<std::vector<sdk::SnapshotInfo>> FileStorage::list_snapshots() {
  if (!open_) return not_open();
  auto files = list_snapshot_files(snap_dir_);
  if (!files) return files.status();
  std::vector<sdk::SnapshotInfo> out;
  for (const auto& f : *files) {
    uint64_t size = 0;
    auto valid = snapshot_looks_valid(snap_dir_, f, size);
    if (!valid) {
      // Like SnapStream#isValidSnapshot failing: skip it (it may have just been purged).
      log(sdk::LogLevel::kWarn, valid.status().message());
      continue;
    }
    if (!*valid) {
      log(sdk::LogLevel::kInfo, join_path(snap_dir_, f.name) +
                                    ": not a complete snapshot (no trailing \"/\"), skipped");
      continue;
    }
    out.push_back(sdk::SnapshotInfo{f.zxid, f.name, size});
  }
  return out;
}

Status FileStorage::load_snapshot(const sdk::SnapshotInfo& snapshot, sdk::SnapshotSink& sink) {
  if (!open_) return not_open();
  auto file = parse_snapshot_name(snapshot.name);
  if (!file) {
    return format_error(join_path(snap_dir_, snapshot.name), "load_snapshot",
                        "a name snapshot.<hex zxid>[.gz|.snappy]", "\"" + snapshot.name + "\"");
  }
  return load_snapshot_file(snap_dir_, *file, sink);
}

// ---- epochs ----

Result<std::optional<int64_t>> FileStorage::read_epoch(sdk::EpochKind kind) {
  if (!open_) return not_open();
  const std::string path = join_path(snap_dir_, epoch_file_name(kind));
  auto fd = open_file(path, O_RDONLY, "open epoch file");
  if (!fd) {
    if (errno == ENOENT) return std::optional<int64_t>{};
    return fd.status();
  }
  char text[64];
  auto n = read_at(fd->get(), text, sizeof text, 0, path);
  if (!n) return n.status();
  std::string_view content(text, *n);
  auto value = parse_decimal(content);
  if (!value) {
    return format_error(path, "epoch", "a decimal number",
                        "\"" + std::string(content.substr(0, 32)) + "\"");
  }
  return std::optional<int64_t>(*value);
}

Status FileStorage::write_epoch(sdk::EpochKind kind, int64_t epoch) {
  if (!open_) return not_open();
  const std::string name = epoch_file_name(kind);
  return write_file_atomically(snap_dir_, name, atomic_temp_name(name), std::to_string(epoch));
}

// ---- retention ----

// PurgeTxnLog#purge: keep the newest `retain` valid snapshots; delete older snapshots, and
// older logs except the one that may hold transactions of the oldest kept snapshot.
Status FileStorage::purge(int retain) {
  if (!open_) return not_open();
  if (retain < 3) {
    return Status(sdk::ErrorCode::kBadArguments,
                  "purge: expected a snapshot retain count of at least 3 (PurgeTxnLog), found " +
                      std::to_string(retain));
  }
  auto snaps = list_snapshots();
  if (!snaps) return snaps.status();
  if (snaps->empty()) return Status::ok();
  const size_t kept = std::min(snaps->size(), static_cast<size_t>(retain));
  const sdk::Zxid least = (*snaps)[kept - 1].zxid;

  auto logs = list_log_files(log_dir_);
  if (!logs) return logs.status();
  std::unordered_set<std::string> needed;
  for (const auto& f : logs_from(*logs, least)) needed.insert(f.name);
  for (const auto& f : *logs) {
    if (f.first_zxid >= least || needed.count(f.name) != 0) continue;
    if (Status st = remove_file(join_path(log_dir_, f.name)); !st) return st;
    log(sdk::LogLevel::kInfo, "purged " + join_path(log_dir_, f.name));
  }
  auto files = list_snapshot_files(snap_dir_);
  if (!files) return files.status();
  for (const auto& f : *files) {
    if (f.zxid >= least) continue;
    if (Status st = remove_file(join_path(snap_dir_, f.name)); !st) return st;
    log(sdk::LogLevel::kInfo, "purged " + join_path(snap_dir_, f.name));
  }
  return Status::ok();
}

}  // namespace paddock::storage_file

PADDOCK_PLUGIN(kStorage, "file", "0.1.0", nullptr, 0, paddock::storage_file::FileStorage)
