// paddock-cli: a command-line client for any ZooKeeper-protocol server (Paddock, Apache
// ZooKeeper), with zkCli's commands and output. See docs/cli.md.
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "shell.hpp"

namespace {

using paddock::cli::Shell;
using paddock::cli::ShellOptions;

int bad_invocation(const std::string& message) {
  std::fprintf(stderr, "paddock-cli: %s\n%s", message.c_str(), Shell::usage_text().c_str());
  return paddock::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  ShellOptions options;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    if (a == "-server") {
      if (!value(&options.server)) return bad_invocation("no argument found for option -server");
    } else if (a == "-timeout") {
      std::string t;
      if (!value(&t)) return bad_invocation("no argument found for option -timeout");
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), options.timeout_ms);
      if (ec != std::errc() || p != t.data() + t.size() || options.timeout_ms <= 0) {
        return bad_invocation("-timeout wants a positive number of milliseconds, not '" + t + "'");
      }
    } else if (a == "-r") {
      options.read_only = true;
    } else if (a == "-waitforconnection") {
      // zkCli's flag; paddock-cli always waits for the connection (at most -timeout).
    } else if (a == "-h" || a == "-help" || a == "--help") {
      std::fputs(Shell::usage_text().c_str(), stdout);
      return paddock::cli::kExitOk;
    } else if (!a.empty() && a[0] == '-') {
      return bad_invocation("unknown option " + a);
    } else {
      options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
  }
  Shell shell(std::move(options));
  return shell.run();
}
