// compare mode: the same workloads against two targets in alternation (round 1: A then B,
// round 2: A then B, ...), with per-round ratios A/B and their median per metric, so slow
// drift of the machine (other builds, page cache, thermal) hits both sides alike.
#include <unistd.h>

#include <cmath>
#include <memory>

#include "common.hpp"
#include "modes.hpp"
#include "output.hpp"
#include "proc_stats.hpp"

namespace paddock::bench {

namespace {

struct Side {
  std::string name;  // "A" / "B"
  TargetSpec spec;
  std::shared_ptr<ManagedServer> server;  // shared by both sides when same_server()
  std::unique_ptr<LoadClient> pool;
  int port = 0;
  pid_t pid = -1;
  std::string label() const { return name + " " + spec.label(); }
};

double ratio(double a, double b) { return (std::isfinite(a) && std::isfinite(b) && b > 0) ? a / b : nan(); }

struct Metric {
  const char* key;
  const char* title;
  double (*get)(const Measured&);
};

const Metric kMetrics[] = {
    {"ops_per_s", "ops/s", [](const Measured& m) { return m.load.ops_per_s(); }},
    {"p50", "p50", [](const Measured& m) { return m.load.latency.quantile(0.5); }},
    {"p90", "p90", [](const Measured& m) { return m.load.latency.quantile(0.9); }},
    {"p99", "p99", [](const Measured& m) { return m.load.latency.quantile(0.99); }},
    {"p999", "p99.9", [](const Measured& m) { return m.load.latency.quantile(0.999); }},
    {"server_cpu_per_op", "server CPU/op", [](const Measured& m) { return m.server_cpu_us_per_op(); }},
    {"server_rss", "server RSS", [](const Measured& m) { return static_cast<double>(m.server_rss_kb); }},
};

}  // namespace

int run_compare_mode(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs = {
      {"a", "TARGET", "", "first target: paddock:CONFIG, zookeeper[:CONFIG] or host:port; tls://TARGET for its TLS port"},
      {"b", "TARGET", "", "second target (ratios are A/B); the same CONFIG as A, one of them tls://, is A's own server"},
  };
  for (auto& s : load_option_specs("setData,create,getData,mixed", "5", "3", "10")) specs.push_back(s);
  for (auto& s : common_option_specs()) specs.push_back(s);
  Options opts("compare", specs);
  opts.parse(args);
  if (opts.flag("help")) {
    std::printf("usage: paddock-bench compare --a TARGET --b TARGET [options]\n\n%s", opts.help().c_str());
    return 0;
  }
  if (!opts.has("a") || !opts.has("b")) throw BenchError("compare mode needs --a and --b");
  std::vector<Workload> workloads = workloads_from(opts);
  int64_t count = opts.integer("count", 1);
  double duration = opts.number("duration", 0.01);
  double warmup = opts.number("warmup", 0);
  int rounds = static_cast<int>(opts.integer("rounds", 1));

  Output out(opts.str("json"), opts.flag("quiet"));
  WorkDir work(opts.str("work-dir"), opts.flag("keep"));
  if (on_tmpfs(work.path())) out.line("warning: " + work.path() + " is on tmpfs: fsync costs nothing there");
  Side sides[2];
  sides[0].name = "A";
  sides[1].name = "B";
  sides[0].spec = parse_target(opts.str("a"));
  sides[1].spec = parse_target(opts.str("b"));
  LaunchSettings launch = launch_settings_from(opts);
  for (int i = 0; i < 2; ++i) {
    Side& s = sides[i];
    if (i == 1 && same_server(sides[0].spec, s.spec)) {
      s.server = sides[0].server;  // B is A's server through its other port
      s.port = s.server->client_port(s.spec.tls);
      s.pid = s.server->pid();
    } else if (s.spec.managed()) {
      s.server = std::make_shared<ManagedServer>(s.spec, launch, work.subdir("server-" + s.name));
      s.port = s.server->client_port(s.spec.tls);
      auto p = out.progress("starting " + s.label());
      s.server->start();
      p->finish();
      s.pid = s.server->pid();
    } else {
      s.port = s.spec.port;
      if (auto found = pid_listening_on(s.spec.port)) s.pid = *found;
    }
    out.line(s.label() + " at " + (s.spec.tls ? "tls://" : "") + "127.0.0.1:" + std::to_string(s.port) +
             (s.pid > 0 ? " (PID " + std::to_string(s.pid) + ")" : " (PID unknown: no CPU / RSS figures)"));
  }
  if (same_server(sides[0].spec, sides[1].spec)) {
    out.line("A and B are one server: its plain and its TLS client port");
  }
  // One client for both sides, so only the targets differ.
  ClientKind client = client_from(opts, sides[0].spec.tls || sides[1].spec.tls);
  out.line("load client: " + std::string(client == ClientKind::kC ? "libzookeeper-mt (c)" : "native"));
  LoadConfig cfgs[2];
  for (int i = 0; i < 2; ++i) {
    cfgs[i] = load_config_from(opts, sides[i].port, sides[i].spec.tls, client, work.path() + "/client.log");
    sides[i].pool = make_load_client(cfgs[i]);
    auto p = out.progress("preparing keys on " + sides[i].name);
    sides[i].pool->prepare_keys(p.get());
  }
  for (auto& s : sides) warm_up(*s.pool, workloads, warmup, s.label(), out);

  // results[w][side][round]
  std::vector<std::array<std::vector<Measured>, 2>> results(workloads.size());
  bool failed = false;
  for (int round = 1; round <= rounds; ++round) {
    for (size_t w = 0; w < workloads.size(); ++w) {
      for (int i = 0; i < 2; ++i) {
        throw_if_interrupted();
        Side& s = sides[i];
        Measured m = measure(*s.pool, workloads[w], count, duration,
                             "c" + std::to_string(getpid()) + "r" + std::to_string(round) + "w" + std::to_string(w),
                             s.pid, s.label(), out,
                             "r" + std::to_string(round) + " " + workloads[w].name + " " + s.name);
        m.round = round;
        JsonObject rec = measured_json(m, "compare", cfgs[i], workloads[w]);
        rec.set("side", s.name);
        out.record(rec);
        out.line(measured_line(m));
        failed = failed || !m.load.aborted.empty();
        results[w][static_cast<size_t>(i)].push_back(std::move(m));
      }
      const Measured& a = results[w][0].back();
      const Measured& b = results[w][1].back();
      JsonObject r;
      r.set("mode", "compare").set("type", "ratio").set("workload", workloads[w].name).set("round", round)
          .set("a", sides[0].spec.label()).set("b", sides[1].spec.label());
      for (const auto& metric : kMetrics) r.set(metric.key, ratio(metric.get(a), metric.get(b)));
      out.record(r);
      char line[256];
      std::snprintf(line, sizeof line, "  round %d %-8s A/B: ops/s %.2f  p50 %.2f  p99 %.2f  p99.9 %.2f  server CPU/op %.2f",
                    round, workloads[w].name.c_str(), ratio(kMetrics[0].get(a), kMetrics[0].get(b)),
                    ratio(kMetrics[1].get(a), kMetrics[1].get(b)), ratio(kMetrics[3].get(a), kMetrics[3].get(b)),
                    ratio(kMetrics[4].get(a), kMetrics[4].get(b)), ratio(kMetrics[5].get(a), kMetrics[5].get(b)));
      out.line(line);
    }
  }

  out.line("");
  out.line("median ratios A/B over " + std::to_string(rounds) + " rounds (A = " + sides[0].spec.label() +
           ", B = " + sides[1].spec.label() + "; ops/s > 1 and latency / CPU < 1 favour A):");
  PlotPanel tput{"Throughput, median of " + std::to_string(rounds) + " rounds", "ops/s", false, {}, {sides[0].label(), sides[1].label()}, {}};
  PlotPanel lat{"Latency percentiles, median of rounds", "milliseconds (log)", true, {}, {sides[0].label(), sides[1].label()}, {}};
  PlotPanel rat{"Median ratio A/B per metric (ops/s: higher favours A; p99 and CPU/op: lower favours A)", "A / B", false,
                {}, {"ops/s", "p99 latency", "server CPU/op"}, {}, 1.0};
  for (size_t w = 0; w < workloads.size(); ++w) {
    JsonObject med;
    med.set("mode", "compare").set("type", "median_ratio").set("workload", workloads[w].name)
        .set("rounds", rounds).set("a", sides[0].spec.label()).set("b", sides[1].spec.label());
    std::string line = "  " + workloads[w].name + ":";
    std::vector<double> medians;
    for (const auto& metric : kMetrics) {
      std::vector<double> rs;
      for (int r = 0; r < rounds; ++r) {
        rs.push_back(ratio(metric.get(results[w][0][static_cast<size_t>(r)]), metric.get(results[w][1][static_cast<size_t>(r)])));
      }
      double m = median(rs);
      medians.push_back(m);
      med.set(metric.key, m);
      char part[64];
      std::snprintf(part, sizeof part, "  %s %.2f", metric.title, m);
      line += part;
    }
    auto side_median = [&](int side, const Metric& metric) {
      std::vector<double> v;
      for (const auto& m : results[w][static_cast<size_t>(side)]) v.push_back(metric.get(m));
      return median(v);
    };
    JsonObject a_med, b_med;
    for (const auto& metric : kMetrics) {
      a_med.set(metric.key, side_median(0, metric));
      b_med.set(metric.key, side_median(1, metric));
    }
    med.set("a_median", a_med).set("b_median", b_med);
    out.record(med);
    out.line(line);
    tput.groups.push_back(workloads[w].name);
    tput.values.push_back({side_median(0, kMetrics[0]), side_median(1, kMetrics[0])});
    for (int q : {1, 3, 4}) {
      lat.groups.push_back(workloads[w].name + " " + kMetrics[q].title);
      lat.values.push_back({side_median(0, kMetrics[q]) / 1e6, side_median(1, kMetrics[q]) / 1e6});
    }
    rat.groups.push_back(workloads[w].name);
    rat.values.push_back({medians[0], medians[3], medians[5]});
  }
  char title[256];
  std::snprintf(title, sizeof title, "paddock-bench compare: %d x %d outstanding, %d-byte values, %g s per run",
                cfgs[0].connections, cfgs[0].outstanding, cfgs[0].value_size, duration);
  maybe_plot(opts, title, {tput, lat, rat}, work.path(), out);
  for (auto& s : sides) s.pool.reset();
  for (auto& s : sides) {
    if (s.server) s.server->stop();
  }
  return failed ? 1 : 0;
}

}  // namespace paddock::bench
