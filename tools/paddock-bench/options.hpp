// Command-line options of one mode: `--name value`, `--name=value` and `--flag`. Every mode
// declares its options, so an unknown or misspelt one is refused with the list of known ones.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace paddock::bench {

struct OptionSpec {
  std::string name;          // without the dashes
  std::string value_name;    // "" for a flag
  std::string default_text;  // shown in the help, "" for none
  std::string help;
  bool repeatable = false;
};

class Options {
 public:
  Options(std::string mode, std::vector<OptionSpec> specs);

  // Parses args (after the mode word). Throws BenchError on an unknown option, a missing value
  // or a repeated non-repeatable one.
  void parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;
  bool flag(const std::string& name) const { return has(name); }
  std::string str(const std::string& name) const;  // the declared default when absent
  std::vector<std::string> all(const std::string& name) const;
  // Numbers: a suffix k / m / g multiplies (1k = 1000) for integers; throws on garbage or < min.
  int64_t integer(const std::string& name, int64_t min_value = 0) const;
  double number(const std::string& name, double min_value = 0) const;

  std::string help() const;
  const std::string& mode() const { return mode_; }

 private:
  const OptionSpec* find(const std::string& name) const;
  std::string mode_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

// Parses "a=1,b=2" into ordered pairs (used by --mix and --set).
std::vector<std::pair<std::string, std::string>> parse_pairs(const std::string& text, char sep = ',');

}  // namespace paddock::bench
