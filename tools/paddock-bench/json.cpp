#include "json.hpp"

#include <cmath>
#include <cstdio>

namespace paddock::bench {

std::string JsonObject::quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string JsonObject::number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

JsonObject& JsonObject::set_raw(std::string_view key, const std::string& raw) {
  if (!body_.empty()) body_.push_back(',');
  body_ += quote(key);
  body_.push_back(':');
  body_ += raw;
  return *this;
}

JsonObject& JsonObject::set(std::string_view key, std::string_view value) {
  return set_raw(key, quote(value));
}
JsonObject& JsonObject::set(std::string_view key, bool value) {
  return set_raw(key, value ? "true" : "false");
}
JsonObject& JsonObject::set(std::string_view key, double value) { return set_raw(key, number(value)); }
JsonObject& JsonObject::set(std::string_view key, const JsonObject& value) {
  return set_raw(key, value.str());
}
JsonObject& JsonObject::set(std::string_view key, const std::vector<double>& values) {
  std::string raw = "[";
  for (size_t i = 0; i < values.size(); ++i) raw += (i ? "," : "") + number(values[i]);
  return set_raw(key, raw + "]");
}
JsonObject& JsonObject::set(std::string_view key, const std::vector<std::string>& values) {
  std::string raw = "[";
  for (size_t i = 0; i < values.size(); ++i) raw += (i ? "," : "") + quote(values[i]);
  return set_raw(key, raw + "]");
}

}  // namespace paddock::bench
