// CallbackGate: lets stop() wait until no transport callback is inside the plugin any more,
// so that nothing touches the election (or the core's context) once stop() has returned.
// Callbacks enter with a Pass; after close() no Pass is granted. A thread that is itself
// inside the gate (stop() called from a callback) does not wait for its own passes.
#pragma once

#include <condition_variable>
#include <iterator>
#include <mutex>
#include <vector>

namespace paddock::election_fle {

class CallbackGate {
 public:
  class Pass {
   public:
    explicit Pass(CallbackGate& gate) : gate_(gate), granted_(gate.enter()) {}
    ~Pass() {
      if (granted_) gate_.leave();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    explicit operator bool() const noexcept { return granted_; }

   private:
    CallbackGate& gate_;
    const bool granted_;
  };

  // Refuses new passes and waits until the passes held by other threads are returned.
  void close_and_wait() {
    std::unique_lock lock(mutex_);
    closed_ = true;
    const int mine = held_here();
    idle_.wait(lock, [&] { return active_ == mine; });
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  bool enter() {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    ++active_;
    inside().push_back(this);
    return true;
  }

  void leave() {
    std::lock_guard lock(mutex_);
    auto& held = inside();
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
      if (*it == this) {
        held.erase(std::next(it).base());
        break;
      }
    }
    --active_;
    idle_.notify_all();
  }

  int held_here() const {
    int n = 0;
    for (const CallbackGate* g : inside()) n += g == this ? 1 : 0;
    return n;
  }

  static std::vector<const CallbackGate*>& inside() {
    thread_local std::vector<const CallbackGate*> held;
    return held;
  }

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  int active_ = 0;
  bool closed_ = false;
};

}  // namespace paddock::election_fle
