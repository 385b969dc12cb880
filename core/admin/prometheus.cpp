#include "admin/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace paddock::admin {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {

// Backslash and newline always; the double quote only inside a label value.
std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view v) { return escape(v, true); }

std::string escape_help(std::string_view v) { return escape(v, false); }

void Exposition::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void Exposition::gauge(std::string_view name, std::string_view help, double value,
                       const Labels& labels) {
  family(name, help, "gauge");
  sample(name, labels, value);
}

void Exposition::counter(std::string_view name, std::string_view help, double value) {
  family(name, help, "counter");
  sample(name, {}, value);
}

void Exposition::histogram(std::string_view name, std::string_view help, std::string_view label,
                           const std::vector<std::pair<std::string, HistogramCounts>>& series) {
  family(name, help, "histogram");
  std::string bucket = std::string(name) + "_bucket";
  std::string sum = std::string(name) + "_sum";
  std::string count = std::string(name) + "_count";
  for (const auto& [value, counts] : series) {
    Labels labels;
    if (!label.empty()) labels.emplace_back(std::string(label), value);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBucketCount; ++i) {
      cumulative += counts.buckets[i];
      Labels with_le = labels;
      with_le.emplace_back("le", i + 1 < kBucketCount
                                     ? format_value(static_cast<double>(kLatencyBoundsUs[i]) / 1000.0)
                                     : std::string("+Inf"));
      sample(bucket, with_le, static_cast<double>(cumulative));
    }
    sample(sum, labels, static_cast<double>(counts.sum_us) / 1000.0);
    sample(count, labels, static_cast<double>(cumulative));
  }
}

void Exposition::summary(std::string_view name, std::string_view help, const HistogramCounts& counts,
                         std::initializer_list<double> quantiles) {
  family(name, help, "summary");
  uint64_t n = counts.count();
  for (double q : quantiles) {
    double v = n == 0 ? std::nan("") : counts.quantile_us(q) / 1000.0;
    sample(name, {{"quantile", format_value(q)}}, v);
  }
  sample(std::string(name) + "_sum", {}, static_cast<double>(counts.sum_us) / 1000.0);
  sample(std::string(name) + "_count", {}, static_cast<double>(n));
}

}  // namespace paddock::admin
