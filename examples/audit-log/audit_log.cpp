// audit-log: a Paddock request processor that appends one JSON line per write to a file.
//
//   paddock.processors=afterFinal:audit
//   audit.file=/var/log/paddock/audit.jsonl
//
// Inserted after the final stage, it sees each write once it has been applied and answered,
// so the line carries the zxid it was given and the error code its client got:
//
//   {"time":"2026-11-23T18:05:00.123Z","session":"0x10000a1b2c30000","op":"create",
//    "path":"/app/lock","zxid":"0x1a","err":0,"result":"OK","client":"127.0.0.1:52344"}
//
// (one line in the file). Sessions and zxids are hex strings, as ZooKeeper's logs print them
// (they do not fit a JSON number exactly). Session creation and closing are writes too and
// are logged with an empty path.
//
// Threading: process() runs on the thread that applies writes (ZooKeeper's order) and, for
// requests answered early, on I/O threads. Each line is one write(2) on a file opened with
// O_APPEND, so lines never interleave and no lock is needed; the line is built in a
// per-thread buffer, so no request allocates.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <string>
#include <string_view>

#include <paddock/sdk/plugin.hpp>
#include <paddock/sdk/processor.hpp>
#include <paddock/sdk/status.hpp>
#include <paddock/sdk/types.hpp>

#ifndef AUDIT_VERSION
#define AUDIT_VERSION "0.0.0"
#endif

namespace audit_log {
namespace {

namespace sdk = paddock::sdk;

constexpr sdk::ConfigKeyDecl kConfigKeys[] = {
    {"audit.file", "path", nullptr, "file the audit log appends one JSON line per write to"},
};

void append_hex(std::string& out, int64_t value) {
  char buffer[24];
  const int n = std::snprintf(buffer, sizeof buffer, "\"0x%llx\"",
                              static_cast<unsigned long long>(static_cast<uint64_t>(value)));
  out.append(buffer, static_cast<size_t>(n));
}

// Length of the valid UTF-8 sequence starting at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

// A JSON string; bytes that are not UTF-8 become U+FFFD so every line stays valid JSON.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out.append(buffer);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (const size_t n = utf8_length(s, i); n != 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\\ufffd");
      ++i;
    }
  }
  out.push_back('"');
}

// "2026-11-23T18:05:00.123Z"
void append_time(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const size_t n = std::strftime(buffer, sizeof buffer, "\"%Y-%m-%dT%H:%M:%S", &utc);
  out.append(buffer, n);
  std::snprintf(buffer, sizeof buffer, ".%03dZ\"", static_cast<int>(ms.count() % 1000));
  out.append(buffer);
}

class AuditLog final : public sdk::Processor {
 public:
  ~AuditLog() override { close_file(); }

  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host& host) override {
    host_ = &host;
    const auto file = config.get("audit.file");
    if (!file || file->empty()) {
      return sdk::Status::error("audit.file: required (the file the audit log appends to)");
    }
    path_ = std::string(*file);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      return sdk::Status::error("audit.file: cannot open " + path_ + ": " + std::strerror(errno));
    }
    return sdk::Status::ok();
  }

  sdk::Status start(sdk::ProcessorContext&) override {
    host_->log(sdk::LogLevel::kInfo, "auditing writes to " + path_);
    return sdk::Status::ok();
  }

  sdk::Decision process(sdk::RequestView& request) override {
    if (!request.is_write()) return sdk::Decision::next();
    thread_local std::string line;
    line.clear();
    line.append("{\"time\":");
    append_time(line);
    line.append(",\"session\":");
    append_hex(line, request.session());
    line.append(",\"op\":");
    append_json_string(line, sdk::op_name(request.op()));
    line.append(",\"path\":");
    append_json_string(line, request.path());
    line.append(",\"zxid\":");
    append_hex(line, request.zxid());
    line.append(",\"err\":");
    line.append(std::to_string(static_cast<int32_t>(request.error())));
    line.append(",\"result\":");
    append_json_string(line, sdk::error_name(request.error()));
    line.append(",\"client\":");
    append_json_string(line, request.remote_address());
    line.append("}\n");
    write_line(line);
    return sdk::Decision::next();  // the request is answered already; the audit never fails it
  }

  void stop() override { close_file(); }

 private:
  void write_line(const std::string& line) {
    const ssize_t written = ::write(fd_, line.data(), line.size());
    if (written == static_cast<ssize_t>(line.size())) {
      if (failing_.exchange(false, std::memory_order_relaxed)) {
        host_->log(sdk::LogLevel::kInfo, "writing " + path_ + " works again");
      }
      return;
    }
    // Said once per spell of failures (a full disk would otherwise flood the server log).
    const std::string why = written < 0 ? std::strerror(errno) : "short write";
    if (!failing_.exchange(true, std::memory_order_relaxed)) {
      host_->log(sdk::LogLevel::kError, "cannot append to " + path_ + ": " + why +
                                            "; audit lines are being lost");
    }
  }

  void close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  sdk::Host* host_ = nullptr;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> failing_{false};
};

}  // namespace
}  // namespace audit_log

PADDOCK_PLUGIN(kProcessor, "audit", AUDIT_VERSION, audit_log::kConfigKeys,
               static_cast<uint32_t>(std::size(audit_log::kConfigKeys)), audit_log::AuditLog)
