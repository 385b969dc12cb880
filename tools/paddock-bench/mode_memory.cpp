// memory mode: load N znodes and report the server's RSS per znode, the snapshot size on disk,
// and (for servers the tool started) restart-to-first-read after SIGTERM and after SIGKILL.
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "common.hpp"
#include "modes.hpp"
#include "output.hpp"
#include "proc_stats.hpp"

namespace paddock::bench {

namespace fs = std::filesystem;

namespace {

// The newest snapshot file (ZooKeeper's snapshot.<zxid> under version-2/), or 0.
uint64_t newest_snapshot_bytes(const std::string& data_dir, std::string* name) {
  std::error_code ec;
  uint64_t best_zxid = 0, best_size = 0;
  bool found = false;
  for (fs::recursive_directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string f = it->path().filename().string();
    if (f.rfind("snapshot.", 0) != 0) continue;
    uint64_t zxid = std::strtoull(f.c_str() + 9, nullptr, 16);
    if (!found || zxid >= best_zxid) {
      found = true;
      best_zxid = zxid;
      std::error_code e2;
      best_size = it->file_size(e2);
      if (name != nullptr) *name = f;
    }
  }
  return best_size;
}

struct MemoryResult {
  std::string target;
  int64_t znodes = 0;
  double load_s = 0;
  int64_t rss_before_kb = -1, rss_after_kb = -1, rss_restarted_kb = -1;
  double rss_per_znode = nan();
  double restart_graceful_s = nan(), stop_graceful_s = nan(), restart_kill_s = nan();
  uint64_t snapshot_bytes = 0;
  std::string snapshot_name;
  uint64_t data_dir_bytes = 0;
};

}  // namespace

int run_memory_mode(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs = {
      {"target", "TARGET", "", "paddock:CONFIG, zookeeper[:CONFIG] or host:port (no restarts then)", true},
      {"znodes", "N", "100000", "znodes to load (1m allowed)"},
      {"value-size", "BYTES", "100", "znode value size"},
      {"connections", "C", "4", "client sessions used to load"},
      {"outstanding", "W", "64", "requests in flight per session while loading"},
      {"server-pid", "PID", "", "PID of an external target (else found by its port when visible)"},
      {"data-dir", "DIR", "", "dataDir of an external target (for the snapshot size)"},
      {"load-timeout", "SECONDS", "3600", "bound on loading the znodes"},
      {"restart-timeout", "SECONDS", "600", "bound on each restart until the first read"},
  };
  for (auto& s : common_option_specs()) specs.push_back(s);
  Options opts("memory", specs);
  opts.parse(args);
  if (opts.flag("help")) {
    std::printf("usage: paddock-bench memory --target TARGET [--target TARGET2] --znodes N [options]\n\n%s",
                opts.help().c_str());
    return 0;
  }
  std::vector<std::string> targets = opts.all("target");
  if (targets.empty()) throw BenchError("memory mode needs --target");
  int64_t znodes = opts.integer("znodes", 1);
  double load_timeout = opts.number("load-timeout", 1);
  double restart_timeout = opts.number("restart-timeout", 1);
  Output out(opts.str("json"), opts.flag("quiet"));
  WorkDir work(opts.str("work-dir"), opts.flag("keep"));
  if (on_tmpfs(work.path())) out.line("warning: " + work.path() + " is on tmpfs: fsync costs nothing there");

  std::vector<MemoryResult> results;
  int index = 0;
  for (const auto& text : targets) {
    throw_if_interrupted();
    TargetSpec spec = parse_target(text);
    if (spec.tls) throw BenchError("memory mode loads and probes plain client ports only (got " + text + ")");
    MemoryResult r;
    r.target = spec.label();
    r.znodes = znodes;
    std::unique_ptr<ManagedServer> server;
    int port = 0;
    std::string data_dir;
    pid_t pid = -1;
    if (spec.managed()) {
      server = std::make_unique<ManagedServer>(spec, launch_settings_from(opts),
                                               work.subdir("server" + std::to_string(index)));
      auto p = out.progress("starting " + spec.label());
      server->start();
      p->finish();
      port = server->port();
      pid = server->pid();
      data_dir = server->data_dir();
    } else {
      port = spec.port;
      data_dir = opts.str("data-dir");
      if (opts.has("server-pid")) pid = static_cast<pid_t>(opts.integer("server-pid", 1));
      else if (auto found = pid_listening_on(spec.port)) pid = *found;
    }
    ++index;
    if (pid > 0) r.rss_before_kb = sample_process(pid).rss_kb;

    LoadConfig cfg;
    cfg.port = port;
    cfg.connections = static_cast<int>(opts.integer("connections", 1));
    cfg.outstanding = static_cast<int>(opts.integer("outstanding", 1));
    cfg.value_size = static_cast<int>(opts.integer("value-size", 0));
    cfg.keys = 1;
    cfg.base = "/paddock-bench-mem";
    cfg.client_log = work.path() + "/client.log";
    std::string probe_path;
    {
      auto client = make_load_client(cfg);
      LoadClient& pool = *client;
      pool.prepare_keys(nullptr);
      auto progress = out.progress("loading " + std::to_string(znodes) + " znodes into " + spec.label());
      LoadResult load = pool.run(make_workload("create", ""), znodes, load_timeout,
                                 "m" + std::to_string(getpid()), progress.get());
      progress->finish(human_count(load.ops_per_s()) + " creates/s");
      if (!load.aborted.empty() || load.ops != znodes) {
        throw BenchError("loading znodes into " + spec.label() + " stopped after " + std::to_string(load.ops) +
                         " of " + std::to_string(znodes) +
                         (load.aborted.empty() ? " (time bound --load-timeout)" : ": " + load.aborted));
      }
      r.load_s = load.elapsed_s;
      probe_path = pool.last_created();
    }
    if (pid > 0) {
      r.rss_after_kb = sample_process(pid).rss_kb;
      r.rss_per_znode = static_cast<double>(r.rss_after_kb - r.rss_before_kb) * 1024.0 / static_cast<double>(znodes);
    }
    if (server) {
      auto p = out.progress("restart after SIGTERM");
      r.stop_graceful_s = server->stop(60);
      r.restart_graceful_s = server->start_and_time_read(probe_path, restart_timeout);
      p->finish(human_us(r.restart_graceful_s * 1e6));
      r.rss_restarted_kb = sample_process(server->pid()).rss_kb;
      auto p2 = out.progress("restart after SIGKILL");
      server->kill9();
      r.restart_kill_s = server->start_and_time_read(probe_path, restart_timeout);
      p2->finish(human_us(r.restart_kill_s * 1e6));
    }
    // Measured once the server has stopped, so no snapshot is half-written.
    if (server) server->stop(60);
    if (!data_dir.empty()) {
      r.snapshot_bytes = newest_snapshot_bytes(data_dir, &r.snapshot_name);
      r.data_dir_bytes = dir_bytes(data_dir);
    }

    JsonObject o;
    o.set("mode", "memory").set("type", "run").set("target", r.target).set("znodes", r.znodes)
        .set("value_size", cfg.value_size).set("load_s", r.load_s)
        .set("creates_per_s", static_cast<double>(znodes) / r.load_s);
    if (pid > 0) {
      o.set("rss_before_kb", r.rss_before_kb).set("rss_after_kb", r.rss_after_kb)
          .set("rss_per_znode_bytes", r.rss_per_znode);
    } else {
      o.set_null("rss_per_znode_bytes");
    }
    if (server) {
      o.set("rss_after_restart_kb", r.rss_restarted_kb).set("stop_sigterm_s", r.stop_graceful_s)
          .set("restart_to_first_read_after_sigterm_s", r.restart_graceful_s)
          .set("restart_to_first_read_after_sigkill_s", r.restart_kill_s);
    } else {
      o.set_null("restart_to_first_read_after_sigterm_s").set_null("restart_to_first_read_after_sigkill_s");
    }
    if (!data_dir.empty()) {
      o.set("snapshot_bytes", r.snapshot_bytes).set("snapshot_file", r.snapshot_name)
          .set("data_dir_bytes", r.data_dir_bytes);
    } else {
      o.set_null("snapshot_bytes");
    }
    out.record(o);
    char line[512];
    std::snprintf(line, sizeof line,
                  "memory %-22s %lld znodes  RSS %s -> %s (%s per znode)  snapshot %s  restart to first read: "
                  "%s after SIGTERM, %s after SIGKILL",
                  r.target.c_str(), static_cast<long long>(znodes),
                  pid > 0 ? human_bytes(static_cast<double>(r.rss_before_kb) * 1024).c_str() : "?",
                  pid > 0 ? human_bytes(static_cast<double>(r.rss_after_kb) * 1024).c_str() : "?",
                  pid > 0 ? human_bytes(r.rss_per_znode).c_str() : "?",
                  data_dir.empty() ? "?" : human_bytes(static_cast<double>(r.snapshot_bytes)).c_str(),
                  server ? human_us(r.restart_graceful_s * 1e6).c_str() : "n/a (not started by the tool)",
                  server ? human_us(r.restart_kill_s * 1e6).c_str() : "n/a");
    out.line(line);
    results.push_back(r);
  }
  if (results.size() == 2) {
    const auto& a = results[0];
    const auto& b = results[1];
    auto ratio = [](double x, double y) { return y > 0 ? x / y : nan(); };
    JsonObject o;
    o.set("mode", "memory").set("type", "ratio").set("a", a.target).set("b", b.target)
        .set("rss_per_znode", ratio(a.rss_per_znode, b.rss_per_znode))
        .set("snapshot_bytes", ratio(static_cast<double>(a.snapshot_bytes), static_cast<double>(b.snapshot_bytes)))
        .set("restart_after_sigterm", ratio(a.restart_graceful_s, b.restart_graceful_s))
        .set("restart_after_sigkill", ratio(a.restart_kill_s, b.restart_kill_s));
    out.record(o);
    char line[256];
    std::snprintf(line, sizeof line, "ratio %s / %s: RSS per znode %.2f, snapshot %.2f, restart %.2f (SIGTERM) %.2f (SIGKILL)",
                  a.target.c_str(), b.target.c_str(), ratio(a.rss_per_znode, b.rss_per_znode),
                  ratio(static_cast<double>(a.snapshot_bytes), static_cast<double>(b.snapshot_bytes)),
                  ratio(a.restart_graceful_s, b.restart_graceful_s), ratio(a.restart_kill_s, b.restart_kill_s));
    out.line(line);
  }
  PlotPanel rss{"Server RSS per znode (after loading, minus before)", "bytes", false, {"RSS per znode"}, {}, {{}}};
  PlotPanel restart{"Restart to first successful getData", "seconds", false, {"after SIGTERM", "after SIGKILL"}, {}, {{}, {}}};
  PlotPanel snap{"Newest snapshot on disk", "MiB", false, {"snapshot"}, {}, {{}}};
  for (const auto& r : results) {
    rss.series.push_back(r.target);
    restart.series.push_back(r.target);
    snap.series.push_back(r.target);
    rss.values[0].push_back(r.rss_per_znode);
    restart.values[0].push_back(r.restart_graceful_s);
    restart.values[1].push_back(r.restart_kill_s);
    snap.values[0].push_back(r.snapshot_bytes > 0 ? static_cast<double>(r.snapshot_bytes) / 1048576.0 : nan());
  }
  maybe_plot(opts, "paddock-bench memory: " + std::to_string(znodes) + " znodes", {rss, restart, snap},
             work.path(), out);
  return 0;
}

}  // namespace paddock::bench
