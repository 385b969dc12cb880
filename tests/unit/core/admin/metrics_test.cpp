// Latency histograms and ZooKeeper-style summaries (core/admin/metrics.hpp).
#include "admin/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace paddock::admin {
namespace {

TEST(Buckets, UpperBoundsAreInclusive) {
  EXPECT_EQ(bucket_of(0), 0u);
  EXPECT_EQ(bucket_of(50), 0u);  // le="0.05" holds 50 us
  EXPECT_EQ(bucket_of(51), 1u);
  EXPECT_EQ(bucket_of(1000), 4u);  // le="1"
  EXPECT_EQ(bucket_of(1001), 5u);
  EXPECT_EQ(bucket_of(10'000'000), kBucketCount - 2);
  EXPECT_EQ(bucket_of(10'000'001), kBucketCount - 1);  // +Inf
  EXPECT_EQ(bucket_of(INT64_MAX), kBucketCount - 1);
}

TEST(LatencyHistogram, CountsEveryObservationFromManyThreads) {
  LatencyHistogram h;
  constexpr int kThreads = 8, kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.observe_us(t * 1000 + i % 7);
    });
  }
  for (auto& t : threads) t.join();
  HistogramCounts c = h.counts();
  EXPECT_EQ(c.count(), uint64_t{kThreads} * kEach);
  uint64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) expected_sum += static_cast<uint64_t>(t * 1000 + i % 7);
  }
  EXPECT_EQ(c.sum_us, expected_sum);
}

TEST(LatencyHistogram, NegativeObservationsCountAsZero) {
  LatencyHistogram h;
  h.observe_us(-5);
  HistogramCounts c = h.counts();
  EXPECT_EQ(c.buckets[0], 1u);
  EXPECT_EQ(c.sum_us, 0u);
}

TEST(HistogramCounts, QuantileInterpolatesInsideTheBucket) {
  HistogramCounts c;
  EXPECT_EQ(c.quantile_us(0.5), 0);  // empty
  c.buckets[bucket_of(800)] = 4;     // (500, 1000]
  EXPECT_DOUBLE_EQ(c.quantile_us(0.5), 750);
  EXPECT_DOUBLE_EQ(c.quantile_us(1.0), 1000);
  c.buckets[kBucketCount - 1] = 4;  // beyond the last bound
  EXPECT_DOUBLE_EQ(c.quantile_us(0.99), static_cast<double>(kLatencyBoundsUs.back()));
}

TEST(HistogramCounts, SubtractionSaturates) {
  HistogramCounts a, b;
  a.buckets[3] = 2;
  a.sum_us = 10;
  b.buckets[3] = 5;
  b.sum_us = 20;
  a -= b;
  EXPECT_EQ(a.buckets[3], 0u);
  EXPECT_EQ(a.sum_us, 0u);
  HistogramCounts c;
  c.buckets[1] = 1;
  c += c;
  EXPECT_EQ(c.buckets[1], 2u);
}

TEST(MinMax, TracksExtremesUntilReset) {
  MinMax m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.min(), 0);
  EXPECT_EQ(m.max(), 0);
  m.observe(7);
  m.observe(3);
  m.observe(11);
  EXPECT_EQ(m.min(), 3);
  EXPECT_EQ(m.max(), 11);
  m.reset();
  EXPECT_TRUE(m.empty());
  m.observe(0);
  EXPECT_FALSE(m.empty());
  EXPECT_EQ(m.max(), 0);
}

TEST(Summary, AsZooKeeperPrintsIt) {
  TimeMetric t;
  SummaryValues empty = t.summary();
  EXPECT_EQ(empty.cnt, 0);
  EXPECT_EQ(empty.avg, 0);
  t.observe_us(1500);   // 1.5 ms
  t.observe_us(2500);   // 2.5 ms
  t.observe_us(12000);  // 12 ms
  SummaryValues v = t.summary();
  EXPECT_EQ(v.cnt, 3);
  EXPECT_EQ(v.sum, 16);        // 16 ms
  EXPECT_DOUBLE_EQ(v.avg, 5.3333);  // rounded to 4 decimals
  EXPECT_EQ(v.min, 1);
  EXPECT_EQ(v.max, 12);
  EXPECT_GE(v.p50, v.min);
  EXPECT_LE(v.p999, v.max);
}

TEST(Summary, ResetClearsTheSummaryButNotTheHistogram) {
  TimeMetric t;
  t.observe_us(100);
  t.observe_us(200);
  t.reset();
  EXPECT_EQ(t.summary().cnt, 0);
  EXPECT_EQ(t.counts().count(), 2u);  // /metrics stays monotonic
  t.observe_us(3000);
  SummaryValues v = t.summary();
  EXPECT_EQ(v.cnt, 1);
  EXPECT_EQ(v.min, 3);
  EXPECT_EQ(v.max, 3);
  EXPECT_EQ(t.counts().count(), 3u);
}

TEST(RequestMetrics, SplitsReadsFromUpdatesAndNamesOps) {
  RequestMetrics r;
  r.observe(sdk::OpCode::kGetData, 100);
  r.observe(sdk::OpCode::kGetData, 300);
  r.observe(sdk::OpCode::kExists, 50);
  r.observe(sdk::OpCode::kCreate, 2000);
  r.observe(sdk::OpCode::kSetData, 4000);
  r.observe(sdk::OpCode::kAuth, 10);  // not listed: "other", counted as a read
  EXPECT_EQ(r.reads().count(), 4u);
  EXPECT_EQ(r.updates().count(), 2u);
  std::map<std::string, uint64_t> by_op;
  for (const auto& o : r.by_op()) by_op[o.op] = o.counts.count();
  EXPECT_EQ(by_op, (std::map<std::string, uint64_t>{
                       {"getData", 2}, {"exists", 1}, {"create", 1}, {"setData", 1}, {"other", 1}}));
  SummaryValues u = r.update_summary();
  EXPECT_EQ(u.cnt, 2);
  EXPECT_EQ(u.min, 2);
  EXPECT_EQ(u.max, 4);
  r.reset();
  EXPECT_EQ(r.read_summary().cnt, 0);
  EXPECT_EQ(r.update_summary().cnt, 0);
  EXPECT_EQ(r.reads().count(), 4u);
  r.observe(sdk::OpCode::kGetChildren2, 700);
  EXPECT_EQ(r.read_summary().cnt, 1);
}

TEST(RequestMetrics, UpdatesAreZooKeepersQuorumOps) {
  for (auto op : {sdk::OpCode::kCreate, sdk::OpCode::kCreate2, sdk::OpCode::kCreateContainer,
                  sdk::OpCode::kCreateTtl, sdk::OpCode::kDelete, sdk::OpCode::kDeleteContainer,
                  sdk::OpCode::kSetData, sdk::OpCode::kSetAcl, sdk::OpCode::kMulti,
                  sdk::OpCode::kReconfig, sdk::OpCode::kCreateSession, sdk::OpCode::kCloseSession}) {
    EXPECT_TRUE(RequestMetrics::is_update(op)) << sdk::op_name(op);
  }
  for (auto op : {sdk::OpCode::kGetData, sdk::OpCode::kExists, sdk::OpCode::kGetChildren,
                  sdk::OpCode::kGetChildren2, sdk::OpCode::kGetAcl, sdk::OpCode::kMultiRead,
                  sdk::OpCode::kSync, sdk::OpCode::kPing, sdk::OpCode::kSetWatches2,
                  sdk::OpCode::kAddWatch}) {
    EXPECT_FALSE(RequestMetrics::is_update(op)) << sdk::op_name(op);
  }
}

}  // namespace
}  // namespace paddock::admin
