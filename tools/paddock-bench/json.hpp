// A JSON object built field by field, printed on one line (results are JSON lines).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace paddock::bench {

class JsonObject {
 public:
  JsonObject& set(std::string_view key, std::string_view value);
  JsonObject& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  JsonObject& set(std::string_view key, const std::string& value) { return set(key, std::string_view(value)); }
  JsonObject& set(std::string_view key, bool value);
  JsonObject& set(std::string_view key, double value);  // NaN / inf print as null
  JsonObject& set(std::string_view key, const JsonObject& value);
  JsonObject& set(std::string_view key, const std::vector<double>& values);
  JsonObject& set(std::string_view key, const std::vector<std::string>& values);
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  JsonObject& set(std::string_view key, T value) {
    return set_raw(key, std::to_string(value));
  }
  JsonObject& set_null(std::string_view key) { return set_raw(key, "null"); }

  std::string str() const { return "{" + body_ + "}"; }
  bool empty() const { return body_.empty(); }

  static std::string quote(std::string_view text);
  static std::string number(double value);

 private:
  JsonObject& set_raw(std::string_view key, const std::string& raw);
  std::string body_;
};

}  // namespace paddock::bench
