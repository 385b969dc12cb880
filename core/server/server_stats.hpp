// Counters behind srvr / stat / mntr: request latency, packets, outstanding requests.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace paddock::server {

class ServerStats {
 public:
  void record_latency_ms(int64_t ms) {
    std::lock_guard lk(mu_);
    if (count_ == 0 || ms < min_) min_ = ms;
    if (ms > max_) max_ = ms;
    total_ += ms;
    ++count_;
  }
  void packet_received() { received_.fetch_add(1, std::memory_order_relaxed); }
  void packet_sent() { sent_.fetch_add(1, std::memory_order_relaxed); }
  void response_size(int64_t bytes) {
    last_response_size_.store(bytes, std::memory_order_relaxed);
    int64_t cur = max_response_size_.load(std::memory_order_relaxed);
    while (bytes > cur && !max_response_size_.compare_exchange_weak(cur, bytes)) {}
    cur = min_response_size_.load(std::memory_order_relaxed);
    while ((cur < 0 || bytes < cur) && !min_response_size_.compare_exchange_weak(cur, bytes)) {}
  }
  void reset() {
    std::lock_guard lk(mu_);
    min_ = max_ = total_ = count_ = 0;
    received_ = 0;
    sent_ = 0;
    last_response_size_ = 0;
    max_response_size_ = 0;
    min_response_size_ = -1;
  }

  struct Latency { int64_t min, max, count; double avg; };
  Latency latency() const {
    std::lock_guard lk(mu_);
    return {count_ ? min_ : 0, max_, count_, count_ ? static_cast<double>(total_) / count_ : 0.0};
  }
  int64_t received() const { return received_.load(std::memory_order_relaxed); }
  int64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  int64_t last_response_size() const { return last_response_size_.load(); }
  int64_t max_response_size() const { return max_response_size_.load(); }
  int64_t min_response_size() const { int64_t v = min_response_size_.load(); return v < 0 ? 0 : v; }

  std::atomic<int64_t> outstanding{0};

 private:
  mutable std::mutex mu_;
  int64_t min_ = 0, max_ = 0, total_ = 0, count_ = 0;
  std::atomic<int64_t> received_{0}, sent_{0};
  std::atomic<int64_t> last_response_size_{0}, max_response_size_{0}, min_response_size_{-1};
};

}  // namespace paddock::server
