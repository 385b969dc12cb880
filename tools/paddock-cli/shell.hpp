// The CLI's driver: one-shot (run one command, exit 0 or 1), or a loop reading command
// lines (from a terminal with a prompt and line editing, or piped in). It owns the session,
// prints watch events as they arrive, and implements zkCli's shell commands: help,
// quit/exit, history, redo, printwatches, connect.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "console.hpp"
#include "zk_client.hpp"

namespace paddock::cli {

struct ShellOptions {
  std::string server = "localhost:2181";
  int timeout_ms = 30000;  // session timeout, and how long to wait for a connection
  bool read_only = false;
  std::vector<std::string> command;  // empty: interactive
};

// Exit codes of paddock-cli.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // a command failed
inline constexpr int kExitUsage = 2;        // bad paddock-cli invocation
inline constexpr int kExitNoConnection = 3;  // no session could be established

class Shell {
 public:
  explicit Shell(ShellOptions options);

  int run();

  // The usage text of paddock-cli itself, with every command.
  static std::string usage_text();

 private:
  int run_one_shot();
  int run_lines();
  bool connect(const std::string& hosts);
  // Runs one line; returns 0 on success or when the line is empty, 1 on failure.
  int execute_line(const std::string& line);
  int execute(const std::vector<std::string>& words);
  int builtin_history();
  int builtin_redo(const std::vector<std::string>& words);
  void on_event(const WatchEvent& event);
  std::string prompt() const;

  ShellOptions options_;
  std::string host_;
  Console console_;  // before zk_: the client's callbacks print through it
  ZkClient zk_;
  int command_count_ = 0;
  std::map<int, std::string> history_;
  std::atomic<bool> print_watches_{true};
  bool quit_ = false;
};

}  // namespace paddock::cli
