// Sessions: ids and passwords as ZooKeeper makes them, timeouts bucketed by tick, and the
// expiry thread that turns a silent session into a closeSession request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::pipeline { struct Request; }
namespace paddock::server { class ClientConnection; }

namespace paddock::session {

using sdk::SessionId;

// Milliseconds on a monotonic clock.
int64_t now_ms();

// ZooKeeper's session password: the first 16 bytes of java.util.Random seeded with
// (sessionId ^ 0xB3415C00), so any server of a mixed ensemble computes the same one.
std::string password_for(SessionId id);

struct Session {
  Session(SessionId id_, int32_t timeout) : id(id_), timeout_ms(timeout) {}

  const SessionId id;
  std::atomic<int32_t> timeout_ms;
  std::atomic<int64_t> expire_at_ms{0};  // a tick boundary
  std::atomic<bool> closing{false};
  // The server the session's client is connected to, as the leader knows it (its own id,
  // or the learner that created or revalidated it); 0 when unknown.
  std::atomic<int64_t> owner{0};
  // Made by a read-only server for its own clients: never logged or replicated (ZooKeeper's
  // local sessions), dropped when read-only mode ends.
  std::atomic<bool> local{false};

  // Guards the fields below.
  std::mutex mu;
  // The connection serving this session now (at most one).
  std::weak_ptr<server::ClientConnection> connection;
  // Requests of this session not yet answered, in arrival order, for ZooKeeper's ordering
  // rule: a read waits behind the session's earlier writes. Writes enter when they reach the
  // sync stage; reads only when something is ahead of them.
  std::deque<pipeline::Request*> in_flight;
};

class SessionTracker {
 public:
  // `on_expire` is called on the expiry thread for each session that timed out (already
  // marked closing); it submits the closeSession request.
  SessionTracker(int32_t tick_ms, int64_t server_id,
                 std::function<void(std::shared_ptr<Session>)> on_expire);
  // New session ids carry this server id in their top byte (standalone servers use 1).
  void set_server_id(int64_t server_id);
  ~SessionTracker();

  // A new session with a fresh id.
  std::shared_ptr<Session> create(int32_t timeout_ms);
  // A session known from the snapshot or the log (recovery), or committed by createSession.
  std::shared_ptr<Session> add(SessionId id, int32_t timeout_ms);
  std::shared_ptr<Session> get(SessionId id) const;
  // Pushes the session's deadline to now + timeout (rounded up to a tick). False if the
  // session is unknown or closing.
  bool touch(Session& s);
  void remove(SessionId id);
  // Forgets every session (before the database is reloaded).
  void clear();

  // Expiry runs only where sessions are decided (standalone, leader). Enabling it restarts
  // every session's clock, as a new leader does.
  void set_expiry(bool enabled);
  // Whether this server decides sessions now (standalone, or leading). The container
  // manager runs under the same condition.
  bool expiry_enabled() const { return expiry_.load(); }
  // On a learner: the sessions touched since the last call, with their timeouts (sent to
  // the leader in PING replies).
  std::vector<std::pair<SessionId, int32_t>> take_touched();

  std::vector<std::shared_ptr<Session>> all() const;
  size_t size() const;
  int32_t tick_ms() const { return tick_ms_; }

  void start();
  void stop();

 private:
  int64_t round_to_tick(int64_t t) const { return (t / tick_ms_ + 1) * tick_ms_; }
  void run();

  const int32_t tick_ms_;
  std::function<void(std::shared_ptr<Session>)> on_expire_;
  mutable std::mutex mu_;
  std::unordered_map<SessionId, std::shared_ptr<Session>> sessions_;
  SessionId next_id_;
  std::atomic<bool> expiry_{true};
  std::unordered_map<SessionId, int32_t> touched_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paddock::session
