#include "admin/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace paddock::admin {
namespace {

// Each thread records into one shard, picked round-robin the first time it records.
size_t my_shard(size_t shards) noexcept {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard % shards;
}

void lower_to(std::atomic<int64_t>& a, int64_t v) noexcept {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void raise_to(std::atomic<int64_t>& a, int64_t v) noexcept {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

int64_t us_to_ms(double us) { return static_cast<int64_t>(us / 1000.0); }

// The ops with their own histogram, in the order /metrics lists them; index kOps - 1 is
// "other".
constexpr sdk::OpCode kOpOrder[RequestMetrics::kOps - 1] = {
    sdk::OpCode::kCreate,          sdk::OpCode::kCreate2,        sdk::OpCode::kCreateContainer,
    sdk::OpCode::kCreateTtl,       sdk::OpCode::kDelete,         sdk::OpCode::kDeleteContainer,
    sdk::OpCode::kSetData,         sdk::OpCode::kSetAcl,         sdk::OpCode::kCheck,
    sdk::OpCode::kMulti,           sdk::OpCode::kReconfig,       sdk::OpCode::kCreateSession,
    sdk::OpCode::kCloseSession,    sdk::OpCode::kExists,         sdk::OpCode::kGetData,
    sdk::OpCode::kGetAcl,          sdk::OpCode::kGetChildren,    sdk::OpCode::kGetChildren2,
    sdk::OpCode::kGetEphemerals,   sdk::OpCode::kGetAllChildrenNumber, sdk::OpCode::kMultiRead,
    sdk::OpCode::kSync,            sdk::OpCode::kPing,           sdk::OpCode::kSetWatches,
    sdk::OpCode::kSetWatches2,     sdk::OpCode::kAddWatch,       sdk::OpCode::kCheckWatches,
    sdk::OpCode::kRemoveWatches,   sdk::OpCode::kWhoAmI,
};

}  // namespace

size_t bucket_of(int64_t us) noexcept {
  return static_cast<size_t>(
      std::lower_bound(kLatencyBoundsUs.begin(), kLatencyBoundsUs.end(), us) -
      kLatencyBoundsUs.begin());
}

// ---------------------------------------------------------------------------------------
// HistogramCounts

uint64_t HistogramCounts::count() const noexcept {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

double HistogramCounts::quantile_us(double q) const noexcept {
  uint64_t total = count();
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(below + buckets[i]) >= rank) {
      if (i == kBucketCount - 1) return static_cast<double>(kLatencyBoundsUs.back());
      double lower = i == 0 ? 0.0 : static_cast<double>(kLatencyBoundsUs[i - 1]);
      double upper = static_cast<double>(kLatencyBoundsUs[i]);
      double into = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return lower + (upper - lower) * std::clamp(into, 0.0, 1.0);
    }
    below += buckets[i];
  }
  return static_cast<double>(kLatencyBoundsUs.back());
}

HistogramCounts& HistogramCounts::operator+=(const HistogramCounts& other) noexcept {
  for (size_t i = 0; i < kBucketCount; ++i) buckets[i] += other.buckets[i];
  sum_us += other.sum_us;
  return *this;
}

HistogramCounts& HistogramCounts::operator-=(const HistogramCounts& other) noexcept {
  for (size_t i = 0; i < kBucketCount; ++i) {
    buckets[i] = buckets[i] > other.buckets[i] ? buckets[i] - other.buckets[i] : 0;
  }
  sum_us = sum_us > other.sum_us ? sum_us - other.sum_us : 0;
  return *this;
}

// ---------------------------------------------------------------------------------------
// LatencyHistogram, MinMax

void LatencyHistogram::observe_us(int64_t us) noexcept {
  if (us < 0) us = 0;
  Shard& s = shards_[my_shard(kShards)];
  s.buckets[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
  s.sum_us.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
}

HistogramCounts LatencyHistogram::counts() const noexcept {
  HistogramCounts out;
  for (const Shard& s : shards_) {
    for (size_t i = 0; i < kBucketCount; ++i) {
      out.buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
    }
    out.sum_us += s.sum_us.load(std::memory_order_relaxed);
  }
  return out;
}

void MinMax::observe(int64_t v) noexcept {
  if (v < 0) v = 0;
  lower_to(min_, v);
  raise_to(max_, v);
}

void MinMax::reset() noexcept {
  min_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
  max_.store(-1, std::memory_order_relaxed);
}

SummaryValues summarize(const HistogramCounts& since_reset, const MinMax& min_max) {
  SummaryValues v;
  v.cnt = static_cast<int64_t>(since_reset.count());
  if (v.cnt == 0) return v;
  double sum_ms = static_cast<double>(since_reset.sum_us) / 1000.0;
  v.sum = static_cast<int64_t>(sum_ms);
  v.avg = std::round(sum_ms / static_cast<double>(v.cnt) * 10000.0) / 10000.0;
  v.min = us_to_ms(static_cast<double>(min_max.min()));
  v.max = us_to_ms(static_cast<double>(min_max.max()));
  // A percentile never lies outside what was observed.
  auto pct = [&](double q) {
    return std::clamp(us_to_ms(since_reset.quantile_us(q)), v.min, v.max);
  };
  v.p50 = pct(0.5);
  v.p95 = pct(0.95);
  v.p99 = pct(0.99);
  v.p999 = pct(0.999);
  return v;
}

// ---------------------------------------------------------------------------------------
// TimeMetric

SummaryValues TimeMetric::summary() const {
  HistogramCounts c = histogram_.counts();
  {
    std::lock_guard lk(baseline_mu_);
    c -= baseline_;
  }
  return summarize(c, min_max_);
}

void TimeMetric::reset() {
  std::lock_guard lk(baseline_mu_);
  baseline_ = histogram_.counts();
  min_max_.reset();
}

// ---------------------------------------------------------------------------------------
// RequestMetrics

bool RequestMetrics::is_update(sdk::OpCode op) noexcept {
  switch (op) {
    case sdk::OpCode::kCreate: case sdk::OpCode::kCreate2: case sdk::OpCode::kCreateContainer:
    case sdk::OpCode::kCreateTtl: case sdk::OpCode::kDelete: case sdk::OpCode::kDeleteContainer:
    case sdk::OpCode::kSetData: case sdk::OpCode::kSetAcl: case sdk::OpCode::kCheck:
    case sdk::OpCode::kMulti: case sdk::OpCode::kReconfig: case sdk::OpCode::kCreateSession:
    case sdk::OpCode::kCloseSession:
      return true;
    default:
      return false;
  }
}

size_t RequestMetrics::index_of(sdk::OpCode op) noexcept {
  for (size_t i = 0; i < kOps - 1; ++i) {
    if (kOpOrder[i] == op) return i;
  }
  return kOps - 1;
}

sdk::OpCode RequestMetrics::op_at(size_t index) noexcept {
  return index < kOps - 1 ? kOpOrder[index] : sdk::OpCode::kError;
}

void RequestMetrics::observe(sdk::OpCode op, int64_t us) noexcept {
  histograms_[index_of(op)].observe_us(us);
  (is_update(op) ? update_min_max_ : read_min_max_).observe(us);
}

std::vector<RequestMetrics::OpCounts> RequestMetrics::by_op() const {
  std::vector<OpCounts> out;
  for (size_t i = 0; i < kOps; ++i) {
    HistogramCounts c = histograms_[i].counts();
    if (c.count() == 0) continue;
    out.push_back({i == kOps - 1 ? "other" : sdk::op_name(op_at(i)), c});
  }
  return out;
}

HistogramCounts RequestMetrics::reads() const {
  HistogramCounts sum;
  for (size_t i = 0; i + 1 < kOps; ++i) {
    if (!is_update(op_at(i))) sum += histograms_[i].counts();
  }
  // "other" holds ops observe() counted as reads (anything ZooKeeper does not call a quorum op).
  sum += histograms_[kOps - 1].counts();
  return sum;
}

HistogramCounts RequestMetrics::updates() const {
  HistogramCounts sum;
  for (size_t i = 0; i + 1 < kOps; ++i) {
    if (is_update(op_at(i))) sum += histograms_[i].counts();
  }
  return sum;
}

SummaryValues RequestMetrics::read_summary() const {
  HistogramCounts c = reads();
  {
    std::lock_guard lk(baseline_mu_);
    c -= read_baseline_;
  }
  return summarize(c, read_min_max_);
}

SummaryValues RequestMetrics::update_summary() const {
  HistogramCounts c = updates();
  {
    std::lock_guard lk(baseline_mu_);
    c -= update_baseline_;
  }
  return summarize(c, update_min_max_);
}

void RequestMetrics::reset() {
  std::lock_guard lk(baseline_mu_);
  read_baseline_ = reads();
  update_baseline_ = updates();
  read_min_max_.reset();
  update_min_max_.reset();
}

}  // namespace paddock::admin
