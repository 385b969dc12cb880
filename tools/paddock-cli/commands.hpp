// The ZooKeeper commands of the CLI (ls, get, set, create, delete, deleteall, stat, getAcl,
// setAcl, addauth, sync, addWatch, whoami): their syntax, as zkCli's, and what each does and
// prints. The shell's own commands (help, quit, history, redo, connect, printwatches) live in
// shell.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace paddock::cli {

class Console;
class ZkClient;

struct CommandInfo {
  std::string_view name;
  std::string_view usage;  // zkCli's usage text after the name, e.g. "[-s] [-w] path"
};

// Every ZooKeeper command, in the order help lists them.
const std::vector<CommandInfo>& zookeeper_commands();
bool is_zookeeper_command(std::string_view name);

// Runs one command; `words[0]` is its name. Results go to the console's stdout, problems to
// its stderr in zkCli's words. Returns 0 on success, 1 when the command failed.
int run_zookeeper_command(ZkClient& zk, Console& console, const std::vector<std::string>& words);

}  // namespace paddock::cli
