#include "tree/path.hpp"

#include <cstdint>

namespace paddock::tree {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i. Malformed
// input yields U+FFFD, which the caller rejects like ZooKeeper rejects unmappable input.
uint32_t next_code_point(std::string_view s, size_t& i) {
  auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) { ++i; return b0; }
  int extra = (b0 >= 0xF0) ? 3 : (b0 >= 0xE0) ? 2 : (b0 >= 0xC0) ? 1 : -1;
  if (extra < 0 || i + static_cast<size_t>(extra) >= s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = b0 & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) { ++i; return 0xFFFD; }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += static_cast<size_t>(extra) + 1;
  return cp;
}

// Java sees a path as UTF-16 code units: anything beyond the BMP becomes surrogates, which
// ZooKeeper rejects along with the control and private-use ranges.
bool forbidden(uint32_t c) {
  return c == 0 || c > 0xffff || (c > 0x0000 && c <= 0x001f) || (c >= 0x007f && c <= 0x009f) ||
         (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff);
}

}  // namespace

bool is_valid_path(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  if (path.back() == '/') return false;
  size_t i = 1;
  size_t seg_start = 1;
  while (i <= path.size()) {
    if (i == path.size() || path[i] == '/') {
      std::string_view seg = path.substr(seg_start, i - seg_start);
      if (seg.empty() || seg == "." || seg == "..") return false;
      seg_start = i + 1;
      ++i;
      continue;
    }
    if (forbidden(next_code_point(path, i))) return false;
  }
  return true;
}

std::string_view parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || path.size() <= 1) return {};
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return path;
  return path.substr(slash + 1);
}

bool is_special_path(std::string_view path) {
  return path == "/" || path == kZookeeperPath || path == kQuotaPath || path == kConfigPath;
}

}  // namespace paddock::tree
