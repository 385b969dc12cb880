#include "txn_log.hpp"

#include <fcntl.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "big_endian.hpp"
#include "paddock/sdk/jute.hpp"

namespace paddock::storage_file {
namespace {

constexpr size_t kReadChunk = 1 << 20;        // reader buffer, grown only for larger entries
constexpr size_t kWriteReserve = 1 << 20;     // initial capacity of the group-commit buffer
constexpr size_t kSpillBytes = 16 << 20;      // hand a huge batch to the kernel before commit
constexpr uint64_t kPadSlack = 4096;          // FilePadding: extend when this close to the end

uint32_t adler32_of(const char* data, size_t size) {
  uLong a = adler32_z(0L, Z_NULL, 0);
  return static_cast<uint32_t>(adler32_z(a, reinterpret_cast<const Bytef*>(data), size));
}

std::string offset_text(uint64_t offset) { return "offset " + std::to_string(offset); }

}  // namespace

uint64_t padded_file_size(uint64_t position, uint64_t current_size, uint64_t prealloc) {
  if (prealloc == 0 || position + kPadSlack < current_size) return current_size;
  if (position > current_size) {
    uint64_t size = position + prealloc;
    return size - size % prealloc;
  }
  return current_size + prealloc;
}

// ---------------------------------------------------------------------------------------------
// LogFileReader

Status LogFileReader::open(const std::string& path, sdk::Host* host) {
  close();
  path_ = path;
  host_ = host;
  status_ = Status::ok();
  auto fd = open_file(path_, O_RDONLY, "open log file for reading");
  if (!fd) return status_ = fd.status();
  fd_ = std::move(*fd);
  auto size = file_size(fd_.get(), path_);
  if (!size) return status_ = size.status();
  size_ = *size;
  if (buf_.size() < kReadChunk) buf_.resize(kReadChunk);
  if (size_ < kLogHeaderSize) {
    // Created by a crash before its first write reached the disk: no entries.
    offset_ = size_;
    return Status::ok();
  }
  if (!fill(kLogHeaderSize)) return status_;
  uint32_t magic = load_be32(buffered());
  if (magic != static_cast<uint32_t>(kLogMagic)) {
    if (only_zeros_from(0)) {
      offset_ = size_;  // preallocated but the header never reached the disk
      return Status::ok();
    }
    if (!status_) return status_;
    return status_ = format_error(path_, "log file header magic", "0x5a4b4c47 (ZKLG)",
                                  hex32(magic));
  }
  begin_ += kLogHeaderSize;
  offset_ = kLogHeaderSize;
  has_header_ = true;
  return Status::ok();
}

void LogFileReader::close() {
  fd_ = Fd();
  has_header_ = false;
  begin_ = end_ = 0;
  offset_ = size_ = 0;
  entry_ = {};
}

bool LogFileReader::fill(size_t n) {
  size_t have = end_ - begin_;
  if (have >= n) return true;
  if (offset_ + n > size_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, have);
    begin_ = 0;
    end_ = have;
  }
  if (buf_.size() < n) buf_.resize(n);
  const uint64_t file_pos = offset_ + end_;
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size() - end_, size_ - file_pos));
  auto got = read_at(fd_.get(), buf_.data() + end_, want, file_pos, path_);
  if (!got) {
    status_ = got.status();
    return false;
  }
  end_ += *got;
  return end_ - begin_ >= n;
}

bool LogFileReader::only_zeros_from(uint64_t offset) {
  char chunk[16384];
  while (offset < size_) {  // bounded by the file size: every pass advances
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof chunk, size_ - offset));
    auto got = read_at(fd_.get(), chunk, want, offset, path_);
    if (!got) {
      status_ = got.status();
      return false;
    }
    if (*got == 0) return true;  // the file shrank under us
    for (size_t i = 0; i < *got; ++i) {
      if (chunk[i] != 0) return false;
    }
    offset += *got;
  }
  return true;
}

LogFileReader::Step LogFileReader::torn(std::string_view what) {
  if (host_ != nullptr) {
    std::string m = path_ + ": the last transaction was partial (" + std::string(what) + " at " +
                    offset_text(offset_) + "); the log ends before it";
    host_->log(sdk::LogLevel::kWarn, m);
  }
  offset_ = size_;
  begin_ = end_ = 0;
  return Step::kEnd;
}

LogFileReader::Step LogFileReader::fail(Status st) {
  status_ = std::move(st);
  return Step::kError;
}

LogFileReader::Step LogFileReader::next() {
  if (!status_) return Step::kError;
  if (!fd_.valid() || offset_ >= size_) return Step::kEnd;
  const uint64_t remaining = size_ - offset_;
  if (remaining < 12 || !fill(12)) {
    if (!status_) return Step::kError;
    if (only_zeros_from(offset_)) return Step::kEnd;
    if (!status_) return Step::kError;
    return torn("end of file inside an entry header");
  }
  const char* p = buffered();
  const uint64_t stored = load_be64(p);
  const auto len = static_cast<int32_t>(load_be32(p + 8));
  if (len == 0) return Step::kEnd;  // preallocated zeros: the end of the data
  if (len < 0) {
    if (only_zeros_from(offset_ + 12)) return torn("negative entry length");
    if (!status_) return Step::kError;
    return fail(format_error(path_, "entry length at " + offset_text(offset_),
                             "a positive length", std::to_string(len)));
  }
  const uint64_t total = 12 + static_cast<uint64_t>(len) + 1;
  if (total > remaining) return torn("end of file inside an entry");
  if (!fill(static_cast<size_t>(total))) {
    if (!status_) return Step::kError;
    return torn("end of file inside an entry");
  }
  p = buffered();
  if (p[12 + len] != 'B') return torn("no end-of-record marker 'B'");
  const uint32_t actual = adler32_of(p + 12, static_cast<size_t>(len));
  if (stored != actual) {
    if (only_zeros_from(offset_ + total)) return torn("checksum mismatch on the final entry");
    if (!status_) return Step::kError;
    return fail(format_error(path_, "Adler-32 of the entry at " + offset_text(offset_),
                             "the stored " + hex32(static_cast<uint32_t>(stored)),
                             "the payload's " + hex32(actual)));
  }
  if (static_cast<size_t>(len) < sdk::jute::kTxnHeaderSize) {
    return fail(format_error(path_, "entry at " + offset_text(offset_),
                             "a txn entry of at least 32 bytes (TxnHeader)",
                             std::to_string(len) + " bytes"));
  }
  entry_ = std::string_view(p + 12, static_cast<size_t>(len));
  zxid_ = static_cast<sdk::Zxid>(load_be64(p + 12 + 12));  // TxnHeader: clientId, cxid, zxid
  begin_ += static_cast<size_t>(total);
  offset_ += total;
  return Step::kEntry;
}

// ---------------------------------------------------------------------------------------------
// Reading across files

namespace {

class LogIterator final : public sdk::TxnIterator {
 public:
  LogIterator(std::string dir, std::vector<LogFile> files, sdk::Zxid from, sdk::Host* host)
      : dir_(std::move(dir)), files_(std::move(files)), from_(from), host_(host) {}

  bool next() override {
    // Every pass consumes an entry or a file, so the loop ends.
    for (;;) {
      if (!status_) return false;
      if (!reader_.is_open()) {
        if (index_ >= files_.size()) return false;
        Status st = reader_.open(join_path(dir_, files_[index_++].name), host_);
        if (!st) {
          status_ = std::move(st);
          return false;
        }
      }
      switch (reader_.next()) {
        case LogFileReader::Step::kEntry:
          if (reader_.zxid() < from_) continue;
          return true;
        case LogFileReader::Step::kEnd:
          reader_.close();
          continue;
        case LogFileReader::Step::kError:
          status_ = reader_.status();
          reader_.close();
          return false;
      }
    }
  }
  sdk::Zxid zxid() const override { return reader_.zxid(); }
  std::string_view bytes() const override { return reader_.entry(); }
  Status status() const override { return status_; }

 private:
  std::string dir_;
  std::vector<LogFile> files_;
  size_t index_ = 0;
  sdk::Zxid from_;
  sdk::Host* host_;
  LogFileReader reader_;
  Status status_;
};

}  // namespace

std::unique_ptr<sdk::TxnIterator> make_log_iterator(std::string dir, std::vector<LogFile> files,
                                                    sdk::Zxid from, sdk::Host* host) {
  return std::make_unique<LogIterator>(std::move(dir), std::move(files), from, host);
}

Result<sdk::Zxid> scan_last_zxid(const std::string& dir, sdk::Host* host) {
  auto logs = list_log_files(dir);
  if (!logs) return logs.status();
  LogFileReader reader;
  for (auto it = logs->rbegin(); it != logs->rend(); ++it) {
    Status st = reader.open(join_path(dir, it->name), host);
    if (!st) return st;
    bool found = false;
    sdk::Zxid last = 0;
    for (;;) {
      auto step = reader.next();
      if (step == LogFileReader::Step::kError) return reader.status();
      if (step == LogFileReader::Step::kEnd) break;
      found = true;
      last = reader.zxid();
    }
    if (found) return last;
  }
  return sdk::Zxid{0};
}

Status truncate_logs(const std::string& dir, sdk::Zxid last_kept, sdk::Host* host) {
  auto logs = list_log_files(dir);
  if (!logs) return logs.status();
  size_t keep = 0;  // files [0, keep) start at or before last_kept
  while (keep < logs->size() && (*logs)[keep].first_zxid <= last_kept) ++keep;
  bool changed = false;
  if (keep > 0) {
    const std::string path = join_path(dir, (*logs)[keep - 1].name);
    LogFileReader reader;
    Status st = reader.open(path, host);
    if (!st) return st;
    uint64_t cut = reader.has_header() ? kLogHeaderSize : 0;
    bool reached = false;  // saw last_kept itself
    for (;;) {
      auto step = reader.next();
      if (step == LogFileReader::Step::kError) {
        // A corrupt entry right after last_kept can only hold a later zxid: cut before it.
        // Anywhere earlier it might be one we must keep, so the log cannot be trusted.
        if (!reached) return reader.status();
        break;
      }
      if (step == LogFileReader::Step::kEnd || reader.zxid() > last_kept) break;
      cut = reader.entry_end();
      reached = reader.zxid() == last_kept;
    }
    reader.close();
    auto fd = open_file(path, O_RDWR, "open log file for truncation");
    if (!fd) return fd.status();
    st = truncate_file(fd->get(), cut, path);
    if (st) st = sync_file(fd->get(), path);
    if (st) st = fd->close(path);
    if (!st) return st;
    changed = true;
  }
  for (size_t i = keep; i < logs->size(); ++i) {
    Status st = remove_file(join_path(dir, (*logs)[i].name));
    if (!st) return st;
    changed = true;
  }
  return changed ? sync_dir(dir) : Status::ok();
}

// ---------------------------------------------------------------------------------------------
// TxnLogWriter

TxnLogWriter::TxnLogWriter(std::string dir, uint64_t prealloc, bool force_sync)
    : dir_(std::move(dir)), prealloc_(prealloc), force_sync_(force_sync) {
  buf_.reserve(kWriteReserve);
}

TxnLogWriter::~TxnLogWriter() {
  // Like ZooKeeper's close(): hand what was appended to the kernel, without waiting for it.
  if (health_) (void)write_buffer();
}

Status TxnLogWriter::fail(Status st) {
  health_ = st;
  return st;
}

Status TxnLogWriter::append(sdk::Zxid zxid, std::string_view entry) {
  if (!health_) return health_;
  if (entry.size() < sdk::jute::kTxnHeaderSize || entry.size() > INT32_MAX) {
    return Status(sdk::ErrorCode::kBadArguments,
                  "append: expected a txn entry of 32 bytes to 2 GiB, found " +
                      std::to_string(entry.size()) + " bytes");
  }
  if (!in_segment_) {
    // A new log file, named after its first transaction, created at the next write.
    in_segment_ = true;
    created_ = true;
    path_ = join_path(dir_, log_file_name(zxid));
    written_ = synced_ = file_size_ = 0;
    padded_size_ = kLogHeaderSize;
    append_be32(buf_, static_cast<uint32_t>(kLogMagic));
    append_be32(buf_, static_cast<uint32_t>(kLogVersion));
    append_be64(buf_, 0);  // dbid
  }
  padded_size_ = padded_file_size(written_ + buf_.size(), padded_size_, prealloc_);
  append_be64(buf_, adler32_of(entry.data(), entry.size()));
  append_be32(buf_, static_cast<uint32_t>(entry.size()));
  buf_.append(entry.data(), entry.size());
  buf_.push_back('B');
  if (buf_.size() >= kSpillBytes) return write_buffer();
  return Status::ok();
}

Status TxnLogWriter::write_buffer() {
  if (buf_.empty()) return Status::ok();
  if (created_) {
    // O_TRUNC: a file of this name can only hold a torn tail (its first zxid is ours).
    auto fd = open_file(path_, O_WRONLY | O_CREAT | O_TRUNC, "create log file");
    if (!fd) return fail(fd.status());
    fd_ = std::move(*fd);
    created_ = false;
    dir_dirty_ = true;
  }
  if (padded_size_ > file_size_) {
    Status st = truncate_file(fd_.get(), padded_size_, path_);  // sparse zeros, as ZooKeeper
    if (!st) return fail(std::move(st));
    file_size_ = padded_size_;
  }
  Status st = write_at(fd_.get(), buf_.data(), buf_.size(), written_, path_);
  if (!st) return fail(std::move(st));
  written_ += buf_.size();
  file_size_ = std::max(file_size_, written_);
  buf_.clear();  // keeps the capacity
  return Status::ok();
}

Status TxnLogWriter::commit() {
  if (!health_) return health_;
  Status st = write_buffer();
  if (!st) return st;
  if (retired_fd_.valid()) {
    if (force_sync_ && retired_dirty_) {
      st = sync_data(retired_fd_.get(), retired_path_);
      if (!st) return fail(std::move(st));
    }
    st = retired_fd_.close(retired_path_);
    if (!st) return fail(std::move(st));
    retired_dirty_ = false;
  }
  if (fd_.valid() && synced_ < written_) {
    if (force_sync_) {
      st = sync_data(fd_.get(), path_);
      if (!st) return fail(std::move(st));
    }
    synced_ = written_;
  }
  if (dir_dirty_) {
    if (force_sync_) {
      st = sync_dir(dir_);
      if (!st) return fail(std::move(st));
    }
    dir_dirty_ = false;
  }
  return Status::ok();
}

Status TxnLogWriter::roll() {
  if (!health_) return health_;
  if (!in_segment_) return Status::ok();
  Status st = write_buffer();
  if (!st) return st;
  if (retired_fd_.valid()) {  // two rolls without a commit in between
    if (force_sync_ && retired_dirty_) {
      st = sync_data(retired_fd_.get(), retired_path_);
      if (!st) return fail(std::move(st));
    }
    st = retired_fd_.close(retired_path_);
    if (!st) return fail(std::move(st));
  }
  retired_fd_ = std::move(fd_);
  retired_path_ = path_;
  retired_dirty_ = synced_ < written_;
  in_segment_ = false;
  return Status::ok();
}

Status TxnLogWriter::close() {
  Status st = commit();
  if (!st) return st;
  st = fd_.close(path_);
  if (!st) return fail(std::move(st));
  in_segment_ = false;
  created_ = false;
  return Status::ok();
}

}  // namespace paddock::storage_file
