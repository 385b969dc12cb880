#include "acl_text.hpp"

namespace paddock::cli {

std::vector<AclEntry> parse_acl(std::string_view text, std::vector<std::string>* warnings) {
  // Java's String.split(","): trailing empty entries are dropped.
  std::vector<std::string_view> entries;
  for (size_t start = 0;;) {
    size_t comma = text.find(',', start);
    entries.push_back(text.substr(start, comma == text.npos ? text.npos : comma - start));
    if (comma == text.npos) break;
    start = comma + 1;
  }
  if (entries.size() > 1) {
    while (!entries.empty() && entries.back().empty()) entries.pop_back();
  }

  std::vector<AclEntry> acl;
  for (std::string_view entry : entries) {
    size_t first = entry.find(':');
    size_t last = entry.rfind(':');
    if (first == std::string_view::npos || first == last) {
      warnings->push_back(std::string(entry) + " does not have the form scheme:id:perm");
      continue;
    }
    AclEntry a;
    a.scheme = std::string(entry.substr(0, first));
    a.id = std::string(entry.substr(first + 1, last - first - 1));
    for (char c : entry.substr(last + 1)) {
      switch (c) {
        case 'r': a.perms |= perms::kRead; break;
        case 'w': a.perms |= perms::kWrite; break;
        case 'c': a.perms |= perms::kCreate; break;
        case 'd': a.perms |= perms::kDelete; break;
        case 'a': a.perms |= perms::kAdmin; break;
        default: warnings->push_back(std::string("Unknown perm type: ") + c); break;
      }
    }
    acl.push_back(std::move(a));
  }
  return acl;
}

std::string perm_string(int32_t p) {
  std::string s;
  if (p & perms::kCreate) s += 'c';
  if (p & perms::kDelete) s += 'd';
  if (p & perms::kRead) s += 'r';
  if (p & perms::kWrite) s += 'w';
  if (p & perms::kAdmin) s += 'a';
  return s;
}

}  // namespace paddock::cli
