// paddock-bench: measures Paddock (and any ZooKeeper-protocol server) the same way for
// every target, so figures can be compared as ratios. See docs/benchmarks.md.
//
//   paddock-bench storage --backends file,sqlite [...]
//   paddock-bench server  --target host:port | paddock:CONFIG | zookeeper [...]
//   paddock-bench memory  --target paddock:CONFIG --znodes 100000 [...]
//   paddock-bench compare --a paddock:conf/standalone.cfg --b zookeeper [...]
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "modes.hpp"

namespace {

const char* kUsage =
    "usage: paddock-bench MODE [options]   (paddock-bench MODE --help for the options)\n"
    "\n"
    "modes:\n"
    "  storage   drive storage plugins directly: log append with group commit, snapshot, recovery\n"
    "  server    drive one server through the ZooKeeper C client or the native one (TCP or TLS):\n"
    "            ops/s, latency, server CPU and RSS\n"
    "  memory    load N znodes: RSS per znode, snapshot size, restart to first read\n"
    "  compare   the same workloads against two targets in alternation, with A/B ratios\n"
    "\n"
    "targets: host:port (127.0.0.1 only), paddock:CONFIG (a copy on its own port and dataDir),\n"
    "         zookeeper or zookeeper:CONFIG (Apache ZooKeeper 3.8 from Debian's package);\n"
    "         tls://TARGET drives its TLS client port (--client native, --tls-ca/-cert/-key)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace paddock::bench;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  install_signal_handlers();
  std::string mode = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (mode == "storage") return run_storage_mode(args);
    if (mode == "server") return run_server_mode(args);
    if (mode == "memory") return run_memory_mode(args);
    if (mode == "compare") return run_compare_mode(args);
    std::fprintf(stderr, "paddock-bench: unknown mode '%s'\n\n%s", mode.c_str(), kUsage);
    return 2;
  } catch (const BenchError& e) {
    std::fprintf(stderr, "\npaddock-bench %s: %s\n", mode.c_str(), e.what());
    return g_interrupted.load() ? 130 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\npaddock-bench %s: unexpected error: %s\n", mode.c_str(), e.what());
    return 2;
  }
}
