// Where results go: JSON lines (--json FILE, or "-" for stdout), a human-readable summary
// (stdout, or stderr when the JSON lines take stdout), and progress on stderr: a bar that
// redraws itself on a terminal, plain lines otherwise.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "json.hpp"

namespace paddock::bench {

class Progress {
 public:
  Progress(std::string label, bool bar, bool quiet);
  ~Progress();
  // `fraction` in [0, 1]; `detail` a short text (ops so far, rate). Cheap to call often.
  void update(double fraction, const std::string& detail = "");
  void finish(const std::string& detail = "");

 private:
  void draw(double fraction, const std::string& detail);
  std::string label_;
  bool bar_;
  bool quiet_;
  bool finished_ = false;
  double last_draw_ = 0;
  int last_quarter_ = 0;
  double start_;
};

class Output {
 public:
  // json_path: "" for none, "-" for stdout. quiet: no progress, no summary.
  Output(const std::string& json_path, bool quiet);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void record(const JsonObject& obj);
  void line(const std::string& text);
  std::unique_ptr<Progress> progress(const std::string& label) const;
  bool terminal() const { return terminal_; }

 private:
  FILE* json_ = nullptr;
  bool own_json_ = false;
  FILE* human_ = stdout;
  bool quiet_;
  bool terminal_;
};

}  // namespace paddock::bench
