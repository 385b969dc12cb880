// What GET /metrics exposes. ZooKeeper's Prometheus provider names are kept where ZooKeeper
// has the metric: its gauges (znode_count, watch_count, outstanding_requests, ...) and its
// summaries (fsynctime, snapshottime, readlatency, updatelatency). Paddock's additions carry a
// paddock_ prefix: per-op latency histograms and fsync / snapshot histograms, which unlike
// summaries can be aggregated across servers.
#include <string_view>

#include "admin/admin_server.hpp"
#include "admin/prometheus.hpp"
#include "admin/server_info.hpp"
#include "quorum/quorum_peer.hpp"
#include "server/server_stats.hpp"

namespace paddock::admin {
namespace {

struct GaugeDecl {
  std::string_view name;  // the monitor key, which is ZooKeeper's metric name
  std::string_view help;
};

// The monitor values /metrics shows as gauges, as ZooKeeper's provider does.
constexpr GaugeDecl kGauges[] = {
    {"znode_count", "Number of znodes in the data tree"},
    {"watch_count", "Number of watches (data and child) set by clients"},
    {"ephemerals_count", "Number of ephemeral znodes"},
    {"approximate_data_size", "Approximate size of znode paths and data, in bytes"},
    {"global_sessions", "Number of global sessions"},
    {"local_sessions", "Number of local sessions"},
    {"num_alive_connections", "Number of client connections"},
    {"outstanding_requests", "Client requests received and not yet answered"},
    {"uptime", "Milliseconds since the server started"},
    {"packets_received", "Client packets received since start or the last srst"},
    {"packets_sent", "Client packets sent since start or the last srst"},
    {"avg_latency", "Average request latency in ms since start or the last srst"},
    {"min_latency", "Smallest request latency in ms since start or the last srst"},
    {"max_latency", "Largest request latency in ms since start or the last srst"},
    {"last_client_response_size", "Size of the last client response in bytes (-1: none yet)"},
    {"min_client_response_size", "Smallest client response in bytes (-1: none yet)"},
    {"max_client_response_size", "Largest client response in bytes (-1: none yet)"},
    {"open_file_descriptor_count", "Open file descriptors of the process"},
    {"max_file_descriptor_count", "File descriptor limit of the process"},
    {"connection_drop_probability", "Probability of dropping a new connection (throttling)"},
    {"outstanding_tls_handshake", "TLS handshakes in progress"},
    {"auth_failed_count", "Failed authentications"},
};

double numeric(const MonitorValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return 0;
}

}  // namespace

std::string metrics_text(const Sources& s) {
  auto& ctx = s.ctx;
  Exposition e;
  std::vector<MonitorEntry> values = monitor(ctx);
  for (const GaugeDecl& g : kGauges) {
    for (const MonitorEntry& m : values) {
      if (m.key == g.name) {
        e.gauge(g.name, g.help, numeric(m.value));
        break;
      }
    }
  }
  if (s.peer) {
    e.gauge("quorum_size", "Number of voting members of the ensemble",
            static_cast<double>(s.peer->config().voters().size()));
  }

  // ZooKeeper's summaries (basic: the median; advanced: 0.5, 0.9, 0.99), in ms, since start.
  e.summary("fsynctime", "Time to fsync the transaction log, in ms", ctx.stats.fsync.counts(), {0.5});
  e.summary("snapshottime", "Time to write a snapshot, in ms", ctx.stats.snapshot.counts(), {0.5});
  e.summary("readlatency", "Latency of read requests, in ms", ctx.stats.requests.reads(),
            {0.5, 0.9, 0.99});
  e.summary("updatelatency", "Latency of write (quorum) requests, in ms",
            ctx.stats.requests.updates(), {0.5, 0.9, 0.99});

  // Paddock's histograms.
  std::vector<std::pair<std::string, HistogramCounts>> by_op;
  for (auto& op : ctx.stats.requests.by_op()) by_op.emplace_back(op.op, op.counts);
  e.histogram("paddock_request_latency_ms",
              "Latency of client requests by op, from arrival to reply, in ms", "op", by_op);
  e.histogram("paddock_fsync_time_ms", "Time to fsync the transaction log, in ms", "",
              {{"", ctx.stats.fsync.counts()}});
  e.histogram("paddock_snapshot_time_ms", "Time to write a snapshot, in ms", "",
              {{"", ctx.stats.snapshot.counts()}});
  e.gauge("paddock_info", "Paddock build; the value is always 1", 1,
          {{"version", PADDOCK_VERSION}, {"zookeeper_version", full_version()}});
  return e.text();
}

}  // namespace paddock::admin
