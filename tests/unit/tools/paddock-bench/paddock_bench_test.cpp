// Unit tests of paddock-bench's building blocks. The modes themselves are exercised end to end
// by tests/integration/test_bench.py against real servers.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "histogram.hpp"
#include "json.hpp"
#include "load.hpp"
#include "options.hpp"
#include "server_process.hpp"

namespace paddock::bench {
namespace {

TEST(Histogram, BucketsAreContiguousAndOrdered) {
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::bucket_high(b), Histogram::bucket_low(b + 1)) << "bucket " << b;
  }
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 1000ULL, 123456789ULL, (1ULL << 40) + 17}) {
    int b = Histogram::bucket_of(v);
    EXPECT_LE(Histogram::bucket_low(b), v);
    EXPECT_GT(Histogram::bucket_high(b), v);
  }
  EXPECT_LT(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets);
}

TEST(Histogram, QuantilesWithinBucketPrecision) {
  Histogram h;
  std::vector<uint64_t> values;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = 1000 + rng() % 10000000;  // 1 us .. 10 ms in ns
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double exact = static_cast<double>(values[static_cast<size_t>(std::ceil(q * values.size())) - 1]);
    EXPECT_NEAR(h.quantile(q), exact, exact * 0.02) << "q=" << q;
  }
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b;
  for (int i = 0; i < 10; ++i) a.record(100);
  for (int i = 0; i < 30; ++i) b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_NEAR(a.quantile(0.1), 100, 2);
  EXPECT_NEAR(a.quantile(0.9), 1000000, 20000);
  EXPECT_EQ(Histogram().quantile(0.5), 0.0);
}

TEST(Json, QuotesAndNumbers) {
  JsonObject o;
  o.set("s", "a\"b\\c\n").set("i", int64_t{-3}).set("d", 1.5).set("nan", nan()).set("b", true);
  o.set("v", std::vector<double>{1, 2.25});
  EXPECT_EQ(o.str(), R"({"s":"a\"b\\c\n","i":-3,"d":1.5,"nan":null,"b":true,"v":[1,2.25]})");
}

TEST(Options, ParsesValuesFlagsAndSuffixes) {
  Options o("test", {{"count", "N", "10", "n"}, {"keep", "", "", "flag"}, {"set", "K=V", "", "s", true}});
  o.parse({"--count=2k", "--keep", "--set", "a=1", "--set", "b=2"});
  EXPECT_EQ(o.integer("count"), 2000);
  EXPECT_TRUE(o.flag("keep"));
  EXPECT_EQ(o.all("set"), (std::vector<std::string>{"a=1", "b=2"}));
  Options d("test", {{"count", "N", "10", "n"}});
  d.parse({});
  EXPECT_EQ(d.integer("count"), 10);
}

TEST(Options, RefusesUnknownAndMalformed) {
  Options o("test", {{"count", "N", "10", "n"}});
  try {
    o.parse({"--cuont", "3"});
    FAIL() << "accepted an unknown option";
  } catch (const BenchError& e) {
    EXPECT_NE(std::string(e.what()).find("--cuont"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--count"), std::string::npos);  // lists the known ones
  }
  Options p("test", {{"count", "N", "10", "n"}});
  p.parse({"--count", "abc"});
  EXPECT_THROW(p.integer("count"), BenchError);
  Options q("test", {{"count", "N", "10", "n"}});
  EXPECT_THROW(q.parse({"--count"}), BenchError);
}

TEST(Workloads, MixAndAliases) {
  Workload w = make_workload("mixed", "read=90,write=10");
  ASSERT_EQ(w.weights.size(), 2u);
  EXPECT_EQ(w.describe(), "getData=90,setData=10");
  EXPECT_EQ(make_workload("set", "").name, "setData");
  EXPECT_TRUE(make_workload("delete", "").only(Op::kDelete));
  EXPECT_THROW(make_workload("mixed", "read=90,frobnicate=10"), BenchError);
  EXPECT_THROW(make_workload("nosuch", ""), BenchError);
}

TEST(Targets, ParseKinds) {
  EXPECT_EQ(parse_target("127.0.0.1:2181").kind, TargetKind::kExternal);
  EXPECT_EQ(parse_target("localhost:2181").port, 2181);
  EXPECT_EQ(parse_target("zookeeper").kind, TargetKind::kZooKeeper);
  EXPECT_EQ(parse_target("zookeeper").label(), "zookeeper-3.8");
  EXPECT_THROW(parse_target("10.0.0.1:2181"), BenchError);  // loopback only
  EXPECT_THROW(parse_target("paddock"), BenchError);        // needs a config
  EXPECT_THROW(parse_target("paddock:/nonexistent/zoo.cfg"), BenchError);
  EXPECT_THROW(parse_target("127.0.0.1:99999"), BenchError);
}

TEST(Targets, ConfigRewriteReplacesPortAndDirs) {
  std::string src =
      "tickTime=2000\n# comment\ndataDir=./data\nclientPort=2181\nclientPortAddress=0.0.0.0\n"
      "maxClientCnxns=60\npaddock.storage=file\n";
  std::string out = rewrite_config(src, 40001, "/tmp/x/data");
  EXPECT_EQ(out.find("clientPort=2181"), std::string::npos);
  EXPECT_EQ(out.find("dataDir=./data"), std::string::npos);
  EXPECT_NE(out.find("clientPort=40001\n"), std::string::npos);
  EXPECT_NE(out.find("clientPortAddress=127.0.0.1\n"), std::string::npos);
  EXPECT_NE(out.find("dataDir=/tmp/x/data\n"), std::string::npos);
  EXPECT_NE(out.find("paddock.storage=file\n"), std::string::npos);
  EXPECT_NE(out.find("# comment\n"), std::string::npos);
  EXPECT_NE(out.find("admin.enableServer=false\n"), std::string::npos);
  EXPECT_THROW(rewrite_config("server.1=a:1:2\n", 1, "/d"), BenchError);
}

TEST(Common, MedianAndSplit) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 2, 3}), 2.5);
  EXPECT_EQ(median({nan(), 5}), 5);
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_EQ(split(" a, b ,,c ", ','), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace paddock::bench
