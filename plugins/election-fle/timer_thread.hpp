// TimerThread: one plugin-owned thread running delayed tasks (the handshake read timeout of
// accepted election connections; the SDK transport has no timers). Tasks must be short and
// must not block; they run on this thread, in deadline order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace paddock::election_fle {

class TimerThread {
 public:
  using Clock = std::chrono::steady_clock;

  TimerThread() : thread_([this] { run(); }) {}
  ~TimerThread() { stop(); }
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // Runs `task` after `delay` unless stop() comes first.
  void schedule(std::chrono::milliseconds delay, std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    tasks_.emplace(Clock::now() + delay, std::move(task));
    wake_.notify_one();
  }

  // Drops pending tasks and joins. Idempotent; not from a task.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      tasks_.clear();
      wake_.notify_one();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (tasks_.empty()) {
        wake_.wait(lock);
        continue;
      }
      auto first = tasks_.begin();
      if (const Clock::time_point due = first->first; due > Clock::now()) {
        wake_.wait_until(lock, due);  // a copy: stop() may free the node meanwhile
        continue;
      }
      auto task = std::move(first->second);
      tasks_.erase(first);
      lock.unlock();
      try {
        task();
      } catch (...) {  // a task never throws by contract; the thread must survive anyway
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace paddock::election_fle
