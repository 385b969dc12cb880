#include "server/container_manager.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "paddock/sdk/jute.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/request.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"
#include "util/wall_clock.hpp"

namespace paddock::server {

using util::wall_ms;

ContainerManager::ContainerManager(ServerContext& ctx) : ctx_(ctx) {}

ContainerManager::~ContainerManager() { stop(); }

void ContainerManager::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ContainerManager::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ContainerManager::pause(int64_t ms) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

void ContainerManager::run() {
  // A fixed-rate timer, first run one interval after start, as ZooKeeper's.
  const int64_t interval = ctx_.config.container_check_interval_ms;
  int64_t next = session::now_ms() + interval;
  for (;;) {
    int64_t wait = next - session::now_ms();
    if (wait > 0 && !pause(wait)) return;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
    }
    next += interval;
    if (next < session::now_ms()) next = session::now_ms() + interval;  // fell behind: no burst of runs
    check();
  }
}

size_t ContainerManager::check() {
  if (!ctx_.sessions.expiry_enabled()) return 0;  // not deciding here (a learner, or looking)
  std::vector<std::string> candidates =
      ctx_.tree.expiry_candidates(wall_ms(), ctx_.config.container_max_never_used_ms);
  const int64_t min_interval = 60000 / std::max(1, ctx_.config.container_max_per_minute);
  size_t submitted = 0;
  for (const auto& path : candidates) {
    int64_t started = session::now_ms();
    pipeline::Pipeline* p = ctx_.active_pipeline.load(std::memory_order_acquire);
    if (!p || !ctx_.sessions.expiry_enabled()) break;
    spdlog::info("attempting to delete candidate container: {}", path);
    auto r = std::make_unique<pipeline::Request>();
    r->type = sdk::OpCode::kDeleteContainer;
    r->session_id = 0;
    r->cxid = 0;
    r->first_path = path;
    sdk::jute::Writer w(r->payload);
    w.write_string(path);
    r->received_ns = started * 1000000;
    p->submit(std::move(r));
    ++submitted;
    int64_t rest = min_interval - (session::now_ms() - started);
    if (rest > 0 && !pause(rest)) break;
  }
  return submitted;
}

}  // namespace paddock::server
