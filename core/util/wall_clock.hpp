// Milliseconds since the Unix epoch: what ZooKeeper stores in ctime / mtime and reports as
// times (monotonic time for timeouts is session::now_ms()).
#pragma once

#include <chrono>
#include <cstdint>

namespace paddock::util {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace paddock::util
