#include "options.hpp"

#include <cmath>
#include <cstdlib>

#include "common.hpp"

namespace paddock::bench {

Options::Options(std::string mode, std::vector<OptionSpec> specs)
    : mode_(std::move(mode)), specs_(std::move(specs)) {
  specs_.push_back({"help", "", "", "this help"});
}

const OptionSpec* Options::find(const std::string& name) const {
  for (const auto& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void Options::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!starts_with(a, "--") || a.size() == 2) {
      throw BenchError("unexpected argument '" + a + "' for mode " + mode_ + " (options start with --)");
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) {
      std::string known;
      for (const auto& s : specs_) known += (known.empty() ? "--" : ", --") + s.name;
      throw BenchError("unknown option --" + name + " for mode " + mode_ + "; known: " + known);
    }
    if (spec->value_name.empty()) {
      if (value) throw BenchError("option --" + name + " takes no value");
      value = "1";
    } else if (!value) {
      if (i + 1 >= args.size()) {
        throw BenchError("option --" + name + " needs a value (" + spec->value_name + ")");
      }
      value = args[++i];
    }
    auto& slot = values_[name];
    if (!slot.empty() && !spec->repeatable) throw BenchError("option --" + name + " given twice");
    slot.push_back(*value);
  }
}

bool Options::has(const std::string& name) const { return values_.count(name) != 0; }

std::string Options::str(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  const OptionSpec* spec = find(name);
  return spec != nullptr ? spec->default_text : std::string();
}

std::vector<std::string> Options::all(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const OptionSpec* spec = find(name);
  if (spec != nullptr && !spec->default_text.empty()) return {spec->default_text};
  return {};
}

int64_t Options::integer(const std::string& name, int64_t min_value) const {
  std::string text = str(name);
  if (text.empty()) throw BenchError("option --" + name + " needs a value");
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string suffix = lower(end == nullptr ? "" : end);
  if (suffix == "k") v *= 1e3;
  else if (suffix == "m") v *= 1e6;
  else if (suffix == "g") v *= 1e9;
  else if (!suffix.empty()) v = nan();
  if (end == text.c_str() || !std::isfinite(v) || v != std::floor(v)) {
    throw BenchError("option --" + name + ": expected a whole number, found '" + text + "'");
  }
  if (v < static_cast<double>(min_value)) {
    throw BenchError("option --" + name + ": expected at least " + std::to_string(min_value) +
                     ", found " + text);
  }
  return static_cast<int64_t>(v);
}

double Options::number(const std::string& name, double min_value) const {
  std::string text = str(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || *end != '\0' || !std::isfinite(v)) {
    throw BenchError("option --" + name + ": expected a number, found '" + text + "'");
  }
  if (v < min_value) {
    throw BenchError("option --" + name + ": expected at least " + std::to_string(min_value) +
                     ", found " + text);
  }
  return v;
}

std::string Options::help() const {
  std::string out;
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    out += left + s.help;
    if (!s.default_text.empty()) out += " (default " + s.default_text + ")";
    if (s.repeatable) out += " [repeatable]";
    out += "\n";
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_pairs(const std::string& text, char sep) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& part : split(text, sep)) {
    auto eq = part.find('=');
    if (eq == std::string::npos) throw BenchError("expected name=value, found '" + part + "'");
    out.emplace_back(trim(part.substr(0, eq)), trim(part.substr(eq + 1)));
  }
  return out;
}

}  // namespace paddock::bench
