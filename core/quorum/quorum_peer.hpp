// The quorum peer: the state machine of an ensemble member. LOOKING runs an election through
// the election plugin; the result makes this peer LEADING (Leader) or FOLLOWING (Follower);
// when that role ends (leader lost, quorum lost, shut-down) it goes back to LOOKING. The peer
// serves clients only while it leads or follows a synchronised leader.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "paddock/sdk/election.hpp"
#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/role.hpp"
#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/transport.hpp"
#include "quorum/committed_log.hpp"
#include "quorum/quorum_config.hpp"
#include "server/server_context.hpp"

namespace paddock::tree { class DataTree; }
namespace paddock::session { class SessionTracker; }
namespace paddock::server { class Database; }
namespace paddock::pipeline {
class Pipeline;
class PrepStage;
class SyncStage;
class FinalStage;
}  // namespace paddock::pipeline

namespace paddock::quorum {

// What the roles need from the server around them.
struct PeerServices {
  server::ServerContext& ctx;
  tree::DataTree& tree;
  session::SessionTracker& sessions;
  sdk::Storage& storage;
  server::Database& database;
  pipeline::PrepStage& prep;
  pipeline::SyncStage& sync;
  pipeline::FinalStage& final_stage;
  CommittedLog& committed_log;
  sdk::Transport& quorum_transport;
  // A pipeline of these core stages with the configured third-party processors around them.
  std::function<std::unique_ptr<pipeline::Pipeline>(
      std::vector<std::pair<std::string, sdk::Processor*>>)> make_pipeline;
  // Closes every client connection (they reconnect, possibly elsewhere).
  std::function<void()> close_clients;
  // Called when this peer starts and stops looking for a leader (read-only mode serves the
  // local tree in between, when readonlymode.enabled is set). May be empty.
  std::function<void()> looking_started;
  std::function<void()> looking_ended;
};

class QuorumPeer final : public sdk::ElectionContext {
 public:
  // `role` is the role plugin of a non-follower learner (an observer); null for participants.
  QuorumPeer(QuorumConfig config, PeerServices services, sdk::Election& election,
             sdk::Role* role = nullptr);
  ~QuorumPeer() override;

  sdk::Status start();
  void stop();

  // ---- sdk::ElectionContext ----
  sdk::ServerId my_id() const override { return config_.my_id; }
  std::vector<sdk::PeerAddress> peers() const override { return config_.peers(); }
  bool is_voter(sdk::ServerId id) const override { return config_.is_voter(id); }
  bool is_quorum(const std::vector<sdk::ServerId>& ids) const override { return config_.is_quorum(ids); }
  sdk::Zxid last_logged_zxid() const override;
  int64_t current_epoch() const override;
  sdk::PeerState state() const override { return state_.load(); }
  sdk::Vote current_vote() const override;
  std::string quorum_config_text() const override { return config_.config_text(); }
  int64_t handshake_timeout_ms() const override { return config_.sync_timeout_ms(); }
  sdk::Transport& transport() override { return services_.quorum_transport; }

  // ---- for the roles ----
  const QuorumConfig& config() const { return config_; }
  sdk::Role* role() const { return role_; }
  // What srvr reports while this peer learns from a leader ("follower", or the role's mode).
  const char* learner_mode() const { return learner_mode_.c_str(); }
  PeerServices& services() { return services_; }
  int64_t accepted_epoch() const;
  sdk::Status write_epoch(sdk::EpochKind kind, int64_t epoch);
  // The new epoch is established: the vote reports it as its peer epoch.
  void set_vote_epoch(int64_t epoch);
  // Starts / stops serving clients with a role's pipeline.
  void start_serving(std::unique_ptr<pipeline::Pipeline> pipeline, const char* mode);
  void stop_serving();
  bool stopping() const { return stopping_.load(); }

 private:
  void run();
  void set_state(sdk::PeerState s);
  // After a role: every client request still waiting is dropped, and the tree is brought to
  // everything this peer has logged.
  void settle_after_role();

  QuorumConfig config_;
  PeerServices services_;
  sdk::Election& election_;
  sdk::Role* role_;
  std::string learner_mode_;
  std::atomic<sdk::PeerState> state_{sdk::PeerState::kLooking};
  mutable std::mutex vote_mu_;
  sdk::Vote vote_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::mutex role_mu_;
  std::function<void()> stop_role_;  // stops the running role (leader / follower)
  std::weak_ptr<class Leader> leader_;  // while leading, for mntr
};

}  // namespace paddock::quorum
