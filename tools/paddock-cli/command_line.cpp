#include "command_line.hpp"

namespace paddock::cli {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// 0: not an option letter of `spec`; 1: a flag; 2: takes a value.
int option_kind(std::string_view spec, char c) {
  if (c == ':') return 0;
  size_t at = spec.find(c);
  if (at == std::string_view::npos) return 0;
  return at + 1 < spec.size() && spec[at + 1] == ':' ? 2 : 1;
}

bool looks_like_option(std::string_view spec, std::string_view word) {
  return word.size() > 1 && word[0] == '-' && option_kind(spec, word[1]) != 0;
}

bool is_negative_number(std::string_view w) {
  if (w.size() < 2 || w[0] != '-') return false;
  for (char c : w.substr(1)) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    char c = line[i];
    if (c == '"' || c == '\'') {
      size_t close = line.find(c, i + 1);
      if (close == std::string_view::npos) {
        ++i;  // no partner: the quote is skipped, as zkCli's pattern skips it
        continue;
      }
      words.emplace_back(line.substr(i + 1, close - i - 1));
      i = close + 1;
      continue;
    }
    size_t end = i;
    while (end < line.size() && !is_space(line[end])) ++end;
    words.emplace_back(line.substr(i, end - i));
    i = end;
  }
  return words;
}

std::optional<ParsedArgs> parse_args(const std::vector<std::string>& words, std::string_view spec,
                                     std::string* error) {
  ParsedArgs out;
  bool options_done = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (i == 0 || options_done || w.size() < 2 || w[0] != '-') {
      out.args.push_back(w);
      continue;
    }
    if (w == "--") {
      options_done = true;
      continue;
    }
    for (size_t k = 1; k < w.size(); ++k) {
      int kind = option_kind(spec, w[k]);
      if (kind == 0) {
        *error = "Unrecognized option: " + w;
        return std::nullopt;
      }
      if (kind == 1) {
        out.options[w[k]] = "";
        continue;
      }
      if (k + 1 < w.size()) {
        out.options[w[k]] = w.substr(k + 1);
      } else if (i + 1 < words.size() &&
                 (!looks_like_option(spec, words[i + 1]) || is_negative_number(words[i + 1]))) {
        out.options[w[k]] = words[++i];
      } else {
        *error = std::string("Missing argument for option: ") + w[k];
        return std::nullopt;
      }
      break;
    }
  }
  return out;
}

}  // namespace paddock::cli
