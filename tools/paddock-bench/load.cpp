#include "load.hpp"

#include <zookeeper/zookeeper.h>

#include <algorithm>

#include "common.hpp"
#include "load_engine.hpp"
#include "options.hpp"
#include "output.hpp"

namespace paddock::bench {

const char* op_label(Op op) {
  switch (op) {
    case Op::kCreate: return "create";
    case Op::kSetData: return "setData";
    case Op::kGetData: return "getData";
    case Op::kExists: return "exists";
    case Op::kDelete: return "delete";
  }
  return "?";
}

std::optional<Op> parse_op(std::string_view name) {
  std::string n = lower(name);
  if (n == "create") return Op::kCreate;
  if (n == "setdata" || n == "set" || n == "write") return Op::kSetData;
  if (n == "getdata" || n == "get" || n == "read") return Op::kGetData;
  if (n == "exists") return Op::kExists;
  if (n == "delete") return Op::kDelete;
  return std::nullopt;
}

bool Workload::uses(Op op) const {
  for (const auto& [o, w] : weights) {
    if (o == op && w > 0) return true;
  }
  return false;
}

bool Workload::only(Op op) const {
  for (const auto& [o, w] : weights) {
    if (o != op && w > 0) return false;
  }
  return uses(op);
}

std::string Workload::describe() const {
  std::string out;
  for (const auto& [o, w] : weights) {
    out += (out.empty() ? "" : ",") + std::string(op_label(o)) + "=" + std::to_string(w);
  }
  return out;
}

Workload make_workload(const std::string& name, const std::string& mix) {
  Workload w;
  w.name = name;
  if (auto op = parse_op(name)) {
    w.name = op_label(*op);
    w.weights = {{*op, 100}};
    return w;
  }
  if (name != "mixed") {
    throw BenchError("unknown workload '" + name +
                     "'; known: create, setData, getData, exists, delete, mixed");
  }
  for (const auto& [k, v] : parse_pairs(mix)) {
    auto op = parse_op(k);
    if (!op) throw BenchError("--mix: unknown operation '" + k + "' (create, setData/write, getData/read, exists, delete)");
    char* end = nullptr;
    long weight = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || weight < 0) throw BenchError("--mix: bad weight '" + v + "' for " + k);
    if (weight > 0) w.weights.emplace_back(*op, static_cast<int>(weight));
  }
  if (w.weights.empty()) throw BenchError("--mix '" + mix + "' has no operation with a positive weight");
  return w;
}

const char* client_label(ClientKind kind) { return kind == ClientKind::kNative ? "native" : "c"; }

ClientKind parse_client(std::string_view name) {
  std::string n = lower(name);
  if (n == "c") return ClientKind::kC;
  if (n == "native") return ClientKind::kNative;
  throw BenchError("--client: unknown client '" + std::string(name) + "'; known: c, native");
}

std::string LoadResult::error_summary() const {
  std::string out;
  for (const auto& [code, n] : error_codes) {
    out += (out.empty() ? "" : ", ") + std::string(zerror(code)) + " x" + std::to_string(n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

void Session::reset_stats() {
  latency.clear();
  for (auto& h : per_op) h.clear();
  ok = errors = 0;
  codes.clear();
}

void RunPlan::abort(const std::string& why) {
  {
    std::lock_guard lk(mu);
    if (abort_reason.empty()) abort_reason = why;
  }
  stop.store(true);
}

void RunPlan::slot_done() {
  if (active.fetch_sub(1) == 1) {
    std::lock_guard lk(mu);
    cv.notify_all();
  }
}

namespace {

Op pick(Session& c, const RunPlan& r) {
  const auto& weights = r.workload.weights;
  if (weights.size() == 1) return weights[0].first;
  auto x = static_cast<int>(c.next_random() % static_cast<uint64_t>(r.total_weight));
  for (const auto& [op, w] : weights) {
    if (x < w) return op;
    x -= w;
  }
  return weights.back().first;
}

bool is_session_error(int rc) {
  using namespace zk_error;
  return rc == kConnectionLoss || rc == kSessionExpired || rc == kOperationTimeout ||
         rc == kInvalidState || rc == kClosing || rc == kSystemError;
}

}  // namespace

bool next_request(Session& c, RunPlan& r, Op& op, std::string& path) {
  if (r.stop.load(std::memory_order_relaxed)) {
    r.slot_done();
    return false;
  }
  op = r.fixed_paths != nullptr ? Op::kCreate : pick(c, r);
  if (r.fixed_paths != nullptr) {
    size_t i = r.fixed_next.fetch_add(1);
    if (i >= r.fixed_paths->size()) {
      r.slot_done();
      return false;
    }
    path = (*r.fixed_paths)[i];
  } else if (op == Op::kDelete) {
    std::lock_guard lk(c.created_mu);
    if (c.created.empty()) {
      if (r.workload.only(Op::kDelete)) {
        r.slot_done();  // nothing left to delete on this session
        return false;
      }
      op = Op::kCreate;
    } else {
      path = std::move(c.created.back());
      c.created.pop_back();
    }
  }
  // The count bound: taken only once the request is known to be sent, so a session that ran
  // out of znodes to delete does not use up another session's share.
  if (r.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    if (op == Op::kDelete) {
      std::lock_guard lk(c.created_mu);
      c.created.push_back(std::move(path));
    }
    r.slot_done();
    return false;
  }
  if (op == Op::kCreate && r.fixed_paths == nullptr) {
    path = r.create_prefix + std::to_string(c.index) + "-" + std::to_string(c.seq++);
  } else if (op == Op::kSetData || op == Op::kGetData || op == Op::kExists) {
    const auto& keys = *r.key_paths;
    path = keys[c.next_random() % keys.size()];
  }
  return true;
}

void record_completion(Session& c, RunPlan& r, Op op, const std::string& path, int64_t start_ns, int rc) {
  int64_t end = now_ns();
  if (rc == zk_error::kOk || (rc == zk_error::kNodeExists && r.ignore_exists)) {
    auto lat = static_cast<uint64_t>(end - start_ns);
    c.latency.record(lat);
    c.per_op[static_cast<int>(op)].record(lat);
    ++c.ok;
    auto sec = static_cast<size_t>((end - r.t0) / 1000000000);
    if (sec < r.seconds) r.per_second[sec].fetch_add(1, std::memory_order_relaxed);
    if (op == Op::kCreate && rc == zk_error::kOk) {
      std::lock_guard lk(c.created_mu);
      if (r.track_created) c.created.push_back(path);
      c.last_created = path;
    }
  } else {
    ++c.errors;
    ++c.codes[rc];
    if (is_session_error(rc)) r.abort(std::string("session error: ") + zerror(rc));
  }
  r.completed.fetch_add(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------

LoadClient::LoadClient(LoadConfig cfg) : cfg_(std::move(cfg)) {
  value_.resize(static_cast<size_t>(cfg_.value_size));
  for (size_t i = 0; i < value_.size(); ++i) value_[i] = static_cast<char>('a' + i % 26);
  for (int i = 0; i < cfg_.keys; ++i) key_paths_.push_back(cfg_.base + "/k/" + std::to_string(i));
}

LoadClient::~LoadClient() = default;

std::string LoadClient::last_created() const {
  for (Session* c : sessions_) {
    std::lock_guard lk(c->created_mu);
    if (!c->last_created.empty()) return c->last_created;
  }
  return "";
}

LoadResult LoadClient::run_fixed(const std::vector<std::string>& paths, Progress* progress) {
  auto plan = std::make_unique<RunPlan>();
  plan->workload = make_workload("create", "");
  plan->fixed_paths = &paths;
  plan->ignore_exists = true;
  LoadResult r = execute(*plan, static_cast<int64_t>(paths.size()), 600, progress);
  graveyard_.push_back(std::move(plan));  // callbacks of an undrained run may still use it
  return r;
}

void LoadClient::prepare_keys(Progress* progress) {
  // Parents before children: the base first, then its two children, then the keys.
  const std::vector<std::string> levels[] = {{cfg_.base}, {cfg_.base + "/k", cfg_.base + "/c"}};
  for (const auto& paths : levels) {
    LoadResult r = run_fixed(paths, nullptr);
    if (!r.aborted.empty() || r.errors > 0) {
      throw BenchError("cannot create " + paths.front() + " on " + cfg_.hostport() + ": " +
                       (r.aborted.empty() ? r.error_summary() : r.aborted));
    }
  }
  LoadResult r = run_fixed(key_paths_, progress);
  if (!r.aborted.empty() || r.errors > 0) {
    throw BenchError("creating the key znodes failed: " + (r.aborted.empty() ? r.error_summary() : r.aborted));
  }
}

LoadResult LoadClient::run(const Workload& workload, int64_t count, double duration_s,
                           const std::string& tag, Progress* progress) {
  if (workload.uses(Op::kDelete)) {
    // Make sure there is something to delete: create up to `count` znodes (capped) first.
    int64_t have = 0;
    for (Session* c : sessions_) {
      std::lock_guard lk(c->created_mu);
      have += static_cast<int64_t>(c->created.size());
    }
    int64_t want = std::min<int64_t>(count, 200000);
    if (have < want) {
      auto pre = std::make_unique<RunPlan>();
      pre->workload = make_workload("create", "");
      pre->create_prefix = cfg_.base + "/c/" + tag + "-pre-";
      pre->track_created = true;
      LoadResult r = execute(*pre, want - have, std::max(60.0, duration_s * 10), nullptr);
      graveyard_.push_back(std::move(pre));
      if (!r.aborted.empty()) throw BenchError("creating znodes to delete failed: " + r.aborted);
    }
  }
  auto plan = std::make_unique<RunPlan>();
  plan->workload = workload;
  plan->create_prefix = cfg_.base + "/c/" + tag + "-";
  plan->track_created = workload.uses(Op::kDelete);
  LoadResult r = execute(*plan, count, duration_s, progress);
  r.workload = workload.name;
  graveyard_.push_back(std::move(plan));
  if (graveyard_.size() > 64) graveyard_.erase(graveyard_.begin(), graveyard_.begin() + 32);
  return r;
}

LoadResult LoadClient::execute(RunPlan& r, int64_t count, double duration_s, Progress* progress) {
  if (broken_) throw BenchError("a previous run against " + cfg_.hostport() + " left requests outstanding");
  r.key_paths = &key_paths_;
  r.value = &value_;
  r.total_weight = 0;
  for (const auto& [op, w] : r.workload.weights) r.total_weight += w;
  r.seconds = static_cast<size_t>(std::min(duration_s, 86400.0)) + 2;
  r.per_second = std::make_unique<std::atomic<int64_t>[]>(r.seconds);
  for (size_t i = 0; i < r.seconds; ++i) r.per_second[i] = 0;
  r.budget = count;
  for (Session* c : sessions_) c->reset_stats();
  r.active = static_cast<int>(sessions_.size() * static_cast<size_t>(cfg_.outstanding));
  r.t0 = now_ns();
  start_run(r);
  double start = now_s();
  double stop_at = start + duration_s;
  bool drained = false;
  double drain_deadline = 0;
  std::unique_lock lk(r.mu);
  for (;;) {
    if (r.active.load() == 0) {
      drained = true;
      break;
    }
    r.cv.wait_for(lk, std::chrono::milliseconds(100));
    double t = now_s();
    if (!r.stop.load() && (t >= stop_at || g_interrupted.load())) {
      r.stop.store(true);
    }
    if (r.stop.load()) {
      if (drain_deadline == 0) drain_deadline = t + cfg_.drain_timeout_s;
      if (t > drain_deadline) break;
    }
    if (progress != nullptr) {
      int64_t done = r.completed.load();
      double frac = std::max(static_cast<double>(done) / static_cast<double>(std::max<int64_t>(count, 1)),
                             (t - start) / duration_s);
      progress->update(frac, human_count(static_cast<double>(done) / std::max(t - start, 1e-3)) + " ops/s");
    }
  }
  lk.unlock();
  LoadResult res;
  res.elapsed_s = static_cast<double>(now_ns() - r.t0) / 1e9;
  if (!drained) {
    broken_ = true;
    r.abort("requests still outstanding " + std::to_string(static_cast<int>(cfg_.drain_timeout_s)) +
            " s after the stop");
  }
  end_run(r, drained);
  {
    std::lock_guard g(r.mu);
    res.aborted = r.abort_reason;
  }
  if (res.aborted.empty() && g_interrupted.load()) res.aborted = "interrupted";
  for (Session* c : sessions_) {
    res.latency.merge(c->latency);
    for (int i = 0; i < kOpCount; ++i) res.per_op[static_cast<size_t>(i)].merge(c->per_op[static_cast<size_t>(i)]);
    res.ops += c->ok;
    res.errors += c->errors;
    for (const auto& [code, n] : c->codes) res.error_codes[code] += n;
  }
  size_t secs = std::min(r.seconds, static_cast<size_t>(res.elapsed_s) + 1);
  for (size_t i = 0; i < secs; ++i) res.timeline.push_back(static_cast<double>(r.per_second[i].load()));
  return res;
}

// Defined by each client's own file.
std::unique_ptr<LoadClient> make_c_client(const LoadConfig& cfg);
std::unique_ptr<LoadClient> make_native_client(const LoadConfig& cfg);

std::unique_ptr<LoadClient> make_load_client(const LoadConfig& cfg) {
  if (cfg.client == ClientKind::kNative) return make_native_client(cfg);
  if (cfg.tls) {
    throw BenchError("TLS needs --client native: Debian's libzookeeper-mt is built without TLS");
  }
  return make_c_client(cfg);
}

}  // namespace paddock::bench
