#include "quorum/quorum_peer.hpp"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "pipeline/final_stage.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/prep_stage.hpp"
#include "pipeline/sync_stage.hpp"
#include "quorum/follower.hpp"
#include "quorum/leader.hpp"
#include "server/database.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"

namespace paddock::quorum {

namespace {
const char* state_name(sdk::PeerState s) {
  switch (s) {
    case sdk::PeerState::kLooking: return "LOOKING";
    case sdk::PeerState::kFollowing: return "FOLLOWING";
    case sdk::PeerState::kLeading: return "LEADING";
    case sdk::PeerState::kObserving: return "OBSERVING";
  }
  return "UNKNOWN";
}
}  // namespace

QuorumPeer::QuorumPeer(QuorumConfig config, PeerServices services, sdk::Election& election,
                       sdk::Role* role)
    : config_(std::move(config)),
      services_(std::move(services)),
      election_(election),
      role_(role),
      learner_mode_(role ? role->mode() : std::string("follower")) {
  vote_.leader = config_.my_id;
}

QuorumPeer::~QuorumPeer() { stop(); }

sdk::Zxid QuorumPeer::last_logged_zxid() const { return services_.tree.last_processed_zxid(); }

int64_t QuorumPeer::current_epoch() const {
  auto e = services_.storage.read_epoch(sdk::EpochKind::kCurrent);
  return e && e.value() ? *e.value() : 0;
}

int64_t QuorumPeer::accepted_epoch() const {
  auto e = services_.storage.read_epoch(sdk::EpochKind::kAccepted);
  return e && e.value() ? *e.value() : 0;
}

sdk::Status QuorumPeer::write_epoch(sdk::EpochKind kind, int64_t epoch) {
  auto st = services_.storage.write_epoch(kind, epoch);
  if (st) {
    spdlog::info("{} = {}", kind == sdk::EpochKind::kCurrent ? "currentEpoch" : "acceptedEpoch", epoch);
  }
  return st;
}

sdk::Vote QuorumPeer::current_vote() const {
  std::lock_guard lk(vote_mu_);
  return vote_;
}

void QuorumPeer::set_vote_epoch(int64_t epoch) {
  std::lock_guard lk(vote_mu_);
  vote_.peer_epoch = epoch;
}

void QuorumPeer::set_state(sdk::PeerState s) {
  sdk::PeerState old = state_.exchange(s);
  if (old != s) spdlog::info("peer state: {} -> {}", state_name(old), state_name(s));
}

sdk::Status QuorumPeer::start() {
  // Epoch records: created from the database when missing, and checked as ZooKeeper does.
  int64_t zxid_epoch = sdk::zxid_epoch(services_.tree.last_processed_zxid());
  auto current = services_.storage.read_epoch(sdk::EpochKind::kCurrent);
  if (!current) return current.status();
  if (!current.value()) {
    if (auto st = write_epoch(sdk::EpochKind::kCurrent, zxid_epoch); !st) return st;
  } else if (zxid_epoch > *current.value()) {
    return sdk::Status::error("the last zxid's epoch " + std::to_string(zxid_epoch) +
                              " is greater than currentEpoch " + std::to_string(*current.value()));
  }
  auto accepted = services_.storage.read_epoch(sdk::EpochKind::kAccepted);
  if (!accepted) return accepted.status();
  if (!accepted.value()) {
    if (auto st = write_epoch(sdk::EpochKind::kAccepted, std::max(zxid_epoch, current_epoch())); !st) return st;
  } else if (*accepted.value() < current_epoch()) {
    return sdk::Status::error("acceptedEpoch " + std::to_string(*accepted.value()) +
                              " is less than currentEpoch " + std::to_string(current_epoch()));
  }
  services_.sessions.set_expiry(false);
  // mntr: the peer's state as ZooKeeper words it, the quorum size, and the leader's lines.
  services_.ctx.quorum_metrics = std::make_shared<const server::ServerContext::MetricsFn>([this] {
    std::vector<std::pair<std::string, std::string>> out;
    const char* peer = "looking - election";
    switch (state_.load()) {
      case sdk::PeerState::kLeading: peer = "leading - broadcast"; break;
      case sdk::PeerState::kFollowing: peer = "following - broadcast"; break;
      case sdk::PeerState::kObserving: peer = "observing - broadcast"; break;
      case sdk::PeerState::kLooking: break;
    }
    out.emplace_back("zk_peer_state", peer);
    out.emplace_back("zk_quorum_size", std::to_string(config_.voters().size()));
    std::shared_ptr<Leader> leader;
    {
      std::lock_guard lk(role_mu_);
      leader = leader_.lock();
    }
    if (leader) {
      auto more = leader->metrics();
      out.insert(out.end(), more.begin(), more.end());
    } else if (state_.load() == sdk::PeerState::kFollowing) {
      out.emplace_back("zk_synced_observers", "0");
    }
    return out;
  });
  if (auto st = election_.start(*this); !st) return st;
  thread_ = std::thread([this] { run(); });
  return {};
}

void QuorumPeer::stop() {
  services_.ctx.quorum_metrics.store(nullptr);
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  election_.stop();
  {
    std::lock_guard lk(role_mu_);
    if (stop_role_) stop_role_();
  }
  if (thread_.joinable()) thread_.join();
}

void QuorumPeer::start_serving(std::unique_ptr<pipeline::Pipeline> pipeline, const char* mode) {
  pipeline_ = std::move(pipeline);
  services_.ctx.mode = mode;
  services_.ctx.active_pipeline.store(pipeline_.get(), std::memory_order_release);
  services_.ctx.serving = true;
}

void QuorumPeer::stop_serving() {
  auto& ctx = services_.ctx;
  ctx.serving = false;
  ctx.active_pipeline.store(nullptr, std::memory_order_release);
  ctx.revalidate_remote.store(nullptr);
  ctx.remote_sync_done.store(nullptr);
  services_.sessions.set_expiry(false);
  services_.close_clients();
}

void QuorumPeer::settle_after_role() {
  // Requests still queued behind their sessions belong to clients that are gone.
  for (const auto& s : services_.sessions.all()) {
    std::lock_guard lk(s->mu);
    for (pipeline::Request* r : s->in_flight) delete r;
    s->in_flight.clear();
  }
  services_.prep.reset(services_.tree.last_processed_zxid());
  pipeline_.reset();
}

void QuorumPeer::run() {
  while (!stopping_) {
    set_state(sdk::PeerState::kLooking);
    services_.ctx.mode = "looking";
    auto start = std::chrono::steady_clock::now();
    if (services_.looking_started) services_.looking_started();
    auto result = election_.look_for_leader();
    if (services_.looking_ended) services_.looking_ended();
    if (stopping_) break;
    if (!result) {
      spdlog::warn("election failed: {}; trying again", result.status().message());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    sdk::Vote vote = result.value();
    {
      std::lock_guard lk(vote_mu_);
      vote_ = vote;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("election ended in {} ms: leader {} (zxid 0x{:x}, round {}, epoch {})", ms, vote.leader,
                 vote.zxid, vote.election_epoch, vote.peer_epoch);
    if (vote.leader == config_.my_id) {
      set_state(sdk::PeerState::kLeading);
      auto leader = std::make_shared<Leader>(*this);
      {
        std::lock_guard lk(role_mu_);
        stop_role_ = [leader] { leader->shutdown("shutting down"); };
        leader_ = leader;
      }
      std::string why = leader->lead();
      {
        std::lock_guard lk(role_mu_);
        stop_role_ = nullptr;
        leader_.reset();
      }
      spdlog::info("leadership ended: {}", why);
      stop_serving();
      leader->cleanup();
      services_.sync.drain();
      leader->settle();
    } else {
      set_state(role_ ? role_->state() : sdk::PeerState::kFollowing);
      auto follower = std::make_shared<Follower>(*this, vote);
      {
        std::lock_guard lk(role_mu_);
        stop_role_ = [follower] { follower->shutdown("shutting down"); };
      }
      std::string why = follower->follow();
      {
        std::lock_guard lk(role_mu_);
        stop_role_ = nullptr;
      }
      spdlog::info("stopped following {}: {}", vote.leader, why);
      stop_serving();
      follower->shutdown(why);
      services_.sync.drain();
      follower->settle();
      settle_after_role();
      // A role may ask for a pause before looking again (observers: a random delay, so they
      // do not all rush a new ensemble at once).
      if (role_ && !stopping_) {
        int64_t delay = role_->election_delay_ms();
        if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      }
      continue;
    }
    settle_after_role();
  }
  set_state(sdk::PeerState::kLooking);
}

}  // namespace paddock::quorum
