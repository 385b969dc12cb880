#include "pipeline/sync_stage.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "paddock/sdk/storage.hpp"
#include "pipeline/pipeline.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"

namespace paddock::pipeline {

namespace {
bool is_queued_write(const Request& r) {
  return r.has_txn || r.forwarded || (r.type == OpCode::kSync && !r.rejected);
}
}  // namespace

SyncStage::SyncStage(server::ServerContext& ctx, std::function<void()> snapshot)
    : ctx_(ctx), snapshot_(std::move(snapshot)) {
  reset_snapshot_threshold();
}

SyncStage::~SyncStage() { stop(); }

void SyncStage::reset_snapshot_threshold() {
  // ZooKeeper staggers snapshots: snapCount/2 plus a random share of snapCount/2.
  int64_t half = std::max<int64_t>(1, ctx_.config.snap_count / 2);
  snapshot_threshold_ = half + static_cast<int64_t>(rng_() % static_cast<uint64_t>(half));
  // snapSizeLimitInKb works the same way on logged bytes (0 or less: no size limit).
  int64_t size_half = ctx_.config.snap_size_limit_kb * 1024 / 2;
  size_threshold_ = size_half > 0 ? size_half + static_cast<int64_t>(rng_() % static_cast<uint64_t>(size_half)) : 0;
}

sdk::Status SyncStage::start(sdk::ProcessorContext&) {
  std::lock_guard lk(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  return {};
}

void SyncStage::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t SyncStage::queued() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void SyncStage::push(Item item) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void SyncStage::enqueue_txn(sdk::Zxid zxid, std::string txn, std::function<void()> durable) {
  Item item;
  item.zxid = zxid;
  item.txn = std::move(txn);
  item.then = std::move(durable);
  push(std::move(item));
}

void SyncStage::enqueue_action(std::function<void()> action) {
  Item item;
  item.then = std::move(action);
  push(std::move(item));
}

void SyncStage::drain() {
  std::unique_lock lk(mu_);
  if (!thread_.joinable()) return;
  idle_cv_.wait(lk, [this] { return queue_.empty() && !busy_; });
}

void SyncStage::enter_session_queue(Request& r) {
  if (!r.session_ref) return;
  std::lock_guard lk(r.session_ref->mu);
  r.session_ref->in_flight.push_back(&r);
  r.in_session_queue = true;
}

bool SyncStage::park_behind_session(Request& r) {
  if (!r.session_ref) return false;
  std::lock_guard lk(r.session_ref->mu);
  if (r.session_ref->in_flight.empty()) return false;
  r.session_ref->in_flight.push_back(&r);
  return true;
}

sdk::Decision SyncStage::process(sdk::RequestView& view) {
  auto& r = static_cast<Request&>(view);
  if (is_queued_write(r)) {
    enter_session_queue(r);
    Item item;
    item.request = &r;
    push(std::move(item));
    return sdk::Decision::deferred();
  }
  // A read (or a refused request) waits if the session has anything ahead of it.
  return park_behind_session(r) ? sdk::Decision::deferred() : sdk::Decision::next();
}

void SyncStage::complete(Request& r) {
  if (!r.in_session_queue || !r.session_ref) return;
  r.in_session_queue = false;
  auto& s = *r.session_ref;
  // Held while the released reads are answered, so a newer read arriving on the I/O thread
  // cannot overtake them.
  std::lock_guard lk(s.mu);
  if (s.in_flight.empty() || s.in_flight.front() != &r) return;
  s.in_flight.pop_front();
  while (!s.in_flight.empty()) {
    Request* next = s.in_flight.front();
    if (is_queued_write(*next)) break;
    s.in_flight.pop_front();
    next->pipeline->resume(*next);
  }
}

void SyncStage::run() {
  std::vector<Item> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
      cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // At most maxBatchSize items per fsync, as ZooKeeper's SyncRequestProcessor.
      size_t take = std::min(queue_.size(), static_cast<size_t>(std::max(1, ctx_.config.max_batch_size)));
      if (take == queue_.size()) {
        batch.swap(queue_);
      } else {
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(take)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
      }
      busy_ = true;
    }
    bool appended = false;
    for (const Item& item : batch) {
      sdk::Zxid zxid = 0;
      const std::string* txn = nullptr;
      if (item.request) {
        if (!item.request->has_txn) continue;
        zxid = item.request->txn_zxid;
        txn = &item.request->txn;
      } else if (!item.txn.empty()) {
        zxid = item.zxid;
        txn = &item.txn;
      } else {
        continue;
      }
      if (auto st = ctx_.storage.append(zxid, *txn); !st) {
        spdlog::critical("cannot append zxid 0x{:x} to the transaction log: {}", zxid, st.message());
        std::_Exit(3);
      }
      appended = true;
      ++logged_since_snapshot_;
      logged_bytes_since_snapshot_ += static_cast<int64_t>(txn->size());
    }
    if (appended) {
      auto commit_start = std::chrono::steady_clock::now();
      if (auto st = ctx_.storage.commit(); !st) {
        spdlog::critical("cannot commit the transaction log: {}", st.message());
        std::_Exit(3);
      }
      // metrics: ZooKeeper's fsynctime (recorded only when forceSync fsyncs, as ZooKeeper does)
      if (ctx_.config.force_sync) {
        ctx_.stats.fsync_done(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - commit_start).count());
      }
    }
    for (Item& item : batch) {
      if (item.request) {
        item.request->pipeline->resume(*item.request);
      } else if (item.then) {
        item.then();
      }
    }
    batch.clear();
    if (logged_since_snapshot_ >= snapshot_threshold_ ||
        (size_threshold_ > 0 && logged_bytes_since_snapshot_ >= size_threshold_)) {
      logged_since_snapshot_ = 0;
      logged_bytes_since_snapshot_ = 0;
      reset_snapshot_threshold();
      if (snapshot_) snapshot_();
    }
  }
}

}  // namespace paddock::pipeline
