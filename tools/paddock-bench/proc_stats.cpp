#include "proc_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace paddock::bench {

ProcSample sample_process(pid_t pid) {
  ProcSample s;
  std::string base = "/proc/" + std::to_string(pid);
  {
    std::ifstream in(base + "/stat");
    std::string line;
    if (!std::getline(in, line)) return s;
    // comm may hold spaces and parentheses: fields start after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string t; fields >> t;) f.push_back(t);
    if (f.size() < 13) return s;
    // f[0] is field 3 (state); utime is field 14, stime field 15.
    double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_s = (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) / ticks;
  }
  {
    std::ifstream in(base + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::strtoll(line.c_str() + 6, nullptr, 10);
      if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::strtoll(line.c_str() + 6, nullptr, 10);
    }
  }
  s.ok = true;
  return s;
}

namespace {

std::vector<std::string> listening_inodes(int port) {
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      if (!(ss >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
      if (state != "0A") continue;  // TCP_LISTEN
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inodes.push_back(inode);
    }
  }
  return inodes;
}

}  // namespace

std::optional<pid_t> pid_listening_on(int port) {
  auto inodes = listening_inodes(port);
  if (inodes.empty()) return std::nullopt;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (dirent* fd = readdir(fds)) {
      char target[128];
      std::string link = fd_dir + "/" + fd->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      for (const auto& inode : inodes) {
        if (std::string(target) == "socket:[" + inode + "]") found = static_cast<pid_t>(pid);
      }
      if (found) break;
    }
    closedir(fds);
    if (found) break;
  }
  closedir(proc);
  return found;
}

double load_average_1m() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  if (!(in >> v)) return std::numeric_limits<double>::quiet_NaN();
  return v;
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace paddock::bench
