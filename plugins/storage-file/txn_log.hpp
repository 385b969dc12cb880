// ZooKeeper's transaction log files (spec/disk-formats.md §3):
//   FileHeader{int magic "ZKLG", int version 2, long dbid 0}
//   entry* {long adler32(payload); int len; byte[len] payload; byte 'B'}
//   zero padding, preallocated in steps of preAllocSize.
//
// Writing is group commit: append() frames the entry into one reusable buffer, commit() hands
// the buffer to the kernel with one pwrite() and then fdatasync()s. Reading walks one file
// with a reusable buffer and stops at the padding (len 0), at end of file, or at a torn final
// entry; a checksum mismatch with data after it is corruption.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "file_names.hpp"
#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/storage.hpp"
#include "posix_file.hpp"

namespace paddock::storage_file {

inline constexpr int32_t kLogMagic = 0x5A4B4C47;  // "ZKLG"
inline constexpr int32_t kLogVersion = 2;
inline constexpr uint64_t kLogHeaderSize = 16;
// checksum (8) + length (4) before the payload, 'B' after it.
inline constexpr uint64_t kEntryOverhead = 13;

// ZooKeeper's FilePadding#calculateFileSizeWithPadding: the size the file must have before an
// entry is written at `position`, given the current preallocated size.
uint64_t padded_file_size(uint64_t position, uint64_t current_size, uint64_t prealloc);

// Reads the entries of one log file in order.
class LogFileReader {
 public:
  enum class Step { kEntry, kEnd, kError };

  // `host` (may be null) is told when a torn final entry is dropped. Reuses the buffer of a
  // previous file.
  Status open(const std::string& path, sdk::Host* host);
  void close();
  bool is_open() const noexcept { return fd_.valid(); }

  Step next();
  sdk::Zxid zxid() const noexcept { return zxid_; }
  std::string_view entry() const noexcept { return entry_; }
  uint64_t entry_end() const noexcept { return offset_; }  // file offset after the 'B'
  const Status& status() const noexcept { return status_; }
  const std::string& path() const noexcept { return path_; }
  // False for a file too short for a header or whose header never reached the disk.
  bool has_header() const noexcept { return has_header_; }

 private:
  // Makes `n` bytes available at buffered(); false if the file ends first (or on error).
  bool fill(size_t n);
  const char* buffered() const noexcept { return buf_.data() + begin_; }
  // Whether every byte from `offset` to the end of the file is zero (a torn tail).
  bool only_zeros_from(uint64_t offset);
  Step torn(std::string_view what);
  Step fail(Status st);

  std::string path_;
  Fd fd_;
  sdk::Host* host_ = nullptr;
  bool has_header_ = false;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;     // file offset of the next entry
  std::string buf_;         // file bytes [offset_ - (begin_ - 0) ...]; reused across files
  size_t begin_ = 0;        // first unread byte in buf_ (at file offset offset_)
  size_t end_ = 0;          // end of valid bytes in buf_
  sdk::Zxid zxid_ = 0;
  std::string_view entry_;
  Status status_;
};

// Transactions with zxid >= from, across the log files of a directory (§3.4).
std::unique_ptr<sdk::TxnIterator> make_log_iterator(std::string dir, std::vector<LogFile> files,
                                                    sdk::Zxid from, sdk::Host* host);

// The highest zxid in the logs of `dir` (0 when there is none).
Result<sdk::Zxid> scan_last_zxid(const std::string& dir, sdk::Host* host);

// Keeps the entries with zxid <= last_kept: cuts the log holding the last of them right
// after it (dropping padding) and deletes every later log file (§3.5).
Status truncate_logs(const std::string& dir, sdk::Zxid last_kept, sdk::Host* host);

// The write side of the log. Owned by the storage; used from the sync thread only.
class TxnLogWriter {
 public:
  TxnLogWriter(std::string dir, uint64_t prealloc, bool force_sync);
  ~TxnLogWriter();
  TxnLogWriter(const TxnLogWriter&) = delete;
  TxnLogWriter& operator=(const TxnLogWriter&) = delete;

  Status append(sdk::Zxid zxid, std::string_view entry);
  Status commit();
  // Ends the current file; the next append starts log.<its zxid>. Buffered entries are written
  // to the old file now and made durable by the next commit().
  Status roll();
  // Commits, then closes every file; the next append starts a new file.
  Status close();

 private:
  Status write_buffer();
  Status fail(Status st);

  std::string dir_;
  uint64_t prealloc_;
  bool force_sync_;
  Status health_;              // latched failure: after a failed write or fsync nothing is trusted

  std::string buf_;            // framed entries not yet handed to the kernel
  bool in_segment_ = false;    // an append happened since open/roll
  std::string path_;           // current file
  Fd fd_;
  bool created_ = false;       // the current file must still be created
  uint64_t written_ = 0;       // bytes of the current file handed to the kernel
  uint64_t synced_ = 0;        // bytes of the current file known durable
  uint64_t padded_size_ = 0;   // ZooKeeper's preallocated size (FilePadding.currentSize)
  uint64_t file_size_ = 0;     // size the file really has
  bool dir_dirty_ = false;     // a file was created since the last directory fsync

  std::string retired_path_;   // the file before the last roll(), until it is synced
  Fd retired_fd_;
  bool retired_dirty_ = false;
};

}  // namespace paddock::storage_file
