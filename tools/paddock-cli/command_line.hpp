// Turning a typed line into a command: zkCli's word splitting and its (Apache Commons CLI)
// option parsing.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paddock::cli {

// Splits like zkCli: words separated by white space, a word may be "double quoted" or
// 'single quoted' (quotes removed, spaces kept); a quote without its partner is dropped.
std::vector<std::string> split_words(std::string_view line);

struct ParsedArgs {
  std::vector<std::string> args;           // the words that are not options; args[0] is the command
  std::map<char, std::string> options;     // option letter -> its value ("" for a flag)

  bool has(char c) const { return options.count(c) != 0; }
  const std::string& value(char c) const { return options.at(c); }
};

// Parses `words` (words[0] is the command) against `spec`, getopt style: "sv:R" means flags
// -s and -R and -v taking a value ("-v 3" or "-v3"). Options may appear anywhere; flags
// combine ("-se"); "--" ends the options. On a bad option returns none and sets `error` to
// Commons CLI's message ("Unrecognized option: -x", "Missing argument for option: v").
std::optional<ParsedArgs> parse_args(const std::vector<std::string>& words, std::string_view spec,
                                     std::string* error);

}  // namespace paddock::cli
