#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common.hpp"

namespace paddock::bench {

Progress::Progress(std::string label, bool bar, bool quiet)
    : label_(std::move(label)), bar_(bar), quiet_(quiet), start_(now_s()) {
  if (!quiet_ && !bar_) std::fprintf(stderr, "%s: started\n", label_.c_str());
}

Progress::~Progress() {
  if (!finished_) finish();
}

void Progress::update(double fraction, const std::string& detail) {
  if (quiet_ || finished_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  double t = now_s();
  if (bar_) {
    if (t - last_draw_ < 0.1) return;
    last_draw_ = t;
    draw(fraction, detail);
  } else {
    // Plain lines: one per quarter, and only for phases long enough to need them.
    int quarter = static_cast<int>(fraction * 4);
    if (quarter > last_quarter_ && quarter < 4 && t - start_ > 2.0) {
      last_quarter_ = quarter;
      std::fprintf(stderr, "%s: %d%% %s\n", label_.c_str(), quarter * 25, detail.c_str());
    }
  }
}

void Progress::draw(double fraction, const std::string& detail) {
  constexpr int kWidth = 30;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%-28.28s [%s] %3.0f%% %s", label_.c_str(), bar.c_str(),
               fraction * 100, detail.c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (quiet_) return;
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s", now_s() - start_);
  if (bar_) {
    draw(1.0, detail);
    std::fprintf(stderr, " (%s)\n", took);
  } else {
    std::fprintf(stderr, "%s: done in %s %s\n", label_.c_str(), took, detail.c_str());
  }
}

Output::Output(const std::string& json_path, bool quiet)
    : quiet_(quiet), terminal_(isatty(STDERR_FILENO) == 1) {
  if (json_path == "-") {
    json_ = stdout;
    human_ = stderr;
  } else if (!json_path.empty()) {
    json_ = std::fopen(json_path.c_str(), "w");
    if (json_ == nullptr) {
      throw BenchError("cannot write " + json_path + ": " + std::strerror(errno));
    }
    own_json_ = true;
  }
}

Output::~Output() {
  if (own_json_) std::fclose(json_);
}

void Output::record(const JsonObject& obj) {
  if (json_ == nullptr) return;
  std::string line = obj.str();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), json_);
  std::fflush(json_);
}

void Output::line(const std::string& text) {
  if (quiet_) return;
  std::fprintf(human_, "%s\n", text.c_str());
  std::fflush(human_);
}

std::unique_ptr<Progress> Output::progress(const std::string& label) const {
  return std::make_unique<Progress>(label, terminal_, quiet_);
}

}  // namespace paddock::bench
