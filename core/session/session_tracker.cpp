#include "session/session_tracker.hpp"

#include <chrono>

namespace paddock::session {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string password_for(SessionId id) {
  // java.util.Random, as the JDK specifies it.
  constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  constexpr uint64_t kMask = (1ULL << 48) - 1;
  uint64_t seed = (static_cast<uint64_t>(id ^ 0xB3415C00LL) ^ kMultiplier) & kMask;
  std::string out(16, '\0');
  for (size_t i = 0; i < out.size();) {
    seed = (seed * kMultiplier + 0xB) & kMask;
    auto rnd = static_cast<int32_t>(seed >> 16);
    for (int n = 0; n < 4 && i < out.size(); ++n) {
      out[i++] = static_cast<char>(rnd & 0xff);
      rnd >>= 8;
    }
  }
  return out;
}

SessionTracker::SessionTracker(int32_t tick_ms, int64_t server_id,
                               std::function<void(std::shared_ptr<Session>)> on_expire)
    : tick_ms_(tick_ms > 0 ? tick_ms : 1), on_expire_(std::move(on_expire)) {
  set_server_id(server_id);
}

void SessionTracker::set_server_id(int64_t server_id) {
  // base = ((now << 24) >>> 8) | (serverId << 56): server id in the top byte, 40 bits of
  // clock, 16 bits of counter.
  auto now = static_cast<uint64_t>(now_ms());
  uint64_t base = ((now << 24) >> 8) | (static_cast<uint64_t>(server_id) << 56);
  std::lock_guard lk(mu_);
  next_id_ = static_cast<SessionId>(base);
  if (next_id_ == INT64_MIN) ++next_id_;
}

void SessionTracker::clear() {
  std::lock_guard lk(mu_);
  sessions_.clear();
  touched_.clear();
}

void SessionTracker::set_expiry(bool enabled) {
  std::lock_guard lk(mu_);
  if (enabled && !expiry_) {
    int64_t now = now_ms();
    for (auto& [id, s] : sessions_) s->expire_at_ms = round_to_tick(now + s->timeout_ms.load());
  }
  expiry_ = enabled;
}

std::vector<std::pair<SessionId, int32_t>> SessionTracker::take_touched() {
  std::lock_guard lk(mu_);
  std::vector<std::pair<SessionId, int32_t>> out(touched_.begin(), touched_.end());
  touched_.clear();
  return out;
}

SessionTracker::~SessionTracker() { stop(); }

std::shared_ptr<Session> SessionTracker::create(int32_t timeout_ms) {
  std::lock_guard lk(mu_);
  SessionId id = next_id_++;
  if (id == INT64_MIN || id == 0) id = next_id_++;
  auto s = std::make_shared<Session>(id, timeout_ms);
  s->expire_at_ms = round_to_tick(now_ms() + timeout_ms);
  sessions_[id] = s;
  return s;
}

std::shared_ptr<Session> SessionTracker::add(SessionId id, int32_t timeout_ms) {
  std::lock_guard lk(mu_);
  auto& slot = sessions_[id];
  if (!slot) {
    slot = std::make_shared<Session>(id, timeout_ms);
    slot->expire_at_ms = round_to_tick(now_ms() + timeout_ms);
  }
  return slot;
}

std::shared_ptr<Session> SessionTracker::get(SessionId id) const {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

bool SessionTracker::touch(Session& s) {
  if (s.closing.load(std::memory_order_acquire)) return false;
  if (!expiry_) {
    // A learner only reports activity; the leader keeps the clocks.
    std::lock_guard lk(mu_);
    touched_[s.id] = s.timeout_ms.load(std::memory_order_relaxed);
    return true;
  }
  int64_t deadline = round_to_tick(now_ms() + s.timeout_ms.load(std::memory_order_relaxed));
  // Deadlines only move forward.
  int64_t cur = s.expire_at_ms.load(std::memory_order_relaxed);
  while (deadline > cur && !s.expire_at_ms.compare_exchange_weak(cur, deadline)) {
  }
  return true;
}

void SessionTracker::remove(SessionId id) {
  std::lock_guard lk(mu_);
  sessions_.erase(id);
}

std::vector<std::shared_ptr<Session>> SessionTracker::all() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

size_t SessionTracker::size() const {
  std::lock_guard lk(mu_);
  return sessions_.size();
}

void SessionTracker::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SessionTracker::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SessionTracker::run() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    int64_t now = now_ms();
    int64_t next_tick = round_to_tick(now);
    cv_.wait_for(lk, std::chrono::milliseconds(next_tick - now), [this] { return stopping_; });
    if (stopping_) break;
    now = now_ms();
    std::vector<std::shared_ptr<Session>> expired;
    if (!expiry_) continue;
    for (auto& [id, s] : sessions_) {
      if (!s->closing.load() && s->expire_at_ms.load() <= now) {
        s->closing = true;
        expired.push_back(s);
      }
    }
    lk.unlock();
    for (auto& s : expired) on_expire_(s);
    lk.lock();
  }
}

}  // namespace paddock::session
