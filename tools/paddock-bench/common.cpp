#include "common.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace paddock::bench {

namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double now_s() { return static_cast<double>(now_ns()) / 1e9; }

namespace {
void on_signal(int) { g_interrupted.store(true); }
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void throw_if_interrupted() {
  if (g_interrupted.load()) throw BenchError("interrupted");
}

void sleep_s(double seconds) {
  double end = now_s() + seconds;
  while (!g_interrupted.load()) {
    double left = end - now_s();
    if (left <= 0) return;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 0.05)));
  }
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    std::string part = trim(text.substr(start, end - start));
    if (!part.empty()) out.push_back(std::move(part));
    start = end + 1;
  }
  return out;
}

std::string trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

double nan() { return std::numeric_limits<double>::quiet_NaN(); }

double median(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  if (values.empty()) return nan();
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string human_count(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  double a = std::fabs(v);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string human_bytes(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  double a = std::fabs(v);
  if (a >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", v / (1024.0 * 1024 * 1024));
  else if (a >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", v / (1024.0 * 1024));
  else if (a >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", v / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", v);
  return buf;
}

std::string human_us(double us) {
  if (!std::isfinite(us)) return "-";
  char buf[32];
  if (us >= 1e6) std::snprintf(buf, sizeof buf, "%.2f s", us / 1e6);
  else if (us >= 1e3) std::snprintf(buf, sizeof buf, "%.2f ms", us / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f us", us);
  return buf;
}

WorkDir::WorkDir(const std::string& base, bool keep) : keep_(keep) {
  std::string root = base;
  if (root.empty()) {
    const char* t = std::getenv("TMPDIR");
    root = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  std::string templ = (fs::path(root) / "paddock-bench-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw BenchError("cannot create a work directory under " + root + ": " +
                     std::strerror(errno));
  }
  path_ = buf.data();
}

WorkDir::~WorkDir() {
  if (keep_) {
    std::fprintf(stderr, "paddock-bench: kept work directory %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string WorkDir::subdir(const std::string& name) const {
  fs::path p = fs::path(path_) / name;
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw BenchError("cannot create " + p.string() + ": " + ec.message());
  return p.string();
}

bool on_tmpfs(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return false;
  constexpr long kTmpfsMagic = 0x01021994;
  constexpr long kRamfsMagic = 0x858458f6;
  return st.f_type == kTmpfsMagic || st.f_type == kRamfsMagic;
}

uint64_t dir_bytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += it->file_size(e2);
  }
  return total;
}

std::string self_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BenchError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace paddock::bench
