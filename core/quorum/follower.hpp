// Following (ZooKeeper's Learner + Follower): register with the leader (FOLLOWERINFO,
// LEADERINFO, ACKEPOCH), synchronise (DIFF / TRUNC / SNAP, NEWLEADER, UPTODATE), then log
// proposals and acknowledge them after fsync, apply commits in order, forward the writes of
// local clients and answer them when their transaction commits.
//
// Threads: follow() runs on the quorum-peer thread and watches the leader's liveness. The
// leader connection's callbacks run on a quorum I/O thread; from NEWLEADER on, everything
// that touches the log or the tree goes through the sync thread, in stream order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/role.hpp"
#include "paddock/sdk/transport.hpp"
#include "pipeline/request.hpp"
#include "quorum/packet.hpp"
#include "quorum/quorum_peer.hpp"
#include "quorum/snap_stream.hpp"

namespace paddock::tree { class DataTree; }

namespace paddock::quorum {

class Follower final : public sdk::ConnectionHandler,
                       public sdk::LearnerChannel,
                       public std::enable_shared_from_this<Follower> {
 public:
  Follower(QuorumPeer& peer, sdk::Vote vote);
  ~Follower() override;

  // Follows until the leader is lost or shutdown() is called; returns why.
  std::string follow();
  void shutdown(const std::string& why);
  // After the sync thread has drained: applies what was logged but never committed.
  void settle();

  // sdk::ConnectionHandler (the leader connection)
  void on_receive(const uint8_t* data, size_t size) override;
  void on_closed(const std::string& reason) override;

  // Asks the leader whether a session a client resumes here is still valid.
  void revalidate(sdk::SessionId id, int32_t timeout, std::function<void(bool)> done);

  // sdk::LearnerChannel (for a role plugin)
  void send(int32_t type, sdk::Zxid zxid, std::string_view data) override;
  void log_and_apply(sdk::Zxid zxid, std::string txn_entry) override;

 private:
  class ForwardStage;
  enum class Phase { kLeaderInfo, kSyncStart, kSnapStream, kSyncing, kUpToDate, kBroadcast };
  struct Txn {
    sdk::Zxid zxid = 0;
    std::string bytes;
    bool committed = false;
  };

  void handle(QuorumPacket& p);
  void send(const std::string& packet);
  void forward(pipeline::Request& r);
  void apply_commit(sdk::Zxid zxid);       // sync thread
  // Applies a committed transaction, answering the local request it belongs to (sync thread).
  void apply_committed(sdk::Zxid zxid, std::string bytes);
  void answer_sync();                      // sync thread
  void fail(const std::string& why);

  QuorumPeer& peer_;
  const QuorumConfig& cfg_;
  sdk::Vote vote_;
  std::unique_ptr<ForwardStage> forward_stage_;
  std::shared_ptr<sdk::Connection> conn_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string why_;
  std::atomic<int64_t> last_heard_ms_{0};
  std::atomic<bool> synced_{false};  // NEWLEADER handled (sync timeout applies after)

  // Leader-connection thread state.
  PacketParser parser_;
  Phase phase_ = Phase::kLeaderInfo;
  int64_t new_epoch_ = 0;
  bool snapshot_needed_ = false;
  std::vector<Txn> sync_txns_;  // proposals received before NEWLEADER
  std::unique_ptr<class SnapLoad> snap_load_;
  sdk::Zxid snap_zxid_ = 0;

  // Sync-thread state: logged proposals waiting for their COMMIT.
  std::deque<Txn> pending_;

  // Client requests waiting on the leader.
  std::mutex waiters_mu_;
  std::deque<pipeline::Request*> sync_waiters_;
  std::map<sdk::SessionId, std::vector<std::function<void(bool)>>> revalidations_;
};

}  // namespace paddock::quorum
