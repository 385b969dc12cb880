// What the server process costs, read from /proc: CPU time (utime + stime of every thread)
// and resident memory. Also: which process listens on a port (/proc/net/tcp{,6} + fds).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace paddock::bench {

struct ProcSample {
  bool ok = false;
  double cpu_s = 0;     // user + system seconds since the process started
  int64_t rss_kb = 0;   // VmRSS
  int64_t hwm_kb = 0;   // VmHWM (peak RSS)
};

ProcSample sample_process(pid_t pid);
// The process holding a listening TCP socket on `port` (IPv4 or IPv6), if it can be seen.
std::optional<pid_t> pid_listening_on(int port);
// This process's own CPU seconds (the load generator's cost).
double self_cpu_s();
// The machine's 1-minute load average (how busy it was around a run); NaN if unreadable.
double load_average_1m();

}  // namespace paddock::bench
