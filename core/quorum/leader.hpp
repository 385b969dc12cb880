// Leading (ZooKeeper's Leader + LearnerHandler): discovery (a new epoch agreed with a quorum),
// synchronisation of each learner (DIFF / TRUNC / SNAP), then broadcast: proposals go to the
// followers, commit when a quorum (the leader counting itself once its own log is durable)
// has acknowledged them, strictly in zxid order.
//
// Threads: lead() runs on the quorum-peer thread (epoch waits, ticks, pings, quorum checks).
// Learner connections run on the quorum transport's I/O threads. The proposal stage runs on
// client I/O threads inside the pipeline's ordering section; the commit stage, acks and
// commits run on the sync thread. `mu_` guards the learner set, the epochs, and the
// outstanding proposals, so a learner joins the broadcast at a precise point.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/transport.hpp"
#include "pipeline/request.hpp"
#include "quorum/packet.hpp"
#include "quorum/quorum_peer.hpp"

namespace paddock::quorum {

class Leader;

// The leader's side of one learner connection.
class LearnerHandler final : public sdk::ConnectionHandler,
                             public std::enable_shared_from_this<LearnerHandler> {
 public:
  LearnerHandler(std::shared_ptr<Leader> leader, std::shared_ptr<sdk::Connection> conn);
  void on_receive(const uint8_t* data, size_t size) override;
  void on_closed(const std::string& reason) override;

  // Sends a packet, after the synchronisation stream if one is being written.
  void send(std::string_view packet);
  void close();

  sdk::ServerId sid() const { return sid_; }
  bool participant() const { return participant_; }
  const std::string& address() const { return conn_->remote_address(); }
  int64_t last_heard_ms() const { return last_heard_ms_.load(); }
  bool closed() const { return closed_.load(); }

 private:
  friend class Leader;
  enum class Phase { kInfo, kEpochAck, kSyncing, kNewLeaderAck, kBroadcast };
  void handle(QuorumPacket& p);

  std::shared_ptr<Leader> leader_;  // kept alive while the connection's callbacks may run
  std::shared_ptr<sdk::Connection> conn_;
  PacketParser parser_;
  Phase phase_ = Phase::kInfo;
  sdk::ServerId sid_ = -1;
  bool participant_ = true;
  int64_t accepted_epoch_ = -1;
  sdk::Zxid peer_last_zxid_ = -1;
  bool info_received_ = false;    // guarded by the leader's mu_
  bool leaderinfo_sent_ = false;  // guarded by the leader's mu_
  std::atomic<int64_t> last_heard_ms_{0};
  std::atomic<bool> closed_{false};
  std::atomic<bool> uptodate_sent_{false};
  // While the synchronisation is being written, later packets wait here.
  std::mutex out_mu_;
  bool holding_ = false;
  std::string held_;
};

class Leader : public std::enable_shared_from_this<Leader> {
 public:
  explicit Leader(QuorumPeer& peer);
  ~Leader();

  // Leads until leadership ends; returns why.
  std::string lead();
  // Ends leadership (any thread).
  void shutdown(const std::string& why);
  // Stops accepting and closes every learner connection.
  void cleanup();
  // After the sync thread has drained: applies what was logged but not committed and drops
  // the requests that waited for it.
  void settle();

  // ---- from learner handlers (quorum I/O threads) ----
  void learner_info(const std::shared_ptr<LearnerHandler>& h);
  void epoch_ack(const std::shared_ptr<LearnerHandler>& h, int64_t current_epoch, sdk::Zxid last);
  void newleader_ack(const std::shared_ptr<LearnerHandler>& h);
  void ack(sdk::ServerId sid, sdk::Zxid zxid);
  void request(const std::shared_ptr<LearnerHandler>& h, const QuorumPacket& p);
  void revalidate(const std::shared_ptr<LearnerHandler>& h, const QuorumPacket& p);
  void ping_reply(const QuorumPacket& p);
  void learner_closed(LearnerHandler& h);

  int64_t epoch() const { return epoch_.load(); }
  const QuorumConfig& peer_cfg() const { return cfg_; }
  PeerServices& services() { return peer_.services(); }
  size_t learner_count() const;
  size_t synced_follower_count() const;
  // The leader's mntr lines (ZooKeeper's names).
  std::vector<std::pair<std::string, std::string>> metrics() const;

 private:
  class Acceptor;
  class ProposalStage;
  class CommitStage;
  struct Proposal {
    const std::string* txn = nullptr;  // owned by the request, alive until it commits
    std::set<sdk::ServerId> acks;
    bool logged = false;  // the leader's own copy is durable (its ack)
  };
  struct Pending {
    pipeline::Request* request = nullptr;
    sdk::Zxid zxid = 0;    // 0 for a barrier (a sync)
  };

  // Discovery and synchronisation.
  bool wait_for(std::unique_lock<std::mutex>& lk, int64_t timeout_ms, const std::function<bool()>& done);
  void start_sync(const std::shared_ptr<LearnerHandler>& h);
  void send_uptodate(const std::shared_ptr<LearnerHandler>& h);
  // Broadcast (sync thread).
  void on_logged(pipeline::Request& r);
  bool try_commit(pipeline::Request* current);
  bool committable(const Proposal& p) const;
  void send_sync(sdk::ServerId sid);
  // Ticks.
  void tick(int64_t now);

  QuorumPeer& peer_;
  const QuorumConfig& cfg_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<ProposalStage> proposal_stage_;
  std::unique_ptr<CommitStage> commit_stage_;
  std::unique_ptr<sdk::Listener> listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string shutdown_reason_;
  bool shutdown_ = false;
  // Discovery.
  std::atomic<int64_t> epoch_{-1};
  bool epoch_fixed_ = false;
  int64_t max_accepted_epoch_ = -1;
  std::set<sdk::ServerId> connecting_;
  std::set<sdk::ServerId> epoch_acked_;
  bool epoch_acked_quorum_ = false;
  std::set<sdk::ServerId> newleader_acked_;
  bool serving_ = false;
  std::vector<std::shared_ptr<LearnerHandler>> handlers_;  // every connected learner
  std::vector<std::shared_ptr<LearnerHandler>> waiting_sync_;
  // Broadcast.
  std::vector<std::shared_ptr<LearnerHandler>> forwarding_;  // learners receiving proposals
  std::map<sdk::Zxid, Proposal> proposals_;                  // not yet committed
  std::deque<Pending> pending_;  // sync thread only: in log order
  sdk::Zxid last_logged_ = 0;    // sync thread only
  // Statistics.
  std::atomic<int64_t> serving_since_ms_{0};
  std::atomic<int64_t> last_proposal_size_{0}, min_proposal_size_{-1}, max_proposal_size_{0};
};

}  // namespace paddock::quorum
