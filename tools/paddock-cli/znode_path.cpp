#include "znode_path.hpp"

#include <cstdint>
#include <vector>

namespace paddock::cli {
namespace {

// Decodes UTF-8 into UTF-16 code units, as Java holds the path; an invalid byte becomes
// U+FFFD, which validatePath rejects like Java rejects it ("invalid character").
std::vector<uint32_t> utf16_units(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t n;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if ((b & 0xe0) == 0xc0) {
      cp = b & 0x1f;
      n = 2;
    } else if ((b & 0xf0) == 0xe0) {
      cp = b & 0x0f;
      n = 3;
    } else if ((b & 0xf8) == 0xf0) {
      cp = b & 0x07;
      n = 4;
    } else {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    bool ok = i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {  // a surrogate pair in Java
      cp -= 0x10000;
      out.push_back(0xd800 + (cp >> 10));
      out.push_back(0xdc00 + (cp & 0x3ff));
    } else {
      out.push_back(cp);
    }
    i += n;
  }
  return out;
}

}  // namespace

std::optional<std::string> path_problem(std::string_view path_in, bool sequential) {
  std::string path(path_in);
  if (sequential) path += '1';
  if (path.empty()) return "Path length must be > 0";
  if (path[0] != '/') return "Path must start with / character";
  if (path.size() == 1) return std::nullopt;
  if (path.back() == '/') return "Path must not end with / character";

  std::vector<uint32_t> chars = utf16_units(path);
  const char* reason = nullptr;
  size_t at = 0;
  uint32_t lastc = '/';
  for (size_t i = 1; i < chars.size(); lastc = chars[i], ++i) {
    uint32_t c = chars[i];
    bool next_ends = i + 1 == chars.size() || chars[i + 1] == '/';
    if (c == 0) {
      reason = "null character not allowed @";
    } else if (c == '/' && lastc == '/') {
      reason = "empty node name specified @";
    } else if (c == '.' && lastc == '.') {
      if (chars[i - 2] == '/' && next_ends) reason = "relative paths not allowed @";
    } else if (c == '.') {
      if (chars[i - 1] == '/' && next_ends) reason = "relative paths not allowed @";
    } else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
               (c >= 0xfff0 && c <= 0xffff)) {
      reason = "invalid character @";
    }
    if (reason) {
      at = i;
      break;
    }
  }
  if (!reason) return std::nullopt;
  return "Invalid path string \"" + path + "\" caused by " + reason + std::to_string(at);
}

std::string child_path(std::string_view parent, std::string_view name) {
  std::string p(parent);
  if (p != "/") p += '/';
  p += name;
  return p;
}

}  // namespace paddock::cli
