// FastLeaderElection: ZooKeeper 3.8's leader election (spec/election-protocol.md 3-7) behind
// the SDK's Election interface. Theory of operation in README.md beside this file.
//
//  - on_message (Messenger.WorkerReceiver) runs on the transport's I/O threads (or on the
//    sending thread for our own looped-back notifications): it decodes, answers peers that
//    need an answer at once (spec 5), and queues notifications for the election loop;
//  - run_election (lookForLeader) runs on the core's thread inside look_for_leader();
//  - the proposal and the logical clock are shared between the two; the receive queue has its
//    own lock; no lock is held while a message is sent (a message to oneself comes straight
//    back into on_message).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connection_manager.hpp"
#include "paddock/sdk/election.hpp"
#include "vote_order.hpp"
#include "wire.hpp"

namespace paddock::election_fle {

class FastLeaderElection final : public sdk::Election {
 public:
  // FastLeaderElection.finalizeWait: how long a quorum must stand without a better vote.
  static constexpr std::chrono::milliseconds kFinalizeWait{200};
  // QuorumCnxManager.RECV_CAPACITY: notifications waiting for the loop; the oldest goes first.
  static constexpr size_t kReceiveCapacity = 100;

  FastLeaderElection() = default;
  ~FastLeaderElection() override;

  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host& host) override;
  sdk::Status start(sdk::ElectionContext& context) override;
  sdk::Result<sdk::Vote> look_for_leader() override;
  void stop() override;

 private:
  struct Proposal {
    sdk::ServerId leader = -1;
    sdk::Zxid zxid = -1;
    int64_t epoch = 0;
  };

  void on_message(sdk::ServerId sid, const uint8_t* data, size_t size);
  void note_config(const Notification& n);

  sdk::Result<sdk::Vote> run_election();
  sdk::Vote finish(sdk::ServerId leader, sdk::Zxid zxid, int64_t election_epoch,
                   int64_t peer_epoch, std::chrono::steady_clock::time_point started);
  void send_notifications();
  void send(sdk::ServerId to, sdk::PeerState state, sdk::ServerId leader, sdk::Zxid zxid,
            int64_t election_epoch, int64_t peer_epoch);
  std::optional<Notification> poll(std::chrono::milliseconds timeout);
  void enqueue(Notification n);
  void clear_queue();
  Proposal proposal() const;
  void update_proposal(sdk::ServerId leader, sdk::Zxid zxid, int64_t epoch);
  bool has_quorum(const std::map<sdk::ServerId, RecordedVote>& votes,
                  const RecordedVote& vote) const;
  bool check_leader(const std::map<sdk::ServerId, RecordedVote>& votes, sdk::ServerId leader,
                    int64_t election_epoch) const;
  void log(sdk::LogLevel level, const std::string& message) const;

  // Set by configure / start, then read-only.
  sdk::Host* host_ = nullptr;
  std::chrono::milliseconds min_notification_interval_{200};
  std::chrono::milliseconds max_notification_interval_{60000};
  sdk::ElectionContext* context_ = nullptr;
  sdk::ServerId my_id_ = 0;
  std::vector<sdk::PeerAddress> peers_;
  std::string config_text_;
  int64_t config_version_ = 0;
  std::shared_ptr<ConnectionManager> manager_;

  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> logical_clock_{0};  // the election round
  std::atomic<int64_t> newest_config_warned_{INT64_MIN};

  mutable std::mutex proposal_mutex_;
  Proposal proposal_;  // guarded by proposal_mutex_

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<Notification> queue_;  // guarded by queue_mutex_

  std::mutex run_mutex_;
  std::condition_variable run_done_;
  bool running_ = false;  // guarded by run_mutex_: look_for_leader in progress
};

}  // namespace paddock::election_fle
