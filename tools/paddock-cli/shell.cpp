#include "shell.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "command_line.hpp"
#include "commands.hpp"
#include "printer.hpp"

namespace paddock::cli {
namespace {

// $PADDOCK_CLI_HISTORY (empty: none), else ~/.paddock_cli_history.
std::string history_file() {
  if (const char* f = std::getenv("PADDOCK_CLI_HISTORY")) return f;
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.paddock_cli_history";
  }
  return {};
}

bool interactive_terminal(const ShellOptions& o) {
  return o.command.empty() && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
}

// The shell's own commands, with zkCli's usage text.
const std::vector<CommandInfo>& shell_commands() {
  static const std::vector<CommandInfo> v{
      {"connect", "host:port"}, {"exit", ""},       {"help", ""},
      {"history", ""},          {"printwatches", "on|off"},
      {"quit", ""},             {"redo", "cmdno"},
  };
  return v;
}

}  // namespace

Shell::Shell(ShellOptions options)
    : options_(std::move(options)),
      console_(interactive_terminal(options_), history_file()),
      zk_([this](const WatchEvent& e) { on_event(e); },
          [this](const std::string& notice) { console_.notify(notice + "\n"); }) {}

std::string Shell::usage_text() {
  std::vector<CommandInfo> all = zookeeper_commands();
  for (const auto& c : shell_commands()) all.push_back(c);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string out =
      "paddock-cli -server host:port[,host:port...] [-timeout ms] [-r] [cmd args...]\n";
  for (const auto& c : all) {
    out += "\t" + std::string(c.name);
    if (!c.usage.empty()) out += " " + std::string(c.usage);
    out += "\n";
  }
  return out;
}

int Shell::run() {
  if (!connect(options_.server)) {
    if (!console_.editing()) return kExitNoConnection;
  }
  int rc = options_.command.empty() ? run_lines() : run_one_shot();
  zk_.close();
  return rc;
}

bool Shell::connect(const std::string& hosts) {
  host_ = hosts;
  if (zk_.open(hosts, options_.timeout_ms, options_.read_only) != zerr::kOk) {
    int e = errno;
    console_.err("Cannot use the server list " + hosts + ": " + std::strerror(e) +
                 " (want host:port[,host:port...])\n");
    return false;
  }
  if (console_.editing()) console_.out("Connecting to " + hosts + "\n");
  if (!zk_.wait_connected(std::chrono::milliseconds(options_.timeout_ms))) {
    console_.err("Could not connect to " + hosts + " within " + std::to_string(options_.timeout_ms) +
                 " ms (state " + std::string(state_name(zk_.state())) + ")\n");
    return false;
  }
  return true;
}

int Shell::run_one_shot() { return execute(options_.command) == 0 ? kExitOk : kExitFailed; }

int Shell::run_lines() {
  console_.set_prompt([this] { return prompt(); });
  int failures = 0;
  while (!quit_) {
    auto line = console_.read_line();
    if (!line) break;
    if (execute_line(*line) != 0) ++failures;
  }
  // A terminal session ends well however its commands went; a piped script reports failure.
  if (console_.editing()) return kExitOk;
  return failures ? kExitFailed : kExitOk;
}

std::string Shell::prompt() const {
  return "[zk: " + host_ + "(" + std::string(state_name(zk_.state())) + ") " +
         std::to_string(command_count_) + "] ";
}

int Shell::execute_line(const std::string& line) {
  std::vector<std::string> words = split_words(line);
  if (words.empty()) return 0;
  history_[command_count_] = line;
  console_.add_history(line);
  int rc = execute(words);
  ++command_count_;
  return rc;
}

int Shell::execute(const std::vector<std::string>& words) {
  const std::string& cmd = words.at(0);
  if (cmd == "quit" || cmd == "exit") {
    quit_ = true;
    return 0;
  }
  if (cmd == "help") {
    console_.out(usage_text());
    return 0;
  }
  if (cmd == "history") return builtin_history();
  if (cmd == "redo") return builtin_redo(words);
  if (cmd == "printwatches") {
    if (words.size() == 1) {
      console_.out(std::string("printwatches is ") + (print_watches_ ? "on" : "off") + "\n");
    } else {
      print_watches_ = words[1] == "on";
    }
    return 0;
  }
  if (cmd == "connect") return connect(words.size() > 1 ? words[1] : host_) ? 0 : 1;
  if (!is_zookeeper_command(cmd)) {
    console_.err("Command not found " + cmd + " (type help for the list)\n");
    return 1;
  }
  if (zk_.alive() && zk_.state() != SessionState::kConnected &&
      zk_.state() != SessionState::kConnectedReadOnly) {
    zk_.wait_connected(std::chrono::milliseconds(options_.timeout_ms));
  }
  if (!zk_.alive()) {
    console_.err("Not connected\n");
    return 1;
  }
  return run_zookeeper_command(zk_, console_, words);
}

int Shell::builtin_history() {
  for (int i = std::max(0, command_count_ - 10); i <= command_count_; ++i) {
    auto it = history_.find(i);
    if (it != history_.end()) console_.out(std::to_string(i) + " - " + it->second + "\n");
  }
  return 0;
}

int Shell::builtin_redo(const std::vector<std::string>& words) {
  if (words.size() < 2) {
    console_.err("redo cmdno\n");
    return 1;
  }
  int i = -1;
  const std::string& n = words[1];
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), i);
  if (ec != std::errc() || p != n.data() + n.size() || i < 0 || i >= command_count_) {
    console_.err("Command index out of range\n");
    return 1;
  }
  std::string line = history_[i];
  std::vector<std::string> again = split_words(line);
  if (again.empty() || again[0] == "redo") {
    console_.err("No redoing redos\n");
    return 1;
  }
  history_[command_count_] = line;
  return execute(again);
}

void Shell::on_event(const WatchEvent& event) {
  if (!print_watches_) return;
  // Connection-state changes are shown on a terminal; a script sees them as failed commands.
  if (event.type == EventType::kNone && !console_.editing()) return;
  console_.notify("\nWATCHER::\n\n" + event_text(event) + "\n");
}

}  // namespace paddock::cli
