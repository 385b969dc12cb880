// Metric primitives for the request path, fsync and snapshots: lock-free latency histograms
// (what /metrics exposes) and ZooKeeper's avg/min/max summaries over them (what mntr and the
// AdminServer's monitor print, and srst resets).
//
// Cost on the hot path: recording one request is two relaxed atomic adds on a cache line of
// the recording thread's shard, plus two relaxed loads for min/max (a compare-and-swap only
// when a new minimum or maximum is seen). No locks; readers sum the shards when asked.
// This header is light on purpose: it is included where requests are answered.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::admin {

// Upper bounds (microseconds) of the latency buckets every latency histogram shares; /metrics
// shows them in milliseconds (le="0.05" ... le="10000"), then +Inf.
inline constexpr std::array<int64_t, 17> kLatencyBoundsUs = {
    50,     100,    250,     500,     1'000,   2'500,   5'000,     10'000,   25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
inline constexpr size_t kBucketCount = kLatencyBoundsUs.size() + 1;  // the last is +Inf

// The bucket an observation of `us` microseconds falls in: the first bound >= us.
size_t bucket_of(int64_t us) noexcept;

// A histogram read at one instant. Counts are per bucket (not cumulative).
struct HistogramCounts {
  std::array<uint64_t, kBucketCount> buckets{};
  uint64_t sum_us = 0;

  uint64_t count() const noexcept;
  // The q-quantile (0 < q <= 1) in microseconds, interpolated linearly inside its bucket
  // (the +Inf bucket answers the last finite bound); 0 when empty.
  double quantile_us(double q) const noexcept;
  HistogramCounts& operator+=(const HistogramCounts& other) noexcept;
  // Saturates at 0 (a reset racing with an observation must not wrap around).
  HistogramCounts& operator-=(const HistogramCounts& other) noexcept;
};

// A latency histogram any thread may record into without locking.
class LatencyHistogram {
 public:
  void observe_us(int64_t us) noexcept;
  HistogramCounts counts() const noexcept;

 private:
  static constexpr size_t kShards = 8;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kBucketCount> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };
  std::array<Shard, kShards> shards_;
};

// Smallest and largest observation since the last reset.
class MinMax {
 public:
  void observe(int64_t v) noexcept;
  void reset() noexcept;
  bool empty() const noexcept { return max_.load(std::memory_order_relaxed) < 0; }
  int64_t min() const noexcept { return empty() ? 0 : min_.load(std::memory_order_relaxed); }
  int64_t max() const noexcept { return empty() ? 0 : max_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> min_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> max_{-1};
};

// One of ZooKeeper's summary metrics as mntr prints it (zk_avg_X, zk_min_X, zk_max_X, zk_cnt_X,
// zk_sum_X and, for percentile summaries, zk_p50_X ... zk_p999_X), in milliseconds.
struct SummaryValues {
  double avg = 0;  // rounded to 4 decimals, as ZooKeeper's AvgMinMaxCounter
  int64_t min = 0, max = 0, cnt = 0, sum = 0;
  int64_t p50 = 0, p95 = 0, p99 = 0, p999 = 0;
};
// The summary of `since_reset` (counts since the last reset) with its min / max.
SummaryValues summarize(const HistogramCounts& since_reset, const MinMax& min_max);

// One timed activity (an fsync, a snapshot): a histogram since start-up for /metrics, and
// ZooKeeper's summary since the last srst for mntr.
class TimeMetric {
 public:
  void observe_us(int64_t us) noexcept {
    histogram_.observe_us(us);
    min_max_.observe(us);
  }
  HistogramCounts counts() const noexcept { return histogram_.counts(); }
  SummaryValues summary() const;
  void reset();

 private:
  LatencyHistogram histogram_;
  MinMax min_max_;
  mutable std::mutex baseline_mu_;  // taken by reset() and summary(), never when recording
  HistogramCounts baseline_;
};

// Request latencies: one histogram per op code (the op label of /metrics), and ZooKeeper's
// readlatency / updatelatency summaries, which are sums over the read and the write ops.
class RequestMetrics {
 public:
  // The ops with a histogram of their own; any other op counts as "other".
  static constexpr size_t kOps = 30;

  void observe(sdk::OpCode op, int64_t us) noexcept;

  struct OpCounts {
    const char* op;  // ZooKeeper's name of the op ("getData", "create" ...)
    HistogramCounts counts;
  };
  // Every op seen since start-up, in a fixed order.
  std::vector<OpCounts> by_op() const;
  // Since start-up, summed over the ops ZooKeeper counts as reads / as updates.
  HistogramCounts reads() const;
  HistogramCounts updates() const;
  // Since the last reset (mntr's zk_*_readlatency / zk_*_updatelatency).
  SummaryValues read_summary() const;
  SummaryValues update_summary() const;
  void reset();

  // ZooKeeper's Request.isQuorum for a global session: the ops counted as updates.
  static bool is_update(sdk::OpCode op) noexcept;

 private:
  static size_t index_of(sdk::OpCode op) noexcept;
  static sdk::OpCode op_at(size_t index) noexcept;

  std::array<LatencyHistogram, kOps> histograms_;
  MinMax read_min_max_, update_min_max_;
  mutable std::mutex baseline_mu_;
  HistogramCounts read_baseline_, update_baseline_;
};

}  // namespace paddock::admin
