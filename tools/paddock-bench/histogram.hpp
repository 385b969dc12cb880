// Latency histogram with fixed memory: log-linear buckets (64 per power of two, so a value is
// known to within 1.6%), mergeable across connections, percentiles by rank.
#pragma once

#include <array>
#include <cstdint>

namespace paddock::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits) * kSub + kSub;

  void record(uint64_t value);
  void merge(const Histogram& other);
  void clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  // Value at quantile q in [0, 1] (the middle of its bucket, clamped to [min, max]); 0 if empty.
  double quantile(double q) const;

  static int bucket_of(uint64_t value);
  static uint64_t bucket_low(int bucket);
  static uint64_t bucket_high(int bucket);  // exclusive

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace paddock::bench
