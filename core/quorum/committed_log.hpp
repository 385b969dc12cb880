// The most recent committed transactions, kept in memory so a learner that is only a little
// behind is synchronised with a DIFF (ZooKeeper's committedLog, commitLogCount = 500).
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::quorum {

class CommittedLog {
 public:
  explicit CommittedLog(size_t capacity = 500) : capacity_(capacity) {}

  void add(sdk::Zxid zxid, std::string txn) {
    std::lock_guard lk(mu_);
    if (!entries_.empty() && zxid <= entries_.back().first) return;
    entries_.emplace_back(zxid, std::move(txn));
    while (entries_.size() > capacity_) entries_.pop_front();
  }
  void clear() {
    std::lock_guard lk(mu_);
    entries_.clear();
  }
  bool empty() const {
    std::lock_guard lk(mu_);
    return entries_.empty();
  }
  // [min, max] of what is held; both 0 when empty.
  std::pair<sdk::Zxid, sdk::Zxid> range() const {
    std::lock_guard lk(mu_);
    if (entries_.empty()) return {0, 0};
    return {entries_.front().first, entries_.back().first};
  }
  // Every entry, oldest first.
  std::vector<std::pair<sdk::Zxid, std::string>> entries() const {
    std::lock_guard lk(mu_);
    return {entries_.begin(), entries_.end()};
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<sdk::Zxid, std::string>> entries_;
  size_t capacity_;
};

}  // namespace paddock::quorum
