// Thin POSIX file helpers for the file storage: an owning descriptor, positional writes and
// reads that retry short transfers, fsync of files and directories, atomic small-file writes.
// Every failure becomes one Status line: the file, what was being done, and the OS's text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "paddock/sdk/status.hpp"

namespace paddock::storage_file {

using sdk::Result;
using sdk::Status;

// "<path>: cannot <action>: <strerror(err)>"
Status os_error(std::string_view path, std::string_view action, int err);
// "<path>: <what>: expected <expected>, found <found>"
Status format_error(std::string_view path, std::string_view what, std::string_view expected,
                    std::string_view found);
std::string hex32(uint32_t v);  // "0x5a4b4c47"

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  // Closes and reports the close() error (which may carry a deferred write error).
  Status close(std::string_view path);

 private:
  int fd_ = -1;
};

Result<Fd> open_file(const std::string& path, int flags, std::string_view action);
Result<uint64_t> file_size(int fd, std::string_view path);

// pwrite() until all of [data, data+size) is at `offset`.
Status write_at(int fd, const char* data, size_t size, uint64_t offset, std::string_view path);
// pread() up to `size` bytes; fewer only at end of file. Returns the count read.
Result<size_t> read_at(int fd, char* data, size_t size, uint64_t offset, std::string_view path);

Status sync_data(int fd, std::string_view path);  // fdatasync
Status sync_file(int fd, std::string_view path);  // fsync
Status sync_dir(const std::string& dir);
Status truncate_file(int fd, uint64_t size, std::string_view path);
Status rename_file(const std::string& from, const std::string& to);
// Deleting a file that is already gone is not an error.
Status remove_file(const std::string& path);
Status create_dirs(const std::string& dir);

// Writes `content` to dir/name atomically: dir/<temp> is written, fsynced and renamed over
// dir/name, then dir is fsynced (ZooKeeper's AtomicFileWritingIdiom).
Status write_file_atomically(const std::string& dir, const std::string& name,
                             const std::string& temp_name, std::string_view content);

}  // namespace paddock::storage_file
