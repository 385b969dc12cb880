#include "posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace paddock::storage_file {

Status os_error(std::string_view path, std::string_view action, int err) {
  std::string m;
  m.reserve(path.size() + action.size() + 64);
  m.append(path).append(": cannot ").append(action).append(": ").append(std::strerror(err));
  return Status::error(std::move(m));
}

Status format_error(std::string_view path, std::string_view what, std::string_view expected,
                    std::string_view found) {
  std::string m;
  m.append(path).append(": ").append(what).append(": expected ").append(expected);
  m.append(", found ").append(found);
  return Status::error(std::move(m));
}

std::string hex32(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 9; i >= 2; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 0xf];
  return s;
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Status Fd::close(std::string_view path) {
  if (fd_ < 0) return Status::ok();
  int rc = ::close(release());
  // Linux always releases the descriptor, even on EINTR; the error is still worth reporting.
  if (rc != 0) return os_error(path, "close", errno);
  return Status::ok();
}

Result<Fd> open_file(const std::string& path, int flags, std::string_view action) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return os_error(path, action, errno);
  return Fd(fd);
}

Result<uint64_t> file_size(int fd, std::string_view path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error(path, "stat", errno);
  return static_cast<uint64_t>(st.st_size);
}

Status write_at(int fd, const char* data, size_t size, uint64_t offset, std::string_view path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "write", errno);
    }
    // pwrite to a regular file makes progress or fails; n == 0 would be a kernel oddity.
    if (n == 0) return os_error(path, "write", EIO);
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

Result<size_t> read_at(int fd, char* data, size_t size, uint64_t offset, std::string_view path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "read", errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status sync_data(int fd, std::string_view path) {
  if (::fdatasync(fd) != 0) return os_error(path, "fdatasync", errno);
  return Status::ok();
}

Status sync_file(int fd, std::string_view path) {
  if (::fsync(fd) != 0) return os_error(path, "fsync", errno);
  return Status::ok();
}

Status sync_dir(const std::string& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY, "open directory");
  if (!fd) return fd.status();
  if (::fsync(fd->get()) != 0) return os_error(dir, "fsync directory", errno);
  return Status::ok();
}

Status truncate_file(int fd, uint64_t size, std::string_view path) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error(path, "set the file size", errno);
  return Status::ok();
}

Status rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return os_error(from, "rename to " + to, errno);
  }
  return Status::ok();
}

Status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_error(path, "delete", errno);
  return Status::ok();
}

Status create_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return os_error(dir, "create directory", ec.value());
  if (!std::filesystem::is_directory(dir, ec)) {
    return format_error(dir, "directory check", "a directory", "another kind of file");
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& dir, const std::string& name,
                             const std::string& temp_name, std::string_view content) {
  const std::string temp = dir + "/" + temp_name;
  const std::string final_path = dir + "/" + name;
  auto fd = open_file(temp, O_WRONLY | O_CREAT | O_TRUNC, "create");
  if (!fd) return fd.status();
  Status st = write_at(fd->get(), content.data(), content.size(), 0, temp);
  if (st) st = sync_file(fd->get(), temp);
  if (st) st = fd->close(temp);
  if (st) st = rename_file(temp, final_path);
  if (st) st = sync_dir(dir);
  if (!st) (void)remove_file(temp);
  return st;
}

}  // namespace paddock::storage_file
