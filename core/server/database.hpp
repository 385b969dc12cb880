// Recovery and snapshots: the bridge between the in-memory state (data tree, sessions) and
// the storage plugin. Restore = newest valid snapshot + replay of the log after it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "paddock/sdk/status.hpp"
#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::tree { class DataTree; }
namespace paddock::session { class SessionTracker; }
namespace paddock::quorum { class CommittedLog; }

namespace paddock::server {

class ServerStats;

class Database {
 public:
  Database(tree::DataTree& tree, session::SessionTracker& sessions, sdk::Storage& storage,
           quorum::CommittedLog* committed_log = nullptr)
      : tree_(tree), sessions_(sessions), storage_(storage), committed_log_(committed_log) {}
  ~Database();

  struct Restored {
    sdk::Zxid last_zxid = 0;
    bool had_snapshot = false;
    size_t txns_replayed = 0;
    size_t sessions = 0;
  };
  // Loads the newest valid snapshot (trying up to 100, newest first) and replays the log.
  sdk::Result<Restored> restore();
  // Forgets the in-memory state (tree, sessions, recent commits) and restores it again, e.g.
  // after the log was truncated.
  sdk::Result<Restored> reload();

  // Writes a snapshot of the current state on the calling thread.
  sdk::Status snapshot(bool fsync);
  // Rolls the log and writes a snapshot on a background thread, unless one is running.
  // Called on the sync thread (the only thread that appends).
  void roll_and_snapshot();
  // Starts a background snapshot without rolling (before any append).
  void snapshot_in_background();
  void wait_for_snapshot();
  // Deletes old snapshots and logs, keeping the newest `retain` snapshots (autopurge).
  sdk::Status purge(int retain);

  // Where snapshot times and the last snapshot are recorded (snapshottime, last_snapshot).
  void set_stats(ServerStats* stats) { stats_ = stats; }

  // autopurge.purgeInterval: purges every `interval_hours` on a background thread.
  void start_autopurge(int interval_hours, int retain);
  void stop_autopurge();

 private:
  void launch();

  tree::DataTree& tree_;
  session::SessionTracker& sessions_;
  sdk::Storage& storage_;
  quorum::CommittedLog* committed_log_;
  ServerStats* stats_ = nullptr;
  std::mutex mu_;
  std::thread worker_;
  std::atomic<bool> running_{false};
  std::mutex storage_mu_;  // snapshot writing and purging do not overlap
  std::mutex purge_mu_;
  std::condition_variable purge_cv_;
  bool purge_stop_ = false;
  std::thread purger_;
};

}  // namespace paddock::server
