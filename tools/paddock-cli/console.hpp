// The CLI's terminal: reading command lines and writing output.
//
// With `editing` (stdin and stdout are a terminal) lines are read through libedit: a prompt,
// emacs-style line editing, history (up/down arrows, Ctrl-R) kept in a file. Text that
// arrives from another thread while a line is being typed — watch events — is printed above
// the line being edited, and the prompt and the half-typed line are drawn again below it.
// Without `editing`, lines are read plainly from stdin with no prompt, so scripts can pipe
// commands in, and notifications are printed as they come.
//
// Every write goes through one lock, so a notification never lands inside a line of output.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace paddock::cli {

class Console {
 public:
  // `history_file` (editing only): loaded now, saved after every line; empty = no file.
  Console(bool editing, std::string history_file);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  bool editing() const { return editing_; }

  // Called for every prompt drawn (also when it is drawn again after a notification).
  void set_prompt(std::function<std::string()> prompt);

  // The next line without its line end; none at end of input. Main thread only.
  std::optional<std::string> read_line();
  void add_history(const std::string& line);

  void out(std::string_view text);
  void err(std::string_view text);
  // Any thread. `text` ends with '\n'.
  void notify(std::string text);

 private:
  struct Editor;

  bool editing_;
  std::unique_ptr<Editor> editor_;
};

}  // namespace paddock::cli
