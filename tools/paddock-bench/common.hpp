// Small helpers every mode uses: errors, clocks, interruption, strings, statistics and the
// per-run work directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace paddock::bench {

// A failure the tool reports in one line and exits on (bad option, server that will not start).
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int64_t now_ns();  // steady clock
double now_s();    // steady clock, seconds

// Set by SIGINT / SIGTERM; every loop checks it so the tool stops its own servers and exits.
extern std::atomic<bool> g_interrupted;
void install_signal_handlers();
void throw_if_interrupted();
// Sleeps up to `seconds`, returning early when interrupted.
void sleep_s(double seconds);

std::vector<std::string> split(std::string_view text, char sep);
std::string trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
std::string lower(std::string_view text);

// Median of the finite values (NaN when there are none).
double median(std::vector<double> values);
double nan();

// "12.3 k", "4.56 M" (for throughput and sizes in tables).
std::string human_count(double v);
std::string human_bytes(double v);
std::string human_us(double us);  // "850 us", "12.3 ms"

// A temporary directory removed (recursively) at destruction unless `keep`.
class WorkDir {
 public:
  // Creates <base>/paddock-bench-XXXXXX; `base` empty means $TMPDIR or /tmp.
  WorkDir(const std::string& base, bool keep);
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& path() const { return path_; }
  // A fresh sub-directory <path>/<name> (created).
  std::string subdir(const std::string& name) const;
  bool keep() const { return keep_; }

 private:
  std::string path_;
  bool keep_;
};

// True when `path` is on a RAM file system (fsync costs nothing there: figures would lie).
bool on_tmpfs(const std::string& path);
// Bytes used by the regular files under `path` (recursively).
uint64_t dir_bytes(const std::string& path);
// Directory of the running executable.
std::string self_dir();
std::string read_file(const std::string& path);

}  // namespace paddock::bench
