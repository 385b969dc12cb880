// The four modes and what the server-driving ones share: option declarations, one measured
// run (load + the server's CPU and RSS over it), its JSON record and its summary line.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "json.hpp"
#include "load.hpp"
#include "options.hpp"
#include "plot.hpp"
#include "server_process.hpp"

namespace paddock::bench {

class Output;

// Each returns the process exit code; they throw BenchError on a failure to report.
int run_storage_mode(const std::vector<std::string>& args);
int run_server_mode(const std::vector<std::string>& args);
int run_memory_mode(const std::vector<std::string>& args);
int run_compare_mode(const std::vector<std::string>& args);

// ---- shared by the server-driving modes ----

// Output, work directory and launch options (--json, --plot, --quiet, --work-dir, --keep,
// --paddock-bin, --zk-heap, --ready-timeout).
std::vector<OptionSpec> common_option_specs();
// Load shape options (--connections, --outstanding, --value-size, --keys, --count, --duration,
// --warmup, --workloads, --op, --mix, --rounds) and the client's (--client, --tls-ca,
// --tls-cert, --tls-key).
std::vector<OptionSpec> load_option_specs(const std::string& default_workloads, const std::string& default_duration,
                                          const std::string& default_rounds, const std::string& default_warmup);
// --client: c or native as given; by default native when a target is TLS (the C client has
// no TLS), else c. All targets of a run use the same client.
ClientKind client_from(const Options& opts, bool any_tls);
// The load client's settings for the server at 127.0.0.1:port (tls: a TLS port).
LoadConfig load_config_from(const Options& opts, int port, bool tls, ClientKind client,
                            const std::string& client_log);
std::vector<Workload> workloads_from(const Options& opts);
LaunchSettings launch_settings_from(const Options& opts);

// One measured run of one workload against one server.
struct Measured {
  std::string target;
  int round = 0;
  LoadResult load;
  double server_cpu_s = -1;   // < 0: unknown (no PID)
  int64_t server_rss_kb = -1;
  double client_cpu_s = 0;
  double server_cpu_us_per_op() const;
  double client_cpu_us_per_op() const;
};

Measured measure(LoadClient& pool, const Workload& w, int64_t count, double duration_s,
                 const std::string& tag, pid_t server_pid, const std::string& target_label,
                 Output& out, const std::string& progress_label);
JsonObject measured_json(const Measured& m, const std::string& mode, const LoadConfig& cfg,
                         const Workload& w);
std::string measured_line(const Measured& m);
JsonObject latency_json(const Histogram& h);  // microseconds: p50 p90 p99 p999 mean max

// Warm-up: each workload for its share of `seconds`, results discarded.
void warm_up(LoadClient& pool, const std::vector<Workload>& workloads, double seconds,
             const std::string& label, Output& out);

// Writes the PNG if --plot was given; a failure is reported on stderr, not fatal.
void maybe_plot(const Options& opts, const std::string& title, const std::vector<PlotPanel>& panels,
                const std::string& scratch_dir, Output& out);

}  // namespace paddock::bench
