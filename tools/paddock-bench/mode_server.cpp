// server mode: drive one ZooKeeper-protocol server (external, or started by the tool) with
// one or more workloads; report throughput, latency percentiles, and the server's CPU per
// operation and RSS.
#include <cmath>
#include <filesystem>
#include <memory>

#include "common.hpp"
#include "modes.hpp"
#include "output.hpp"
#include "proc_stats.hpp"

namespace paddock::bench {

namespace fs = std::filesystem;

std::vector<OptionSpec> common_option_specs() {
  return {
      {"json", "FILE", "", "write results as JSON lines to FILE ('-' = stdout)"},
      {"plot", "FILE.png", "", "draw throughput and latency with gnuplot"},
      {"quiet", "", "", "no progress and no summary (JSON / plot only)"},
      {"work-dir", "DIR", "", "where temporary dataDirs and logs go (default $TMPDIR or /tmp)"},
      {"keep", "", "", "keep the work directory (server logs, dataDirs, plot data)"},
      {"paddock-bin", "PATH", "", "paddock binary for paddock:CFG targets (default: next to paddock-bench)"},
      {"zk-heap", "MB", "1000", "Java heap of a zookeeper target (zkServer.sh's default)"},
      {"ready-timeout", "SECONDS", "60", "how long a started server may take to answer"},
  };
}

std::vector<OptionSpec> load_option_specs(const std::string& default_workloads,
                                          const std::string& default_duration,
                                          const std::string& default_rounds,
                                          const std::string& default_warmup) {
  return {
      {"workloads", "LIST", default_workloads,
       "comma list of create, setData, getData, exists, delete, mixed"},
      {"op", "OP", "", "a single workload (same as --workloads OP)"},
      {"mix", "SPEC", "read=90,write=10", "the 'mixed' workload: op=weight,... (read=getData, write=setData)"},
      {"connections", "C", "4", "client sessions"},
      {"outstanding", "W", "16", "requests in flight per session"},
      {"value-size", "BYTES", "100", "znode value size"},
      {"keys", "K", "1000", "znodes read and written by getData / setData / exists"},
      {"count", "N", "1000000", "stop a run after N requests (k / m suffixes allowed)"},
      {"duration", "SECONDS", default_duration, "stop a run after this long"},
      {"warmup", "SECONDS", default_warmup, "unmeasured load before the first run (the JVM needs it)"},
      {"rounds", "R", default_rounds, "repeat every workload R times"},
      {"client", "c|native", "", "load client: libzookeeper-mt (c) or paddock-bench's own (native; "
                                 "TCP or TLS); default native for a tls:// target, else c"},
      {"tls-ca", "FILE", "", "native client over TLS: PEM CA certificates that vouch for the server "
                             "(unset: the server is not verified)"},
      {"tls-cert", "FILE", "", "native client over TLS: PEM client certificate (ssl.clientAuth=need)"},
      {"tls-key", "FILE", "", "native client over TLS: PEM private key of --tls-cert (default: in --tls-cert)"},
  };
}

ClientKind client_from(const Options& opts, bool any_tls) {
  if (!opts.has("client")) return any_tls ? ClientKind::kNative : ClientKind::kC;
  return parse_client(opts.str("client"));
}

LoadConfig load_config_from(const Options& opts, int port, bool tls, ClientKind client,
                            const std::string& client_log) {
  LoadConfig cfg;
  cfg.port = port;
  cfg.tls = tls;
  cfg.client = client;
  cfg.tls_files = {opts.str("tls-ca"), opts.str("tls-cert"), opts.str("tls-key")};
  cfg.connections = static_cast<int>(opts.integer("connections", 1));
  cfg.outstanding = static_cast<int>(opts.integer("outstanding", 1));
  cfg.value_size = static_cast<int>(opts.integer("value-size", 0));
  cfg.keys = static_cast<int>(opts.integer("keys", 1));
  cfg.client_log = client_log;
  if (cfg.connections > 1000) throw BenchError("--connections: at most 1000");
  if (cfg.outstanding > 10000) throw BenchError("--outstanding: at most 10000");
  if (cfg.value_size > 1000000) throw BenchError("--value-size: at most 1000000 (jute.maxbuffer)");
  return cfg;
}

std::vector<Workload> workloads_from(const Options& opts) {
  std::vector<std::string> names;
  if (opts.has("op")) {
    if (opts.has("workloads")) throw BenchError("give --op or --workloads, not both");
    names = {opts.str("op")};
  } else if (opts.has("mix") && !opts.has("workloads")) {
    names = {"mixed"};
  } else {
    names = split(opts.str("workloads"), ',');
  }
  if (names.empty()) throw BenchError("no workload given");
  std::vector<Workload> out;
  for (const auto& n : names) out.push_back(make_workload(n, opts.str("mix")));
  return out;
}

LaunchSettings launch_settings_from(const Options& opts) {
  LaunchSettings s;
  s.paddock_bin = opts.str("paddock-bin");
  s.zk_heap_mb = static_cast<int>(opts.integer("zk-heap", 64));
  s.ready_timeout_s = opts.number("ready-timeout", 1);
  return s;
}

double Measured::server_cpu_us_per_op() const {
  if (server_cpu_s < 0 || load.ops == 0) return nan();
  return server_cpu_s * 1e6 / static_cast<double>(load.ops);
}

double Measured::client_cpu_us_per_op() const {
  if (load.ops == 0) return nan();
  return client_cpu_s * 1e6 / static_cast<double>(load.ops);
}

Measured measure(LoadClient& pool, const Workload& w, int64_t count, double duration_s,
                 const std::string& tag, pid_t server_pid, const std::string& target_label,
                 Output& out, const std::string& progress_label) {
  Measured m;
  m.target = target_label;
  ProcSample before = server_pid > 0 ? sample_process(server_pid) : ProcSample{};
  double client_before = self_cpu_s();
  auto progress = out.progress(progress_label);
  m.load = pool.run(w, count, duration_s, tag, progress.get());
  m.client_cpu_s = self_cpu_s() - client_before;
  if (server_pid > 0) {
    ProcSample after = sample_process(server_pid);
    if (before.ok && after.ok) {
      m.server_cpu_s = after.cpu_s - before.cpu_s;
      m.server_rss_kb = after.rss_kb;
    }
  }
  progress->finish(human_count(m.load.ops_per_s()) + " ops/s");
  return m;
}

JsonObject latency_json(const Histogram& h) {
  JsonObject o;
  o.set("p50", h.quantile(0.50) / 1e3)
      .set("p90", h.quantile(0.90) / 1e3)
      .set("p99", h.quantile(0.99) / 1e3)
      .set("p999", h.quantile(0.999) / 1e3)
      .set("mean", h.mean() / 1e3)
      .set("max", static_cast<double>(h.max()) / 1e3);
  return o;
}

JsonObject measured_json(const Measured& m, const std::string& mode, const LoadConfig& cfg,
                         const Workload& w) {
  JsonObject o;
  o.set("mode", mode)
      .set("type", "run")
      .set("target", m.target)
      .set("workload", w.name)
      .set("mix", w.describe())
      .set("round", m.round)
      .set("connections", cfg.connections)
      .set("outstanding", cfg.outstanding)
      .set("value_size", cfg.value_size)
      .set("client", client_label(cfg.client))
      .set("tls", cfg.tls)
      .set("ops", m.load.ops)
      .set("errors", m.load.errors)
      .set("elapsed_s", m.load.elapsed_s)
      .set("ops_per_s", m.load.ops_per_s())
      .set("latency_us", latency_json(m.load.latency));
  if (w.weights.size() > 1) {
    JsonObject per;
    for (const auto& [op, weight] : w.weights) {
      const Histogram& h = m.load.per_op[static_cast<size_t>(op)];
      JsonObject one = latency_json(h);
      one.set("ops", static_cast<int64_t>(h.count()));
      per.set(op_label(op), one);
    }
    o.set("per_op", per);
  }
  if (m.server_cpu_s >= 0) {
    o.set("server_cpu_s", m.server_cpu_s)
        .set("server_cpu_us_per_op", m.server_cpu_us_per_op())
        .set("server_rss_kb", m.server_rss_kb);
  } else {
    o.set_null("server_cpu_us_per_op").set_null("server_rss_kb");
  }
  o.set("client_cpu_us_per_op", m.client_cpu_us_per_op());
  o.set("load_avg_1m", load_average_1m());
  if (!m.load.error_codes.empty()) o.set("error_codes", m.load.error_summary());
  if (!m.load.aborted.empty()) o.set("aborted", m.load.aborted);
  o.set("timeline_ops_per_s", m.load.timeline);
  return o;
}

std::string measured_line(const Measured& m) {
  const Histogram& h = m.load.latency;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-22s %-9s %10s ops/s  p50 %-9s p90 %-9s p99 %-9s p99.9 %-9s  server %s/op %s RSS",
                m.target.c_str(), m.load.workload.c_str(), human_count(m.load.ops_per_s()).c_str(),
                human_us(h.quantile(0.5) / 1e3).c_str(), human_us(h.quantile(0.9) / 1e3).c_str(),
                human_us(h.quantile(0.99) / 1e3).c_str(), human_us(h.quantile(0.999) / 1e3).c_str(),
                m.server_cpu_s >= 0 ? human_us(m.server_cpu_us_per_op()).c_str() : "?",
                m.server_rss_kb >= 0 ? human_bytes(static_cast<double>(m.server_rss_kb) * 1024).c_str() : "?");
  std::string line = buf;
  line += "  client " + human_us(m.client_cpu_us_per_op()) + "/op";
  if (m.load.errors > 0) line += "  errors: " + m.load.error_summary();
  if (!m.load.aborted.empty()) line += "  ABORTED: " + m.load.aborted;
  return line;
}

void warm_up(LoadClient& pool, const std::vector<Workload>& workloads, double seconds,
             const std::string& label, Output& out) {
  if (seconds <= 0) return;
  auto progress = out.progress("warm-up " + label);
  double share = seconds / static_cast<double>(workloads.size());
  double start = now_s();
  int i = 0;
  for (const auto& w : workloads) {
    LoadResult r = pool.run(w, INT64_MAX / 4, share, "warm" + std::to_string(i++), nullptr);
    progress->update((now_s() - start) / seconds);
    if (!r.aborted.empty()) throw BenchError("warm-up against " + label + " failed: " + r.aborted);
  }
  progress->finish();
}

void maybe_plot(const Options& opts, const std::string& title, const std::vector<PlotPanel>& panels,
                const std::string& scratch_dir, Output& out) {
  std::string png = opts.str("plot");
  if (png.empty()) return;
  try {
    std::string abs = fs::absolute(png).string();
    render_plot(abs, title, panels, scratch_dir);
    out.line("plot written to " + png);
  } catch (const BenchError& e) {
    std::fprintf(stderr, "paddock-bench: no plot: %s\n", e.what());
  }
}

// ---------------------------------------------------------------------------------------------

int run_server_mode(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs = {
      {"target", "TARGET", "", "host:port, paddock:CONFIG, zookeeper or zookeeper:CONFIG; tls://TARGET for its TLS port"},
      {"server-pid", "PID", "", "PID of an external target (else found by its port when visible)"},
  };
  for (auto& s : load_option_specs("create,setData,getData,exists,mixed", "5", "1", "2")) specs.push_back(s);
  for (auto& s : common_option_specs()) specs.push_back(s);
  Options opts("server", specs);
  opts.parse(args);
  if (opts.flag("help")) {
    std::printf("usage: paddock-bench server --target TARGET [options]\n\n%s", opts.help().c_str());
    return 0;
  }
  if (!opts.has("target")) throw BenchError("server mode needs --target (host:port, paddock:CONFIG or zookeeper)");
  TargetSpec spec = parse_target(opts.str("target"));
  std::vector<Workload> workloads = workloads_from(opts);
  int64_t count = opts.integer("count", 1);
  double duration = opts.number("duration", 0.01);
  double warmup = opts.number("warmup", 0);
  int rounds = static_cast<int>(opts.integer("rounds", 1));

  Output out(opts.str("json"), opts.flag("quiet"));
  WorkDir work(opts.str("work-dir"), opts.flag("keep"));
  std::unique_ptr<ManagedServer> server;
  int port = 0;
  pid_t pid = -1;
  std::string pid_source;
  if (spec.managed()) {
    if (on_tmpfs(work.path())) out.line("warning: " + work.path() + " is on tmpfs: fsync costs nothing there");
    server = std::make_unique<ManagedServer>(spec, launch_settings_from(opts), work.subdir("server"));
    port = server->client_port(spec.tls);
    auto p = out.progress("starting " + spec.label());
    server->start();
    p->finish();
    pid = server->pid();
    pid_source = "started by paddock-bench";
  } else {
    port = spec.port;
    if (opts.has("server-pid")) {
      pid = static_cast<pid_t>(opts.integer("server-pid", 1));
      pid_source = "--server-pid";
    } else if (auto found = pid_listening_on(spec.port)) {
      pid = *found;
      pid_source = "found listening on port " + std::to_string(spec.port);
    }
  }
  if (pid > 0 && !sample_process(pid).ok) throw BenchError("cannot read /proc/" + std::to_string(pid));
  LoadConfig cfg = load_config_from(opts, port, spec.tls, client_from(opts, spec.tls), work.path() + "/client.log");
  out.line("target " + spec.label() + " at " + std::string(spec.tls ? "tls://" : "") + cfg.hostport() +
           (pid > 0 ? " (server PID " + std::to_string(pid) + ", " + pid_source + ")"
                    : " (server PID unknown: no CPU / RSS figures; pass --server-pid)"));

  out.line("load client: " + std::string(cfg.client == ClientKind::kC ? "libzookeeper-mt (c)" : "native"));
  auto pool = make_load_client(cfg);
  {
    auto p = out.progress("preparing " + std::to_string(cfg.keys) + " keys");
    pool->prepare_keys(p.get());
  }
  warm_up(*pool, workloads, warmup, spec.label(), out);

  std::vector<std::vector<Measured>> results(workloads.size());
  bool failed = false;
  for (int round = 1; round <= rounds; ++round) {
    for (size_t i = 0; i < workloads.size(); ++i) {
      throw_if_interrupted();
      std::string label = workloads[i].name + (rounds > 1 ? " r" + std::to_string(round) : "");
      Measured m = measure(*pool, workloads[i], count, duration,
                           "s" + std::to_string(getpid()) + "r" + std::to_string(round) + "w" + std::to_string(i),
                           pid, spec.label(), out, label);
      m.round = round;
      out.record(measured_json(m, "server", cfg, workloads[i]));
      out.line(measured_line(m));
      failed = failed || !m.load.aborted.empty();
      results[i].push_back(std::move(m));
    }
  }

  PlotPanel tput{"Throughput" + std::string(rounds > 1 ? " (median of rounds)" : ""), "ops/s", false, {}, {spec.label()}, {}};
  PlotPanel lat{"Latency percentiles (from completion callbacks)", "milliseconds (log)", true, {},
                {"p50", "p90", "p99", "p99.9"}, {}};
  for (size_t i = 0; i < workloads.size(); ++i) {
    std::vector<double> ops;
    std::vector<std::vector<double>> qs(4);
    const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
    for (const auto& m : results[i]) {
      ops.push_back(m.load.ops_per_s());
      for (size_t q = 0; q < 4; ++q) qs[q].push_back(m.load.latency.quantile(quantiles[q]) / 1e6);
    }
    tput.groups.push_back(workloads[i].name);
    tput.values.push_back({median(ops)});
    lat.groups.push_back(workloads[i].name);
    lat.values.push_back({median(qs[0]), median(qs[1]), median(qs[2]), median(qs[3])});
  }
  char title[256];
  std::snprintf(title, sizeof title, "paddock-bench server: %s, %d x %d outstanding, %d-byte values",
                spec.label().c_str(), cfg.connections, cfg.outstanding, cfg.value_size);
  maybe_plot(opts, title, {tput, lat}, work.path(), out);
  pool.reset();
  if (server) server->stop();
  return failed ? 1 : 0;
}

}  // namespace paddock::bench
