// storage mode: drive storage plugins directly through the SDK, loaded the way the server
// loads them. Per backend: a snapshot of a tree of N nodes, N transaction log entries
// (TxnHeader + SetDataTxn) appended G per group commit, then recovery (newest snapshot +
// the log after it) by a fresh plugin object, as a restarting server does.
#include <cmath>
#include <map>
#include <optional>

#include "common.hpp"
#include "histogram.hpp"
#include "modes.hpp"
#include "output.hpp"
#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/storage.hpp"
#include "plugin/loader.hpp"

namespace paddock::bench {

namespace sdk = paddock::sdk;
namespace jute = paddock::sdk::jute;

namespace {

constexpr sdk::SessionId kBenchSession = 0x100000bec4000001LL;
constexpr int64_t kBaseTime = 1700000000000LL;

class BenchConfig : public sdk::PluginConfig {
 public:
  BenchConfig(std::map<std::string, std::string> values, const sdk::PluginDescriptor& desc)
      : values_(std::move(values)), desc_(desc) {}
  std::optional<std::string_view> get(std::string_view key) const override {
    auto it = values_.find(std::string(key));
    if (it != values_.end()) return std::string_view(it->second);
    for (uint32_t i = 0; i < desc_.config_key_count; ++i) {
      const auto& k = desc_.config_keys[i];
      if (key == k.name && k.default_value != nullptr) return std::string_view(k.default_value);
    }
    return std::nullopt;
  }

 private:
  std::map<std::string, std::string> values_;
  const sdk::PluginDescriptor& desc_;
};

class BenchHost : public sdk::Host {
 public:
  explicit BenchHost(std::string name) : name_(std::move(name)) {}
  void log(sdk::LogLevel level, std::string_view message) override {
    if (level >= sdk::LogLevel::kWarn) {
      std::fprintf(stderr, "[%s] %.*s\n", name_.c_str(), static_cast<int>(message.size()), message.data());
    }
  }

 private:
  std::string name_;
};

// Counts what a snapshot load delivers.
class CountingSink : public sdk::SnapshotSink {
 public:
  sdk::Status on_session(const sdk::SessionRecord&) override { ++sessions; return {}; }
  sdk::Status on_acl(const sdk::AclRecord&) override { ++acls; return {}; }
  sdk::Status on_node(const sdk::NodeRecord& n) override {
    ++nodes;
    bytes += n.data.size();
    return {};
  }
  sdk::Status on_digest(const sdk::SnapshotDigest&) override { return {}; }
  int64_t sessions = 0, acls = 0, nodes = 0;
  uint64_t bytes = 0;
};

std::string set_data_txn(sdk::Zxid zxid, int64_t node, const std::string& value, int32_t version) {
  std::string out;
  out.reserve(value.size() + 80);
  jute::Writer w(out);
  jute::write_txn_header(w, jute::TxnHeader{kBenchSession, static_cast<int32_t>(sdk::zxid_counter(zxid)),
                                            zxid, kBaseTime + sdk::zxid_counter(zxid),
                                            static_cast<int32_t>(sdk::OpCode::kSetData)});
  w.write_string("/bench/n" + std::to_string(node));
  w.write_buffer(value);
  w.write_int(version);
  return out;
}

void check(const sdk::Status& st, const std::string& what) {
  if (!st) throw BenchError(what + ": " + st.message());
}

struct StorageParams {
  int64_t txns, size, group, nodes;
  bool fsync;
  std::map<std::string, std::string> settings;
};

struct StorageResult {
  double append_s = 0, txns_per_s = 0, mb_per_s = 0;
  uint64_t log_bytes = 0;
  int64_t commits = 0;
  Histogram commit_ns;
  double snapshot_s = 0;
  uint64_t snapshot_bytes = 0;
  double load_snapshot_s = 0, read_log_s = 0, recovery_s = 0;
  int64_t recovered_nodes = 0, recovered_txns = 0;
  uint64_t dir_bytes = 0;
};

plugin::Loaded<sdk::Storage> open_storage(plugin::Loader& loader, const plugin::Inspected& lib,
                                          const StorageParams& p, const std::string& dir,
                                          BenchHost& host, std::unique_ptr<BenchConfig>& cfg_holder) {
  auto made = loader.create<sdk::Storage>(lib);
  if (!made) throw BenchError(made.status().message());
  plugin::Loaded<sdk::Storage> st = std::move(made.value());
  std::map<std::string, std::string> values = p.settings;
  values.emplace("dataDir", dir);
  values.emplace("dataLogDir", dir);
  values.emplace("forceSync", p.fsync ? "yes" : "no");
  cfg_holder = std::make_unique<BenchConfig>(values, st.descriptor());
  check(st->configure(*cfg_holder, host), "configure");
  sdk::StorageOptions opts;
  opts.data_dir = dir;
  opts.data_log_dir = dir;
  opts.force_sync = p.fsync;
  check(st->open(opts), "open " + dir);
  return st;
}

StorageResult bench_backend(plugin::Loader& loader, const plugin::Inspected& lib, const StorageParams& p,
                            const std::string& dir, const std::string& label, Output& out) {
  StorageResult r;
  BenchHost host(label);
  std::unique_ptr<BenchConfig> cfg;
  std::string value(static_cast<size_t>(p.size), 'v');
  const sdk::Zxid snap_zxid = sdk::make_zxid(1, p.nodes + 3);
  {
    auto st = open_storage(loader, lib, p, dir, host, cfg);
    check(st->write_epoch(sdk::EpochKind::kAccepted, 2), "write acceptedEpoch");
    check(st->write_epoch(sdk::EpochKind::kCurrent, 2), "write currentEpoch");

    // ---- snapshot of a tree of `nodes` nodes (epoch 1) ----
    {
      auto progress = out.progress(label + " snapshot");
      double t0 = now_s();
      auto writer = st->begin_snapshot(snap_zxid);
      if (!writer) throw BenchError("begin_snapshot: " + writer.status().message());
      auto& w = *writer.value();
      std::vector<sdk::SessionRecord> sessions;
      for (int i = 0; i < 8; ++i) sessions.push_back({kBenchSession + i, 30000});
      check(w.write_sessions(sessions), "write_sessions");
      check(w.write_acls({}), "write_acls");
      auto stat_at = [](int64_t counter) {
        sdk::StatPersisted s;
        s.czxid = s.mzxid = s.pzxid = sdk::make_zxid(1, counter);
        s.ctime = s.mtime = kBaseTime + counter;
        return s;
      };
      sdk::StatPersisted root = stat_at(0);
      root.czxid = root.mzxid = 0;
      root.cversion = 2;
      check(w.write_node({"", "", false, -1, root}), "write_node /");
      check(w.write_node({"/zookeeper", "", false, -1, stat_at(1)}), "write_node /zookeeper");
      check(w.write_node({"/zookeeper/quota", "", false, -1, stat_at(2)}), "write_node /zookeeper/quota");
      sdk::StatPersisted bench = stat_at(3);
      bench.cversion = static_cast<int32_t>(p.nodes);
      bench.pzxid = snap_zxid;
      check(w.write_node({"/bench", "", false, -1, bench}), "write_node /bench");
      std::string path;
      for (int64_t i = 0; i < p.nodes; ++i) {
        path = "/bench/n" + std::to_string(i);
        check(w.write_node({path, value, false, -1, stat_at(i + 4)}), "write_node " + path);
        if ((i & 1023) == 0) {
          throw_if_interrupted();
          progress->update(static_cast<double>(i) / static_cast<double>(p.nodes));
        }
      }
      check(w.finish(std::nullopt, p.fsync), "finish snapshot");
      r.snapshot_s = now_s() - t0;
      auto list = st->list_snapshots();
      if (list && !list.value().empty()) r.snapshot_bytes = list.value().front().size_bytes;
      progress->finish(human_bytes(static_cast<double>(r.snapshot_bytes)));
    }

    // ---- transaction log: `txns` setData entries, `group` per commit (epoch 2) ----
    {
      auto progress = out.progress(label + " log append");
      check(st->roll(), "roll");
      std::vector<std::string> entries;  // built before timing so only the storage is measured
      entries.reserve(static_cast<size_t>(std::min<int64_t>(p.group, 100000)));
      double t0 = now_s();
      double build_s = 0;
      for (int64_t i = 0; i < p.txns;) {
        double b0 = now_s();
        entries.clear();
        int64_t end = std::min(p.txns, i + p.group);
        for (int64_t j = i; j < end; ++j) {
          entries.push_back(set_data_txn(sdk::make_zxid(2, j + 1), j % std::max<int64_t>(p.nodes, 1), value,
                                         static_cast<int32_t>(j / std::max<int64_t>(p.nodes, 1) + 1)));
        }
        build_s += now_s() - b0;
        for (int64_t j = i; j < end; ++j) {
          const std::string& e = entries[static_cast<size_t>(j - i)];
          check(st->append(sdk::make_zxid(2, j + 1), e), "append");
          r.log_bytes += e.size();
        }
        int64_t c0 = now_ns();
        check(st->commit(), "commit");
        r.commit_ns.record(static_cast<uint64_t>(now_ns() - c0));
        ++r.commits;
        i = end;
        if ((r.commits & 63) == 0) {
          throw_if_interrupted();
          progress->update(static_cast<double>(i) / static_cast<double>(p.txns),
                           human_count(static_cast<double>(i) / std::max(now_s() - t0 - build_s, 1e-6)) + " txns/s");
        }
      }
      r.append_s = now_s() - t0 - build_s;
      r.txns_per_s = static_cast<double>(p.txns) / r.append_s;
      r.mb_per_s = static_cast<double>(r.log_bytes) / r.append_s / 1e6;
      progress->finish(human_count(r.txns_per_s) + " txns/s");
    }
  }  // the plugin object is destroyed: recovery starts from what is on disk

  // ---- recovery: newest snapshot + every logged txn after it ----
  {
    auto progress = out.progress(label + " recovery");
    double t0 = now_s();
    auto st = open_storage(loader, lib, p, dir, host, cfg);
    auto list = st->list_snapshots();
    if (!list || list.value().empty()) {
      throw BenchError("recovery: no snapshot listed" + (list ? std::string() : ": " + list.status().message()));
    }
    const sdk::SnapshotInfo snap = list.value().front();
    CountingSink sink;
    check(st->load_snapshot(snap, sink), "load_snapshot " + snap.name);
    double t1 = now_s();
    r.load_snapshot_s = t1 - t0;
    r.recovered_nodes = sink.nodes;
    auto it = st->read_log(snap.zxid + 1);
    if (!it) throw BenchError("read_log: " + it.status().message());
    auto& iter = *it.value();
    sdk::Zxid last = snap.zxid;
    while (iter.next()) {
      jute::Reader rd(iter.bytes());
      jute::TxnHeader h = jute::read_txn_header(rd);
      if (!rd.ok() || h.zxid != iter.zxid() || iter.zxid() <= last) {
        throw BenchError("read_log: entry at zxid 0x" + std::to_string(iter.zxid()) + " does not decode in order");
      }
      last = iter.zxid();
      ++r.recovered_txns;
      if ((r.recovered_txns & 4095) == 0) progress->update(static_cast<double>(r.recovered_txns) / static_cast<double>(p.txns));
    }
    check(iter.status(), "read_log");
    auto last_logged = st->last_logged_zxid();
    r.read_log_s = now_s() - t1;
    r.recovery_s = now_s() - t0;
    if (!last_logged) throw BenchError("last_logged_zxid: " + last_logged.status().message());
    if (r.recovered_nodes != p.nodes + 4 || r.recovered_txns != p.txns ||
        last_logged.value() != sdk::make_zxid(2, p.txns)) {
      throw BenchError("recovery found " + std::to_string(r.recovered_nodes) + " nodes and " +
                       std::to_string(r.recovered_txns) + " txns; expected " + std::to_string(p.nodes + 4) +
                       " and " + std::to_string(p.txns));
    }
    progress->finish();
  }
  r.dir_bytes = paddock::bench::dir_bytes(dir);
  return r;
}

}  // namespace

int run_storage_mode(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs = {
      {"backends", "LIST", "file", "storage plugins by name, comma separated (e.g. file,sqlite)"},
      {"txns", "N", "100000", "transaction log entries to append"},
      {"size", "BYTES", "100", "data bytes of each SetDataTxn (and of each snapshot node)"},
      {"group", "G", "10", "entries per commit (one fsync each)"},
      {"nodes", "N", "100000", "nodes in the snapshot"},
      {"rounds", "R", "1", "repeat per backend (fresh directory each time); medians reported"},
      {"plugin-dir", "DIR", "", "where paddock-storage-<name>.so live (default: ../lib/paddock/plugins)"},
      {"set", "KEY=VALUE", "", "a plugin config key (e.g. for the sqlite plugin)", true},
      {"no-fsync", "", "", "commit without fsync (forceSync=no)"},
      {"json", "FILE", "", "write results as JSON lines to FILE ('-' = stdout)"},
      {"plot", "FILE.png", "", "draw throughput, commit latency and timings with gnuplot"},
      {"quiet", "", "", "no progress and no summary"},
      {"work-dir", "DIR", "", "where the backends write (default $TMPDIR or /tmp)"},
      {"keep", "", "", "keep what the backends wrote"},
  };
  Options opts("storage", specs);
  opts.parse(args);
  if (opts.flag("help")) {
    std::printf("usage: paddock-bench storage --backends file,sqlite [options]\n\n%s", opts.help().c_str());
    return 0;
  }
  StorageParams p;
  p.txns = opts.integer("txns", 1);
  p.size = opts.integer("size", 0);
  p.group = opts.integer("group", 1);
  p.nodes = opts.integer("nodes", 0);
  p.fsync = !opts.flag("no-fsync");
  for (const auto& s : opts.all("set")) {
    for (auto& [k, v] : parse_pairs(s, ';')) p.settings[k] = v;
  }
  int rounds = static_cast<int>(opts.integer("rounds", 1));
  std::vector<std::string> backends = split(opts.str("backends"), ',');
  if (backends.empty()) throw BenchError("--backends: no backend named");

  Output out(opts.str("json"), opts.flag("quiet"));
  WorkDir work(opts.str("work-dir"), opts.flag("keep"));
  if (on_tmpfs(work.path())) out.line("warning: " + work.path() + " is on tmpfs: fsync costs nothing there");
  plugin::Loader loader(opts.has("plugin-dir") ? opts.str("plugin-dir") : plugin::default_plugin_dir());

  PlotPanel tput{"Log append (" + std::to_string(p.group) + " per group commit" + (p.fsync ? ", fsync" : ", no fsync") + ")",
                 "txns/s", false, {"append"}, {}, {{}}};
  PlotPanel lat{"Commit latency (one group commit)", "milliseconds (log)", true, {"p50", "p90", "p99", "p99.9"}, {}, {{}, {}, {}, {}}};
  PlotPanel times{"Snapshot and recovery (" + std::to_string(p.nodes) + " nodes, " + std::to_string(p.txns) + " txns)",
                  "seconds", false, {"snapshot write", "snapshot load", "log read", "recovery total"}, {}, {{}, {}, {}, {}}};
  int unavailable = 0;
  // Every backend is inspected first (a missing one is reported once), then the rounds run
  // backend after backend (A B A B ...), so drift of the machine hits every backend alike.
  struct Backend {
    std::string name;
    plugin::Inspected lib;
    std::vector<StorageResult> results;
    bool failed = false;
  };
  std::vector<Backend> ready;
  for (const auto& name : backends) {
    auto lib = loader.inspect(sdk::PluginKind::kStorage, name);
    if (!lib) {
      ++unavailable;
      out.line("storage " + name + ": NOT AVAILABLE: " + lib.status().message());
      out.record(JsonObject().set("mode", "storage").set("type", "unavailable").set("backend", name)
                     .set("error", lib.status().message()));
      continue;
    }
    ready.push_back(Backend{name, lib.value(), {}, false});
  }
  for (int round = 1; round <= rounds; ++round) {
    for (auto& b : ready) {
      throw_if_interrupted();
      if (b.failed) continue;
      const std::string& name = b.name;
      std::string label = name + (rounds > 1 ? " r" + std::to_string(round) : "");
      std::string dir = work.subdir(name + "-r" + std::to_string(round));
      StorageResult r;
      try {
        r = bench_backend(loader, b.lib, p, dir, label, out);
      } catch (const BenchError& e) {
        ++unavailable;
        b.failed = true;
        out.line("storage " + name + ": FAILED: " + e.what());
        out.record(JsonObject().set("mode", "storage").set("type", "failed").set("backend", name)
                       .set("round", round).set("error", e.what()));
        continue;
      }
      JsonObject commit;
      commit.set("p50", r.commit_ns.quantile(0.5) / 1e3).set("p90", r.commit_ns.quantile(0.9) / 1e3)
          .set("p99", r.commit_ns.quantile(0.99) / 1e3).set("p999", r.commit_ns.quantile(0.999) / 1e3)
          .set("mean", r.commit_ns.mean() / 1e3).set("max", static_cast<double>(r.commit_ns.max()) / 1e3);
      out.record(JsonObject()
                     .set("mode", "storage").set("type", "run").set("backend", name)
                     .set("plugin_file", b.lib.file).set("round", round)
                     .set("txns", p.txns).set("size", p.size).set("group", p.group).set("nodes", p.nodes)
                     .set("fsync", p.fsync).set("commits", r.commits).set("log_bytes", r.log_bytes)
                     .set("append_s", r.append_s).set("txns_per_s", r.txns_per_s).set("mb_per_s", r.mb_per_s)
                     .set("commit_latency_us", commit)
                     .set("snapshot_s", r.snapshot_s).set("snapshot_bytes", r.snapshot_bytes)
                     .set("load_snapshot_s", r.load_snapshot_s).set("read_log_s", r.read_log_s)
                     .set("recovery_s", r.recovery_s).set("recovered_nodes", r.recovered_nodes)
                     .set("recovered_txns", r.recovered_txns).set("dir_bytes", r.dir_bytes));
      char line[512];
      std::snprintf(line, sizeof line,
                    "storage %-8s %10s txns/s %7.2f MB/s  commit p50 %-9s p99 %-9s p99.9 %-9s  snapshot %.2f s (%s)  "
                    "recovery %.2f s (snapshot %.2f + log %.2f)",
                    label.c_str(), human_count(r.txns_per_s).c_str(), r.mb_per_s,
                    human_us(r.commit_ns.quantile(0.5) / 1e3).c_str(), human_us(r.commit_ns.quantile(0.99) / 1e3).c_str(),
                    human_us(r.commit_ns.quantile(0.999) / 1e3).c_str(), r.snapshot_s,
                    human_bytes(static_cast<double>(r.snapshot_bytes)).c_str(), r.recovery_s, r.load_snapshot_s,
                    r.read_log_s);
      out.line(line);
      b.results.push_back(std::move(r));
    }
  }
  for (auto& b : ready) {
    const std::string& name = b.name;
    const auto& results = b.results;
    if (results.empty()) continue;
    auto med = [&](auto f) {
      std::vector<double> v;
      for (const auto& r : results) v.push_back(f(r));
      return median(v);
    };
    tput.series.push_back(name);
    lat.series.push_back(name);
    times.series.push_back(name);
    tput.values[0].push_back(med([](const StorageResult& r) { return r.txns_per_s; }));
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < 4; ++i) {
      lat.values[i].push_back(med([&](const StorageResult& r) { return r.commit_ns.quantile(qs[i]) / 1e6; }));
    }
    times.values[0].push_back(med([](const StorageResult& r) { return r.snapshot_s; }));
    times.values[1].push_back(med([](const StorageResult& r) { return r.load_snapshot_s; }));
    times.values[2].push_back(med([](const StorageResult& r) { return r.read_log_s; }));
    times.values[3].push_back(med([](const StorageResult& r) { return r.recovery_s; }));
    if (rounds > 1) {
      out.record(JsonObject().set("mode", "storage").set("type", "median").set("backend", name)
                     .set("rounds", static_cast<int64_t>(results.size()))
                     .set("txns_per_s", tput.values[0].back()).set("commit_p99_us", lat.values[2].back() * 1e3)
                     .set("snapshot_s", times.values[0].back()).set("recovery_s", times.values[3].back()));
    }
  }
  if (!tput.series.empty()) {
    maybe_plot(opts, "paddock-bench storage: " + std::to_string(p.size) + "-byte values", {tput, lat, times},
               work.path(), out);
  }
  return unavailable > 0 ? 3 : 0;
}

}  // namespace paddock::bench
