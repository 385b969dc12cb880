#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace paddock::bench {

int Histogram::bucket_of(uint64_t v) {
  if (v < 2 * kSub) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - kSubBits;
  return (shift + 1) * kSub + static_cast<int>((v >> shift) - kSub);
}

uint64_t Histogram::bucket_low(int b) {
  if (b < 2 * kSub) return static_cast<uint64_t>(b);
  int shift = b / kSub - 1;
  return (static_cast<uint64_t>(b % kSub) + kSub) << shift;
}

uint64_t Histogram::bucket_high(int b) {
  if (b < 2 * kSub) return static_cast<uint64_t>(b) + 1;
  int shift = b / kSub - 1;
  return bucket_low(b) + (uint64_t{1} << shift);
}

void Histogram::record(uint64_t v) {
  ++counts_[static_cast<size_t>(bucket_of(v))];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

double Histogram::quantile(double q) const {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted sample, 1-based (nearest-rank definition).
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) {
      double mid = (static_cast<double>(bucket_low(b)) + static_cast<double>(bucket_high(b) - 1)) / 2;
      return std::clamp(mid, static_cast<double>(min()), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

}  // namespace paddock::bench
