#include "load.hpp"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "common.hpp"
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

std::string LoadResult::error_summary() const {
  std::string out;
  for (const auto& [code, n] : error_codes) {
    out += (out.empty() ? "" : ", ") + std::string(zerror(code)) + " x" + std::to_string(n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct Slot {
  Conn* conn = nullptr;
  int64_t start_ns = 0;
  Op op = Op::kGetData;
  std::string path;
};

struct Conn {
  int index = 0;
  zhandle_t* zh = nullptr;
  uint64_t rng = 0;
  int64_t seq = 0;
  std::vector<Slot> slots;
  Runner* runner = nullptr;

  std::mutex created_mu;
  std::vector<std::string> created;  // znodes this session created and did not delete
  std::string last_created;

  // Results of the current run; written by the session's completion thread only.
  Histogram latency;
  std::array<Histogram, kOpCount> per_op;
  int64_t ok = 0;
  int64_t errors = 0;
  std::map<int, int64_t> codes;

  std::mutex state_mu;
  std::condition_variable state_cv;
  int state = 0;

  uint64_t next_random() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
  void reset_stats() {
    latency.clear();
    for (auto& h : per_op) h.clear();
    ok = errors = 0;
    codes.clear();
  }
};

struct Runner {
  const Workload* workload = nullptr;
  Workload own_workload;  // for internal runs (preparation), which outlive their caller's scope
  int total_weight = 0;
  const std::vector<std::string>* key_paths = nullptr;
  const std::string* value = nullptr;
  std::string create_prefix;  // <base>/c/<tag>-
  // Fixed list of paths to create (preparation runs), taken in order; nullptr otherwise.
  const std::vector<std::string>* fixed_paths = nullptr;
  std::atomic<size_t> fixed_next{0};
  bool ignore_exists = false;
  bool track_created = false;

  std::atomic<int64_t> budget{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::atomic<int> active{0};
  int64_t t0 = 0;
  std::unique_ptr<std::atomic<int64_t>[]> per_second;
  size_t seconds = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::string abort_reason;

  void abort(const std::string& why) {
    {
      std::lock_guard lk(mu);
      if (abort_reason.empty()) abort_reason = why;
    }
    stop.store(true);
  }
  void slot_done() {
    if (active.fetch_sub(1) == 1) {
      std::lock_guard lk(mu);
      cv.notify_all();
    }
  }
};

namespace {

void issue(Slot& s);

void complete(Slot& s, int rc) {
  int64_t end = now_ns();
  Conn& c = *s.conn;
  Runner& r = *c.runner;
  if (rc == ZOK || (rc == ZNODEEXISTS && r.ignore_exists)) {
    auto lat = static_cast<uint64_t>(end - s.start_ns);
    c.latency.record(lat);
    c.per_op[static_cast<int>(s.op)].record(lat);
    ++c.ok;
    auto sec = static_cast<size_t>((end - r.t0) / 1000000000);
    if (sec < r.seconds) r.per_second[sec].fetch_add(1, std::memory_order_relaxed);
    if (s.op == Op::kCreate && rc == ZOK) {
      std::lock_guard lk(c.created_mu);
      if (r.track_created) c.created.push_back(s.path);
      c.last_created = s.path;
    }
  } else {
    ++c.errors;
    ++c.codes[rc];
    if (rc == ZCONNECTIONLOSS || rc == ZSESSIONEXPIRED || rc == ZOPERATIONTIMEOUT ||
        rc == ZINVALIDSTATE || rc == ZCLOSING || rc == ZSYSTEMERROR) {
      r.abort(std::string("session error: ") + zerror(rc));
    }
  }
  r.completed.fetch_add(1, std::memory_order_relaxed);
  issue(s);
}

void on_string(int rc, const char*, const void* data) {
  complete(*static_cast<Slot*>(const_cast<void*>(data)), rc);
}
void on_stat(int rc, const Stat*, const void* data) {
  complete(*static_cast<Slot*>(const_cast<void*>(data)), rc);
}
void on_data(int rc, const char*, int, const Stat*, const void* data) {
  complete(*static_cast<Slot*>(const_cast<void*>(data)), rc);
}
void on_void(int rc, const void* data) {
  complete(*static_cast<Slot*>(const_cast<void*>(data)), rc);
}

Op pick(Conn& c, const Runner& r) {
  const auto& weights = r.workload->weights;
  if (weights.size() == 1) return weights[0].first;
  auto x = static_cast<int>(c.next_random() % static_cast<uint64_t>(r.total_weight));
  for (const auto& [op, w] : weights) {
    if (x < w) return op;
    x -= w;
  }
  return weights.back().first;
}

void issue(Slot& s) {
  Conn& c = *s.conn;
  Runner& r = *c.runner;
  if (r.stop.load(std::memory_order_relaxed)) {
    r.slot_done();
    return;
  }
  Op op = r.fixed_paths != nullptr ? Op::kCreate : pick(c, r);
  if (r.fixed_paths != nullptr) {
    size_t i = r.fixed_next.fetch_add(1);
    if (i >= r.fixed_paths->size()) {
      r.slot_done();
      return;
    }
    s.path = (*r.fixed_paths)[i];
  } else if (op == Op::kDelete) {
    std::lock_guard lk(c.created_mu);
    if (c.created.empty()) {
      if (r.workload->only(Op::kDelete)) {
        r.slot_done();  // nothing left to delete on this session
        return;
      }
      op = Op::kCreate;
    } else {
      s.path = std::move(c.created.back());
      c.created.pop_back();
    }
  }
  // The count bound: taken only once the request is known to be sent, so a session that ran
  // out of znodes to delete does not use up another session's share.
  if (r.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    if (op == Op::kDelete) {
      std::lock_guard lk(c.created_mu);
      c.created.push_back(std::move(s.path));
    }
    r.slot_done();
    return;
  }
  if (op == Op::kCreate && r.fixed_paths == nullptr) {
    s.path = r.create_prefix + std::to_string(c.index) + "-" + std::to_string(c.seq++);
  } else if (op == Op::kSetData || op == Op::kGetData || op == Op::kExists) {
    const auto& keys = *r.key_paths;
    s.path = keys[c.next_random() % keys.size()];
  }
  s.op = op;
  s.start_ns = now_ns();
  const std::string& v = *r.value;
  int rc = ZOK;
  switch (op) {
    case Op::kCreate:
      rc = zoo_acreate(c.zh, s.path.c_str(), v.data(), static_cast<int>(v.size()), &ZOO_OPEN_ACL_UNSAFE,
                       0, on_string, &s);
      break;
    case Op::kSetData:
      rc = zoo_aset(c.zh, s.path.c_str(), v.data(), static_cast<int>(v.size()), -1, on_stat, &s);
      break;
    case Op::kGetData: rc = zoo_aget(c.zh, s.path.c_str(), 0, on_data, &s); break;
    case Op::kExists: rc = zoo_aexists(c.zh, s.path.c_str(), 0, on_stat, &s); break;
    case Op::kDelete: rc = zoo_adelete(c.zh, s.path.c_str(), -1, on_void, &s); break;
  }
  if (rc != ZOK) {
    r.abort(std::string("cannot send ") + op_label(op) + ": " + zerror(rc));
    r.slot_done();
  }
}

void watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* c = static_cast<Conn*>(ctx);
  std::lock_guard lk(c->state_mu);
  c->state = state;
  c->state_cv.notify_all();
}

FILE* client_log_stream(const std::string& path) {
  static FILE* stream = nullptr;
  static std::once_flag once;
  std::call_once(once, [&] {
    stream = std::fopen(path.empty() ? "/dev/null" : path.c_str(), "a");
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    if (stream != nullptr) zoo_set_log_stream(stream);
  });
  return stream;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ClientPool::ClientPool(LoadConfig cfg) : cfg_(std::move(cfg)) {
  client_log_stream(cfg_.client_log);
  value_.resize(static_cast<size_t>(cfg_.value_size));
  for (size_t i = 0; i < value_.size(); ++i) value_[i] = static_cast<char>('a' + i % 26);
  for (int i = 0; i < cfg_.keys; ++i) key_paths_.push_back(cfg_.base + "/k/" + std::to_string(i));
  for (int i = 0; i < cfg_.connections; ++i) {
    auto c = std::make_unique<Conn>();
    c->index = i;
    c->rng = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(i + 1) + static_cast<uint64_t>(now_ns());
    c->slots.resize(static_cast<size_t>(cfg_.outstanding));
    for (auto& s : c->slots) s.conn = c.get();
    c->zh = zookeeper_init(cfg_.hostport.c_str(), watcher, cfg_.session_timeout_ms, nullptr, c.get(), 0);
    if (c->zh == nullptr) {
      throw BenchError("zookeeper_init(" + cfg_.hostport + ") failed: " + std::strerror(errno));
    }
    // By default the client re-resolves the host list every time it polls its socket
    // (getaddrinfo, a netlink dump, a shuffle): more CPU than the request itself. A loopback
    // address needs no re-resolution; connection loss still resolves.
    zoo_set_servers_resolution_delay(c->zh, -1);
    conns_.push_back(std::move(c));
  }
  double deadline = now_s() + 20;
  for (auto& c : conns_) {
    std::unique_lock lk(c->state_mu);
    while (c->state != ZOO_CONNECTED_STATE) {
      throw_if_interrupted();
      if (c->state == ZOO_EXPIRED_SESSION_STATE || c->state == ZOO_AUTH_FAILED_STATE) {
        throw BenchError("session to " + cfg_.hostport + " refused");
      }
      if (now_s() > deadline) {
        throw BenchError("no session to " + cfg_.hostport + " within 20 s (is a server listening?)");
      }
      c->state_cv.wait_for(lk, std::chrono::milliseconds(50));
    }
  }
}

ClientPool::~ClientPool() {
  for (auto& c : conns_) {
    if (c->zh != nullptr) zookeeper_close(c->zh);
    c->zh = nullptr;
  }
}

std::string ClientPool::last_created() const {
  for (const auto& c : conns_) {
    std::lock_guard lk(c->created_mu);
    if (!c->last_created.empty()) return c->last_created;
  }
  return "";
}

void ClientPool::prepare_keys(Progress* progress) {
  zhandle_t* zh = conns_.front()->zh;
  for (const std::string& p : {cfg_.base, cfg_.base + "/k", cfg_.base + "/c"}) {
    int rc = zoo_create(zh, p.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
      throw BenchError("cannot create " + p + " on " + cfg_.hostport + ": " + zerror(rc));
    }
  }
  auto runner = std::make_unique<Runner>();
  runner->own_workload = make_workload("create", "");
  runner->workload = &runner->own_workload;
  runner->fixed_paths = &key_paths_;
  runner->ignore_exists = true;
  LoadResult r = execute(*runner, static_cast<int64_t>(key_paths_.size()), 600, progress);
  graveyard_.push_back(std::move(runner));  // callbacks of an undrained run may still use it
  if (!r.aborted.empty() || r.errors > 0) {
    throw BenchError("creating the key znodes failed: " + (r.aborted.empty() ? r.error_summary() : r.aborted));
  }
}

LoadResult ClientPool::run(const Workload& workload, int64_t count, double duration_s,
                           const std::string& tag, Progress* progress) {
  if (workload.uses(Op::kDelete)) {
    // Make sure there is something to delete: create up to `count` znodes (capped) first.
    int64_t have = 0;
    for (auto& c : conns_) {
      std::lock_guard lk(c->created_mu);
      have += static_cast<int64_t>(c->created.size());
    }
    int64_t want = std::min<int64_t>(count, 200000);
    if (have < want) {
      auto pre = std::make_unique<Runner>();
      pre->own_workload = make_workload("create", "");
      pre->workload = &pre->own_workload;
      pre->create_prefix = cfg_.base + "/c/" + tag + "-pre-";
      pre->track_created = true;
      LoadResult r = execute(*pre, want - have, std::max(60.0, duration_s * 10), nullptr);
      graveyard_.push_back(std::move(pre));
      if (!r.aborted.empty()) throw BenchError("creating znodes to delete failed: " + r.aborted);
    }
  }
  auto runner = std::make_unique<Runner>();
  runner->own_workload = workload;
  runner->workload = &runner->own_workload;
  runner->create_prefix = cfg_.base + "/c/" + tag + "-";
  runner->track_created = workload.uses(Op::kDelete);
  LoadResult r = execute(*runner, count, duration_s, progress);
  r.workload = workload.name;
  graveyard_.push_back(std::move(runner));
  if (graveyard_.size() > 64) graveyard_.erase(graveyard_.begin(), graveyard_.begin() + 32);
  return r;
}

LoadResult ClientPool::execute(Runner& r, int64_t count, double duration_s, Progress* progress) {
  if (broken_) throw BenchError("a previous run against " + cfg_.hostport + " left requests outstanding");
  r.key_paths = &key_paths_;
  r.value = &value_;
  r.total_weight = 0;
  for (const auto& [op, w] : r.workload->weights) r.total_weight += w;
  r.seconds = static_cast<size_t>(std::min(duration_s, 86400.0)) + 2;
  r.per_second = std::make_unique<std::atomic<int64_t>[]>(r.seconds);
  for (size_t i = 0; i < r.seconds; ++i) r.per_second[i] = 0;
  r.budget = count;
  for (auto& c : conns_) {
    c->reset_stats();
    c->runner = &r;
  }
  r.active = static_cast<int>(conns_.size() * static_cast<size_t>(cfg_.outstanding));
  r.t0 = now_ns();
  for (auto& c : conns_) {
    for (auto& s : c->slots) issue(s);
  }
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
  {
    std::lock_guard g(r.mu);
    res.aborted = r.abort_reason;
  }
  if (res.aborted.empty() && g_interrupted.load()) res.aborted = "interrupted";
  for (auto& c : conns_) {
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

}  // namespace paddock::bench
