// The load client built on the real ZooKeeper C client (libzookeeper-mt, asynchronous API):
// each completion callback, on the session's completion thread, records the reply and sends
// the slot's next request.
#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common.hpp"
#include "load_engine.hpp"

namespace paddock::bench {

namespace {

struct Conn;

struct Slot {
  Conn* conn = nullptr;
  int64_t start_ns = 0;
  Op op = Op::kGetData;
  std::string path;
};

struct Conn : Session {
  zhandle_t* zh = nullptr;
  std::vector<Slot> slots;
  RunPlan* plan = nullptr;

  std::mutex state_mu;
  std::condition_variable state_cv;
  int state = 0;
};

void issue(Slot& s);

void complete(Slot& s, int rc) {
  record_completion(*s.conn, *s.conn->plan, s.op, s.path, s.start_ns, rc);
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

void issue(Slot& s) {
  Conn& c = *s.conn;
  RunPlan& r = *c.plan;
  Op op;
  if (!next_request(c, r, op, s.path)) return;
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

class CClient final : public LoadClient {
 public:
  explicit CClient(const LoadConfig& cfg) : LoadClient(cfg) {
    client_log_stream(cfg_.client_log);
    std::string hostport = cfg_.hostport();
    for (int i = 0; i < cfg_.connections; ++i) {
      auto c = std::make_unique<Conn>();
      c->index = i;
      c->rng = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(i + 1) + static_cast<uint64_t>(now_ns());
      c->slots.resize(static_cast<size_t>(cfg_.outstanding));
      for (auto& s : c->slots) s.conn = c.get();
      c->zh = zookeeper_init(hostport.c_str(), watcher, cfg_.session_timeout_ms, nullptr, c.get(), 0);
      if (c->zh == nullptr) {
        throw BenchError("zookeeper_init(" + hostport + ") failed: " + std::strerror(errno));
      }
      // By default the client re-resolves the host list every time it polls its socket
      // (getaddrinfo, a netlink dump, a shuffle): more CPU than the request itself. A loopback
      // address needs no re-resolution; connection loss still resolves.
      zoo_set_servers_resolution_delay(c->zh, -1);
      sessions_.push_back(c.get());
      conns_.push_back(std::move(c));
    }
    double deadline = now_s() + 20;
    for (auto& c : conns_) {
      std::unique_lock lk(c->state_mu);
      while (c->state != ZOO_CONNECTED_STATE) {
        throw_if_interrupted();
        if (c->state == ZOO_EXPIRED_SESSION_STATE || c->state == ZOO_AUTH_FAILED_STATE) {
          throw BenchError("session to " + hostport + " refused");
        }
        if (now_s() > deadline) {
          throw BenchError("no session to " + hostport + " within 20 s (is a server listening?)");
        }
        c->state_cv.wait_for(lk, std::chrono::milliseconds(50));
      }
    }
  }

  ~CClient() override {
    for (auto& c : conns_) {
      if (c->zh != nullptr) zookeeper_close(c->zh);
      c->zh = nullptr;
    }
  }

 protected:
  void start_run(RunPlan& plan) override {
    for (auto& c : conns_) c->plan = &plan;
    for (auto& c : conns_) {
      for (auto& s : c->slots) issue(s);
    }
  }
  // Callbacks of an undrained run may still come: the plan stays alive (the graveyard).
  void end_run(RunPlan&, bool) override {}

 private:
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace

std::unique_ptr<LoadClient> make_c_client(const LoadConfig& cfg) { return std::make_unique<CClient>(cfg); }

}  // namespace paddock::bench
