// Prometheus text exposition format 0.0.4. Only what /metrics needs: gauges, histograms
// (buckets in milliseconds) and summaries (quantiles estimated from a histogram). Debian's
// prometheus-cpp is not used: its metrics lock a mutex per observation (ours are lock-free,
// admin/metrics.hpp), and only its text formatting would be left, which does not warrant its
// development package's civetweb and libcurl dependencies (docs/admin.md).
//
// Rules followed (https://prometheus.io/docs/instrumenting/exposition_formats/): one
// `# HELP` and one `# TYPE` line per family, before its samples, each family's samples
// together; label values escape \ " and newline, HELP text escapes \ and newline; values are
// Go-style floats (+Inf, -Inf, NaN); histogram buckets are cumulative, end with le="+Inf"
// equal to _count, and come with _sum and _count.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/metrics.hpp"

namespace paddock::admin {

// The content type a /metrics answer carries.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// A number as the exposition format writes it: integral values without a fraction or exponent
// (up to 2^53), others in the shortest form that reads back exactly, and +Inf, -Inf, NaN.
std::string format_value(double v);
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void counter(std::string_view name, std::string_view help, double value);
  // One histogram family; each series is (value of `label`, counts). Buckets in ms.
  void histogram(std::string_view name, std::string_view help, std::string_view label,
                 const std::vector<std::pair<std::string, HistogramCounts>>& series);
  // A summary whose quantiles (in ms) are estimated from `counts`; NaN when it is empty.
  void summary(std::string_view name, std::string_view help, const HistogramCounts& counts,
               std::initializer_list<double> quantiles);

  const std::string& text() const { return out_; }

 private:
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value);

  std::string out_;
};

}  // namespace paddock::admin
