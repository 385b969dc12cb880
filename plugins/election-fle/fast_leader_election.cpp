#include "fast_leader_election.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <string_view>
#include <utility>

#ifndef PADDOCK_VERSION
#define PADDOCK_VERSION "0.0.0"
#endif

namespace paddock::election_fle {
namespace {

using Clock = std::chrono::steady_clock;

const char* state_name(int32_t state) {
  switch (state) {
    case 0: return "LOOKING";
    case 1: return "FOLLOWING";
    case 2: return "LEADING";
    case 3: return "OBSERVING";
  }
  return "UNKNOWN";
}

std::string hex(int64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(value)));
  return buffer;
}

std::string exception_text(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

// ZooKeeper reads these as system properties (zookeeper.fastleader.*); the core's key table
// declares them as fastleader.* and accepts the zookeeper. prefix in zoo.cfg.
sdk::Status read_interval(const sdk::PluginConfig& config, std::string_view key,
                          std::chrono::milliseconds& out) {
  auto value = config.get(key);
  std::string shown(key);
  if (!value) {
    shown = "zookeeper." + shown;
    value = config.get(shown);
  }
  if (!value) return sdk::Status::ok();
  int64_t parsed = 0;
  const char* end = value->data() + value->size();
  auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
  if (ec != std::errc() || ptr != end || parsed < 1 || parsed > INT32_MAX) {
    return sdk::Status::error(shown + ": expected a positive number of milliseconds, found '" +
                              std::string(*value) + "'");
  }
  out = std::chrono::milliseconds(parsed);
  return sdk::Status::ok();
}

}  // namespace

FastLeaderElection::~FastLeaderElection() {
  stop();
  std::unique_lock lock(run_mutex_);
  run_done_.wait(lock, [&] { return !running_; });  // stop() makes a running election return
}

sdk::Status FastLeaderElection::configure(const sdk::PluginConfig& config, sdk::Host& host) {
  try {
    host_ = &host;
    if (auto s = read_interval(config, "fastleader.minNotificationInterval",
                               min_notification_interval_);
        !s) {
      return s;
    }
    return read_interval(config, "fastleader.maxNotificationInterval",
                         max_notification_interval_);
  } catch (...) {
    return sdk::Status::error("configure: " + exception_text(std::current_exception()));
  }
}

sdk::Status FastLeaderElection::start(sdk::ElectionContext& context) {
  try {
    if (context_ != nullptr) return sdk::Status::error("election already started");
    if (stopped_) return sdk::Status::error("election already stopped");
    my_id_ = context.my_id();
    peers_ = context.peers();
    const auto self = std::find_if(peers_.begin(), peers_.end(),
                                   [&](const sdk::PeerAddress& p) { return p.id == my_id_; });
    if (self == peers_.end()) {
      return sdk::Status::error("server " + std::to_string(my_id_) +
                                " is not in the configuration (no server." +
                                std::to_string(my_id_) + " line)");
    }
    config_text_ = context.quorum_config_text();
    config_version_ = config_version(config_text_).value_or(0);

    ConnectionManager::Options options;
    options.my_id = my_id_;
    options.listen_address = HostPort{self->host, self->election_port};
    for (const auto& peer : peers_) {
      if (peer.id == my_id_) continue;
      options.peer_addresses[peer.id] = HostPort{peer.host, peer.election_port};
    }
    options.handshake_timeout_ms = context.handshake_timeout_ms();
    context_ = &context;
    auto manager = std::make_shared<ConnectionManager>(
        context.transport(), std::move(options),
        [this](sdk::ServerId sid, const uint8_t* data, size_t size) {
          on_message(sid, data, size);
        },
        [this](sdk::LogLevel level, const std::string& message) { log(level, message); });
    if (auto status = manager->start(); !status) {
      manager->stop();
      context_ = nullptr;
      return sdk::Status::error("election port: " + status.message());
    }
    manager_ = std::move(manager);
    log(sdk::LogLevel::kInfo, "listening for election connections on " +
                                  format_host_port(self->host, self->election_port) +
                                  " as server " + std::to_string(my_id_));
    return sdk::Status::ok();
  } catch (...) {
    context_ = nullptr;
    return sdk::Status::error("start: " + exception_text(std::current_exception()));
  }
}

void FastLeaderElection::stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(queue_mutex_);  // so a poller cannot miss the flag
  }
  queue_ready_.notify_all();
  try {
    if (manager_) manager_->stop();
  } catch (...) {
  }
}

sdk::Result<sdk::Vote> FastLeaderElection::look_for_leader() {
  if (context_ == nullptr || !manager_) return sdk::Status::error("election not started");
  {
    std::lock_guard lock(run_mutex_);
    if (stopped_) return sdk::Status::error("election stopped");
    if (running_) return sdk::Status::error("an election is already running");
    running_ = true;
  }
  sdk::Result<sdk::Vote> result = sdk::Status::error("election failed");
  try {
    result = run_election();
  } catch (...) {
    result = sdk::Status::error("election failed: " + exception_text(std::current_exception()));
  }
  {
    std::lock_guard lock(run_mutex_);
    running_ = false;
  }
  run_done_.notify_all();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Receiving (Messenger.WorkerReceiver)

void FastLeaderElection::on_message(sdk::ServerId sid, const uint8_t* data, size_t size) {
  std::string error;
  auto n = decode_notification(data, size, error);
  if (!n) {
    log(sdk::LogLevel::kWarn, "skipping a malformed notification from server " +
                                  std::to_string(sid) + ": " + error);
    return;
  }
  n->sid = sid;
  if (n->config) note_config(*n);

  // A non-voter (an observer) gets our current vote at once and is not heard further.
  if (!context_->is_voter(sid)) {
    const sdk::Vote current = context_->current_vote();
    send(sid, context_->state(), current.leader, current.zxid, logical_clock_.load(),
         current.peer_epoch);
    return;
  }
  if (n->state < 0 || n->state > 3) {
    log(sdk::LogLevel::kWarn, "skipping a notification with state " + std::to_string(n->state) +
                                  " from server " + std::to_string(sid));
    return;
  }
  log(sdk::LogLevel::kDebug,
      "notification from server " + std::to_string(sid) + ": state " + state_name(n->state) +
          ", leader " + std::to_string(n->leader) + ", zxid " + hex(n->zxid) + ", round " +
          hex(n->election_epoch) + ", peer epoch " + hex(n->peer_epoch) + ", version " +
          std::to_string(n->version));

  const sdk::PeerState mine = context_->state();
  if (mine == sdk::PeerState::kLooking) {
    const bool lagging = n->state == 0 && n->election_epoch < logical_clock_.load();
    enqueue(*n);
    if (lagging) {  // a LOOKING peer behind our round gets our proposal
      const Proposal p = proposal();
      send(sid, mine, p.leader, p.zxid, logical_clock_.load(), p.epoch);
    }
  } else if (n->state == 0) {
    // Not LOOKING ourselves: tell a LOOKING peer whom we stand behind, with the round that
    // decided it (spec 5, 6).
    const sdk::Vote current = context_->current_vote();
    send(sid, mine, current.leader, current.zxid, current.election_epoch, current.peer_epoch);
    // Unlike ZooKeeper, keep it: when our leader is gone too, this peer's vote is already
    // here for our next round, instead of waiting for its next notification (a poll timeout
    // later). Stale rounds are ignored by the election loop anyway.
    enqueue(*n);
  }
}

void FastLeaderElection::note_config(const Notification& n) {
  // ZooKeeper would adopt a newer dynamic configuration here (processReconfig) and restart
  // its election. Paddock has no dynamic reconfiguration: say so, once per version.
  const auto version = config_version(*n.config);
  if (!version || *version <= config_version_) return;
  int64_t warned = newest_config_warned_.load();
  while (*version > warned) {
    if (newest_config_warned_.compare_exchange_weak(warned, *version)) {
      log(sdk::LogLevel::kWarn,
          "server " + std::to_string(n.sid) + " sends quorum config version " + hex(*version) +
              ", newer than ours (" + hex(config_version_) +
              "); dynamic reconfiguration is not supported, ignoring it");
      return;
    }
  }
}

void FastLeaderElection::enqueue(Notification n) {
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.size() >= kReceiveCapacity) queue_.pop_front();
    queue_.push_back(std::move(n));
  }
  queue_ready_.notify_one();
}

std::optional<Notification> FastLeaderElection::poll(std::chrono::milliseconds timeout) {
  std::unique_lock lock(queue_mutex_);
  queue_ready_.wait_for(lock, timeout, [&] { return stopped_.load() || !queue_.empty(); });
  if (stopped_ || queue_.empty()) return std::nullopt;
  Notification n = std::move(queue_.front());
  queue_.pop_front();
  return n;
}

void FastLeaderElection::clear_queue() {
  std::lock_guard lock(queue_mutex_);
  queue_.clear();
}

// ---------------------------------------------------------------------------------------------
// Sending

void FastLeaderElection::send(sdk::ServerId to, sdk::PeerState state, sdk::ServerId leader,
                              sdk::Zxid zxid, int64_t election_epoch, int64_t peer_epoch) {
  auto frame = std::make_shared<const std::vector<uint8_t>>(
      encode_notification_frame(state, leader, zxid, election_epoch, peer_epoch, config_text_));
  manager_->to_send(to, std::move(frame));
}

void FastLeaderElection::send_notifications() {
  const Proposal p = proposal();
  auto frame = std::make_shared<const std::vector<uint8_t>>(
      encode_notification_frame(sdk::PeerState::kLooking, p.leader, p.zxid,
                                logical_clock_.load(), p.epoch, config_text_));
  for (const auto& peer : peers_) {
    if (context_->is_voter(peer.id)) manager_->to_send(peer.id, frame);
  }
}

FastLeaderElection::Proposal FastLeaderElection::proposal() const {
  std::lock_guard lock(proposal_mutex_);
  return proposal_;
}

void FastLeaderElection::update_proposal(sdk::ServerId leader, sdk::Zxid zxid, int64_t epoch) {
  std::lock_guard lock(proposal_mutex_);
  proposal_ = Proposal{leader, zxid, epoch};
}

// ---------------------------------------------------------------------------------------------
// The election loop (lookForLeader)

bool FastLeaderElection::has_quorum(const std::map<sdk::ServerId, RecordedVote>& votes,
                                    const RecordedVote& vote) const {
  std::vector<sdk::ServerId> acks;  // SyncedLearnerTracker: only voters' acks count
  for (const auto& [sid, recorded] : votes) {
    if (votes_equal(vote, recorded) && context_->is_voter(sid)) acks.push_back(sid);
  }
  return !acks.empty() && context_->is_quorum(acks);
}

bool FastLeaderElection::check_leader(const std::map<sdk::ServerId, RecordedVote>& votes,
                                      sdk::ServerId leader, int64_t election_epoch) const {
  // If everyone else thinks we lead, we lead (in this round); otherwise the leader itself
  // must have said that it is LEADING, so a crashed leader is not elected over and over.
  if (leader == my_id_) return logical_clock_.load() == election_epoch;
  auto it = votes.find(leader);
  return it != votes.end() && it->second.state == sdk::PeerState::kLeading;
}

sdk::Vote FastLeaderElection::finish(sdk::ServerId leader, sdk::Zxid zxid, int64_t election_epoch,
                                     int64_t peer_epoch, Clock::time_point started) {
  sdk::Vote vote;
  vote.leader = leader;
  vote.zxid = zxid;
  vote.election_epoch = election_epoch;
  vote.peer_epoch = peer_epoch;
  vote.state = leader == my_id_ ? sdk::PeerState::kLeading
               : context_->is_voter(my_id_) ? sdk::PeerState::kFollowing
                                            : sdk::PeerState::kObserving;
  clear_queue();  // leaveInstance
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  log(sdk::LogLevel::kInfo,
      std::string("election round ") + hex(election_epoch) + " decided: " +
          state_name(static_cast<int32_t>(vote.state)) + ", leader " + std::to_string(leader) +
          ", zxid " + hex(zxid) + ", peer epoch " + hex(peer_epoch) + " (" +
          std::to_string(took) + " ms)");
  return vote;
}

sdk::Result<sdk::Vote> FastLeaderElection::run_election() {
  const auto started = Clock::now();
  // recvset: votes of this round. outofelection: FOLLOWING / LEADING votes of any round,
  // which is how a late joiner finds an established leader.
  std::map<sdk::ServerId, RecordedVote> recvset;
  std::map<sdk::ServerId, RecordedVote> outofelection;
  auto not_timeout = min_notification_interval_;

  // A non-voter proposes Long.MIN_VALUE for everything and adopts the voters' choice.
  const bool participant = context_->is_voter(my_id_);
  const sdk::ServerId init_id = participant ? my_id_ : INT64_MIN;
  const sdk::Zxid init_zxid = participant ? context_->last_logged_zxid() : INT64_MIN;
  const int64_t init_epoch = participant ? context_->current_epoch() : INT64_MIN;

  {
    std::lock_guard lock(proposal_mutex_);
    logical_clock_.fetch_add(1);
    proposal_ = Proposal{init_id, init_zxid, init_epoch};
  }
  log(sdk::LogLevel::kInfo, "new election: my id " + std::to_string(my_id_) + ", round " +
                                hex(logical_clock_.load()) + ", proposed zxid " +
                                hex(init_zxid) + ", peer epoch " + hex(init_epoch));
  send_notifications();

  while (!stopped_ && context_->state() == sdk::PeerState::kLooking) {
    std::optional<Notification> n = poll(not_timeout);
    if (stopped_) break;
    if (!n) {
      // Nothing heard: send again if some peer took our last message, else (re)connect.
      // This is the only reconnect schedule, so it backs off with the interval.
      if (manager_->have_delivered()) {
        send_notifications();
      } else {
        manager_->connect_all();
      }
      not_timeout = std::min(not_timeout * 2, max_notification_interval_);
      log(sdk::LogLevel::kInfo,
          "notification time out: " + std::to_string(not_timeout.count()) + " ms");
      continue;
    }
    if (!context_->is_voter(n->sid) || !context_->is_voter(n->leader)) {
      log(sdk::LogLevel::kWarn, "ignoring a vote for server " + std::to_string(n->leader) +
                                    " from server " + std::to_string(n->sid) +
                                    ": not both voters");
      continue;
    }
    switch (n->state) {
      case 0: {  // LOOKING
        if (init_zxid == -1 || n->zxid == -1) break;  // an untrusted database
        const int64_t clock = logical_clock_.load();
        if (n->election_epoch > clock) {
          logical_clock_.store(n->election_epoch);
          recvset.clear();
          if (vote_beats(n->leader, n->zxid, n->peer_epoch, init_id, init_zxid, init_epoch)) {
            update_proposal(n->leader, n->zxid, n->peer_epoch);
          } else {
            update_proposal(init_id, init_zxid, init_epoch);
          }
          send_notifications();
        } else if (n->election_epoch < clock) {
          break;  // the receiver already answered it with our proposal
        } else if (const Proposal p = proposal();
                   vote_beats(n->leader, n->zxid, n->peer_epoch, p.leader, p.zxid, p.epoch)) {
          update_proposal(n->leader, n->zxid, n->peer_epoch);
          send_notifications();
        }
        recvset[n->sid] = RecordedVote{n->leader, n->zxid, n->election_epoch, n->peer_epoch,
                                       sdk::PeerState::kLooking, 0};
        const Proposal p = proposal();
        const RecordedVote mine{p.leader, p.zxid, logical_clock_.load(), p.epoch,
                                sdk::PeerState::kLooking, 0};
        if (has_quorum(recvset, mine)) {
          // A quorum agrees: wait finalizeWait for anything better before deciding.
          bool better = false;
          while (auto m = poll(kFinalizeWait)) {
            if (vote_beats(m->leader, m->zxid, m->peer_epoch, p.leader, p.zxid, p.epoch)) {
              enqueue(std::move(*m));
              better = true;
              break;
            }
          }
          if (stopped_) break;
          if (!better) return finish(p.leader, p.zxid, logical_clock_.load(), p.epoch, started);
        }
        break;
      }
      case 3:  // OBSERVING: never counts
        break;
      case 1:    // FOLLOWING
      case 2: {  // LEADING
        const auto state = static_cast<sdk::PeerState>(n->state);
        const RecordedVote theirs{n->leader,     n->zxid, n->election_epoch,
                                  n->peer_epoch, state,   n->version};
        if (n->election_epoch == logical_clock_.load()) {
          // Java records these without the format version (Vote's 5-argument constructor).
          recvset[n->sid] = RecordedVote{n->leader, n->zxid, n->election_epoch, n->peer_epoch,
                                         state, 0};
          if (has_quorum(recvset, theirs) &&
              check_leader(recvset, n->leader, n->election_epoch)) {
            return finish(n->leader, n->zxid, n->election_epoch, n->peer_epoch, started);
          }
        }
        // Before joining an established ensemble, a quorum must follow the same leader.
        outofelection[n->sid] = theirs;
        if (has_quorum(outofelection, theirs) &&
            check_leader(outofelection, n->leader, n->election_epoch)) {
          logical_clock_.store(n->election_epoch);
          return finish(n->leader, n->zxid, n->election_epoch, n->peer_epoch, started);
        }
        break;
      }
      default:
        break;
    }
  }
  if (stopped_) return sdk::Status::error("election stopped");
  return sdk::Status::error("peer left the LOOKING state during the election");
}

void FastLeaderElection::log(sdk::LogLevel level, const std::string& message) const {
  if (host_ == nullptr) return;
  try {
    host_->log(level, message);
  } catch (...) {
  }
}

}  // namespace paddock::election_fle

PADDOCK_PLUGIN(kElection, "fle", PADDOCK_VERSION, nullptr, 0,
               paddock::election_fle::FastLeaderElection)
