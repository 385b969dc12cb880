#include "file_names.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "posix_file.hpp"

namespace paddock::storage_file {
namespace {

constexpr std::string_view kVersionDirName = "version-2";
constexpr std::string_view kLogPrefix = "log.";
constexpr std::string_view kSnapshotPrefix = "snapshot.";
constexpr std::string_view kTempSnapshotPrefix = ".snapshot.";
constexpr std::string_view kTempSuffix = ".tmp";

// Long.parseLong(s, 16) restricted to what Long.toHexString produces (no sign): 1-16 hex
// digits, value within a signed 64-bit number.
std::optional<Zxid> parse_hex_zxid(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<Zxid>(v);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string version_dir(std::string_view base) { return join_path(base, kVersionDirName); }

std::string join_path(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

std::string zxid_hex(Zxid zxid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  auto v = static_cast<uint64_t>(zxid);
  char buf[16];
  int n = 0;
  do {
    buf[15 - n++] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  return std::string(buf + 16 - n, static_cast<size_t>(n));
}

std::string log_file_name(Zxid first_zxid) {
  return std::string(kLogPrefix) + zxid_hex(first_zxid);
}

std::string snapshot_file_name(Zxid zxid) {
  return std::string(kSnapshotPrefix) + zxid_hex(zxid);
}

std::string snapshot_temp_name(Zxid zxid) {
  return std::string(kTempSnapshotPrefix) + zxid_hex(zxid) + std::string(kTempSuffix);
}

bool is_snapshot_temp_name(std::string_view name) {
  return starts_with(name, kTempSnapshotPrefix) && name.size() > kTempSuffix.size() &&
         name.substr(name.size() - kTempSuffix.size()) == kTempSuffix;
}

const char* epoch_file_name(sdk::EpochKind kind) {
  return kind == sdk::EpochKind::kCurrent ? "currentEpoch" : "acceptedEpoch";
}

std::string atomic_temp_name(std::string_view name) {
  return std::string(name) + std::string(kTempSuffix);
}

bool has_log_prefix(std::string_view name) { return starts_with(name, kLogPrefix); }
bool has_snapshot_prefix(std::string_view name) { return starts_with(name, kSnapshotPrefix); }

std::optional<Zxid> parse_log_name(std::string_view name) {
  if (!has_log_prefix(name)) return std::nullopt;
  return parse_hex_zxid(name.substr(kLogPrefix.size()));
}

std::optional<SnapshotFile> parse_snapshot_name(std::string_view name) {
  if (!has_snapshot_prefix(name)) return std::nullopt;
  std::string_view rest = name.substr(kSnapshotPrefix.size());
  Compression compression = Compression::kNone;
  size_t dot = rest.find('.');
  if (dot != std::string_view::npos) {
    std::string_view ext = rest.substr(dot + 1);
    if (ext == "gz") compression = Compression::kGzip;
    else if (ext == "snappy") compression = Compression::kSnappy;
    else return std::nullopt;
    rest = rest.substr(0, dot);
  }
  auto zxid = parse_hex_zxid(rest);
  if (!zxid) return std::nullopt;
  return SnapshotFile{*zxid, compression, std::string(name)};
}

namespace {

template <typename Fn>
Status for_each_name(const std::string& dir, Fn&& fn) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return os_error(dir, "list directory", ec.value());
  // The iterator ends with ec set on a read error, so the loop is bounded by the entries.
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    fn(it->path().filename().native());
  }
  if (ec) return os_error(dir, "list directory", ec.value());
  return Status::ok();
}

}  // namespace

sdk::Result<std::vector<std::string>> list_dir_names(const std::string& dir) {
  std::vector<std::string> names;
  Status st = for_each_name(dir, [&](const std::string& name) { names.push_back(name); });
  if (!st) return st;
  return names;
}

sdk::Result<std::vector<LogFile>> list_log_files(const std::string& dir) {
  std::vector<LogFile> logs;
  Status st = for_each_name(dir, [&](const std::string& name) {
    if (auto zxid = parse_log_name(name)) logs.push_back(LogFile{*zxid, name});
  });
  if (!st) return st;
  std::sort(logs.begin(), logs.end(),
            [](const LogFile& a, const LogFile& b) { return a.first_zxid < b.first_zxid; });
  return logs;
}

sdk::Result<std::vector<SnapshotFile>> list_snapshot_files(const std::string& dir) {
  std::vector<SnapshotFile> snaps;
  Status st = for_each_name(dir, [&](const std::string& name) {
    if (auto snap = parse_snapshot_name(name)) snaps.push_back(std::move(*snap));
  });
  if (!st) return st;
  std::sort(snaps.begin(), snaps.end(), [](const SnapshotFile& a, const SnapshotFile& b) {
    return a.zxid != b.zxid ? a.zxid > b.zxid : a.name < b.name;
  });
  return snaps;
}

std::vector<LogFile> logs_from(const std::vector<LogFile>& logs, Zxid zxid) {
  Zxid start = 0;
  for (const auto& f : logs) {
    if (f.first_zxid > zxid) break;
    start = std::max(start, f.first_zxid);
  }
  std::vector<LogFile> out;
  for (const auto& f : logs) {
    if (f.first_zxid >= start) out.push_back(f);
  }
  return out;
}

}  // namespace paddock::storage_file
