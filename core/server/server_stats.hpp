// Counters behind srvr / stat / mntr and /metrics: request latency (overall and per op),
// packets, outstanding requests, response sizes, fsync and snapshot times. Everything here is
// recorded lock-free (relaxed atomics); srst resets what ZooKeeper's ServerStats.reset resets.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

#include "admin/metrics.hpp"

namespace paddock::server {

class ServerStats {
 public:
  void record_latency_ms(int64_t ms) {
    latency_total_.fetch_add(ms, std::memory_order_relaxed);
    latency_count_.fetch_add(1, std::memory_order_relaxed);
    latency_min_max_.observe(ms);
  }
  void packet_received() { received_.fetch_add(1, std::memory_order_relaxed); }
  void packet_sent() { sent_.fetch_add(1, std::memory_order_relaxed); }
  // ZooKeeper's BufferStats of client responses.
  void response_size(int64_t bytes) {
    last_response_size_.store(bytes, std::memory_order_relaxed);
    int64_t cur = max_response_size_.load(std::memory_order_relaxed);
    while (bytes > cur && !max_response_size_.compare_exchange_weak(cur, bytes, std::memory_order_relaxed)) {}
    cur = min_response_size_.load(std::memory_order_relaxed);
    while ((cur < 0 || bytes < cur) &&
           !min_response_size_.compare_exchange_weak(cur, bytes, std::memory_order_relaxed)) {}
  }
  // An fsync of the transaction log took `us` (ZooKeeper's fsynctime).
  void fsync_done(int64_t us) {
    fsync.observe_us(us);
    if (us > kFsyncWarningThresholdUs) fsync_threshold_exceed_.fetch_add(1, std::memory_order_relaxed);
  }
  // A snapshot of `zxid` was written in `us` (ZooKeeper's snapshottime and last_snapshot).
  void snapshot_done(int64_t zxid, int64_t us, int64_t wall_seconds) {
    snapshot.observe_us(us);
    last_snapshot_zxid_.store(zxid, std::memory_order_relaxed);
    last_snapshot_time_s_.store(wall_seconds, std::memory_order_relaxed);
  }

  // The snapshot a restart loaded, until a new one is written.
  void snapshot_loaded(int64_t zxid, int64_t wall_seconds) {
    last_snapshot_zxid_.store(zxid, std::memory_order_relaxed);
    last_snapshot_time_s_.store(wall_seconds, std::memory_order_relaxed);
  }

  // srst: what ZooKeeper's ServerStats.reset clears (latency, packets, response sizes) and
  // the summaries its ServerMetrics.resetAll clears. /metrics histograms are never reset.
  void reset() {
    latency_total_ = 0;
    latency_count_ = 0;
    latency_min_max_.reset();
    received_ = 0;
    sent_ = 0;
    last_response_size_ = -1;
    max_response_size_ = -1;
    min_response_size_ = -1;
    fsync_threshold_exceed_ = 0;
    requests.reset();
    fsync.reset();
    snapshot.reset();
  }

  struct Latency { int64_t min, max, count; double avg; };
  Latency latency() const {
    int64_t count = latency_count_.load(std::memory_order_relaxed);
    int64_t total = latency_total_.load(std::memory_order_relaxed);
    return {latency_min_max_.min(), latency_min_max_.max(), count,
            count ? static_cast<double>(total) / static_cast<double>(count) : 0.0};
  }
  int64_t received() const { return received_.load(std::memory_order_relaxed); }
  int64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  // -1 until a response was sent, as ZooKeeper reports them.
  int64_t last_response_size() const { return last_response_size_.load(std::memory_order_relaxed); }
  int64_t max_response_size() const { return max_response_size_.load(std::memory_order_relaxed); }
  int64_t min_response_size() const { return min_response_size_.load(std::memory_order_relaxed); }
  int64_t fsync_threshold_exceed_count() const { return fsync_threshold_exceed_.load(std::memory_order_relaxed); }
  int64_t last_snapshot_zxid() const { return last_snapshot_zxid_.load(std::memory_order_relaxed); }
  int64_t last_snapshot_time_s() const { return last_snapshot_time_s_.load(std::memory_order_relaxed); }

  std::atomic<int64_t> outstanding{0};
  admin::RequestMetrics requests;  // per-op latency; readlatency / updatelatency
  admin::TimeMetric fsync;         // fsynctime
  admin::TimeMetric snapshot;      // snapshottime

 private:
  // ZooKeeper's fsync.warningthresholdms default.
  static constexpr int64_t kFsyncWarningThresholdUs = 1000 * 1000;

  std::atomic<int64_t> latency_total_{0}, latency_count_{0};
  admin::MinMax latency_min_max_;
  std::atomic<int64_t> received_{0}, sent_{0};
  std::atomic<int64_t> last_response_size_{-1}, max_response_size_{-1}, min_response_size_{-1};
  std::atomic<int64_t> fsync_threshold_exceed_{0};
  std::atomic<int64_t> last_snapshot_zxid_{-1}, last_snapshot_time_s_{-1};
};

}  // namespace paddock::server
