// The Prometheus text exposition (core/admin/prometheus.hpp): value and escape formatting,
// and families as a scraper parses them.
#include "admin/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <regex>
#include <sstream>

namespace paddock::admin {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line is a HELP, a TYPE or a well-formed sample of the family declared last.
void expect_well_formed(const std::string& text) {
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]Inf|NaN)$)");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::string family;
  std::set<std::string> seen;
  for (const auto& line : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      family = m[1];
      EXPECT_TRUE(seen.insert(family).second) << "family declared twice: " << family;
      continue;
    }
    if (std::regex_match(line, m, type)) {
      EXPECT_EQ(m[1], family) << line;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "bad sample line: " << line;
    std::string name = m[1];
    EXPECT_TRUE(name == family || name == family + "_bucket" || name == family + "_sum" ||
                name == family + "_count")
        << name << " outside its family " << family;
  }
}

TEST(FormatValue, GoStyle) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.05), "0.05");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(1234567.125), "1234567.125");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(std::stod(format_value(1e300)), 1e300);
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);  // shortest exact form
}

TEST(Escapes, LabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
}

TEST(Exposition, GaugeWithLabels) {
  Exposition e;
  e.gauge("znode_count", "Number of znodes", 5);
  e.gauge("paddock_info", "build", 1, {{"version", "0.1.0"}, {"path", "a\"b"}});
  EXPECT_EQ(e.text(),
            "# HELP znode_count Number of znodes\n"
            "# TYPE znode_count gauge\n"
            "znode_count 5\n"
            "# HELP paddock_info build\n"
            "# TYPE paddock_info gauge\n"
            "paddock_info{version=\"0.1.0\",path=\"a\\\"b\"} 1\n");
  expect_well_formed(e.text());
}

TEST(Exposition, HistogramBucketsAreCumulativeAndEndInInf) {
  LatencyHistogram h;
  h.observe_us(40);        // le 0.05
  h.observe_us(700);       // le 1
  h.observe_us(700);       // le 1
  h.observe_us(20'000'000);  // +Inf
  Exposition e;
  e.histogram("paddock_request_latency_ms", "latency", "op", {{"getData", h.counts()}});
  const std::string& t = e.text();
  expect_well_formed(t);
  auto lines = lines_of(t);
  ASSERT_EQ(lines.size(), 2 + kBucketCount + 2);
  EXPECT_EQ(lines[2], "paddock_request_latency_ms_bucket{op=\"getData\",le=\"0.05\"} 1");
  EXPECT_EQ(lines[3], "paddock_request_latency_ms_bucket{op=\"getData\",le=\"0.1\"} 1");
  EXPECT_EQ(lines[6], "paddock_request_latency_ms_bucket{op=\"getData\",le=\"1\"} 3");
  EXPECT_EQ(lines[2 + kBucketCount - 2],
            "paddock_request_latency_ms_bucket{op=\"getData\",le=\"10000\"} 3");
  EXPECT_EQ(lines[2 + kBucketCount - 1],
            "paddock_request_latency_ms_bucket{op=\"getData\",le=\"+Inf\"} 4");
  EXPECT_EQ(lines[2 + kBucketCount], "paddock_request_latency_ms_sum{op=\"getData\"} 20001.44");
  EXPECT_EQ(lines[2 + kBucketCount + 1], "paddock_request_latency_ms_count{op=\"getData\"} 4");
  // Cumulative: never decreasing.
  double last = -1;
  for (size_t i = 2; i < 2 + kBucketCount; ++i) {
    double v = std::stod(lines[i].substr(lines[i].rfind(' ') + 1));
    EXPECT_GE(v, last) << lines[i];
    last = v;
  }
}

TEST(Exposition, HistogramWithoutLabelAndSeveralSeries) {
  LatencyHistogram a, b;
  a.observe_us(100);
  b.observe_us(3000);
  Exposition e;
  e.histogram("paddock_fsync_time_ms", "fsync", "", {{"", a.counts()}});
  e.histogram("paddock_request_latency_ms", "latency", "op", {{"create", a.counts()}, {"delete", b.counts()}});
  expect_well_formed(e.text());
  EXPECT_NE(e.text().find("paddock_fsync_time_ms_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(e.text().find("paddock_fsync_time_ms_count 1\n"), std::string::npos);
  EXPECT_NE(e.text().find("paddock_request_latency_ms_count{op=\"delete\"} 1\n"), std::string::npos);
}

TEST(Exposition, SummaryQuantilesAndEmptySummary) {
  LatencyHistogram h;
  for (int i = 0; i < 10; ++i) h.observe_us(800);
  Exposition e;
  e.summary("readlatency", "reads", h.counts(), {0.5, 0.9, 0.99});
  e.summary("snapshottime", "snapshots", HistogramCounts{}, {0.5});
  expect_well_formed(e.text());
  EXPECT_NE(e.text().find("# TYPE readlatency summary\nreadlatency{quantile=\"0.5\"} 0.75\n"),
            std::string::npos)
      << e.text();
  EXPECT_NE(e.text().find("readlatency_sum 8\nreadlatency_count 10\n"), std::string::npos);
  EXPECT_NE(e.text().find("snapshottime{quantile=\"0.5\"} NaN\nsnapshottime_sum 0\nsnapshottime_count 0\n"),
            std::string::npos)
      << e.text();
}

}  // namespace
}  // namespace paddock::admin
