// Big-endian loads and stores on raw bytes (jute's integer encoding) for the hot paths that
// frame or parse log entries without going through a jute::Reader.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace paddock::storage_file {

static_assert(std::endian::native == std::endian::little, "byte swaps assume a little-endian host");

inline uint32_t load_be32(const char* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

inline uint64_t load_be64(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

inline void append_be32(std::string& out, uint32_t v) {
  v = __builtin_bswap32(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}

inline void append_be64(std::string& out, uint64_t v) {
  v = __builtin_bswap64(v);
  out.append(reinterpret_cast<const char*>(&v), 8);
}

}  // namespace paddock::storage_file
