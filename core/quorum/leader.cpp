#include "quorum/leader.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "paddock/sdk/jute.hpp"
#include "pipeline/final_stage.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/prep_stage.hpp"
#include "pipeline/sync_stage.hpp"
#include "quorum/snap_stream.hpp"
#include "server/client_connection.hpp"
#include "server/database.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"

namespace paddock::quorum {

using sdk::Zxid;
using sdk::jute::Reader;
using sdk::jute::Writer;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string hex(int64_t v) { return fmt::format("0x{:x}", v); }

// A packet's data (empty when null), viewed in place.
std::string_view payload(const QuorumPacket& p) {
  return p.data ? std::string_view(*p.data) : std::string_view();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Pipeline stages of the leader

// Sends each new transaction to the followers as a PROPOSAL, in zxid order (it runs inside
// the pipeline's ordering section).
class Leader::ProposalStage final : public sdk::Processor {
 public:
  explicit ProposalStage(Leader& l) : leader_(l) {}
  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext&) override { return {}; }
  void stop() override {}
  sdk::Decision process(sdk::RequestView& view) override {
    auto& r = static_cast<pipeline::Request&>(view);
    if (!r.has_txn) return sdk::Decision::next();
    std::string packet = make_packet(packet::kProposal, r.txn_zxid, r.txn);
    auto size = static_cast<int64_t>(packet.size());
    leader_.last_proposal_size_ = size;
    int64_t cur = leader_.max_proposal_size_.load();
    while (size > cur && !leader_.max_proposal_size_.compare_exchange_weak(cur, size)) {}
    cur = leader_.min_proposal_size_.load();
    while ((cur < 0 || size < cur) && !leader_.min_proposal_size_.compare_exchange_weak(cur, size)) {}
    std::lock_guard lk(leader_.mu_);
    Proposal& p = leader_.proposals_[r.txn_zxid];
    p.txn = &r.txn;
    for (const auto& h : leader_.forwarding_) {
      if (h->participant()) h->send(packet);
    }
    return sdk::Decision::next();
  }

 private:
  Leader& leader_;
};

// Holds each logged transaction until a quorum has acknowledged it and everything before it
// is committed; a sync waits for everything logged before it (sync thread).
class Leader::CommitStage final : public sdk::Processor {
 public:
  explicit CommitStage(Leader& l) : leader_(l) {}
  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext&) override { return {}; }
  void stop() override {}
  sdk::Decision process(sdk::RequestView& view) override {
    auto& r = static_cast<pipeline::Request&>(view);
    bool barrier = !r.has_txn && r.type == sdk::OpCode::kSync && !r.rejected;
    if (!r.has_txn && !barrier) return sdk::Decision::next();
    leader_.on_logged(r);
    // try_commit resumes the others; this one continues here if it is ready.
    return leader_.try_commit(&r) ? sdk::Decision::next() : sdk::Decision::deferred();
  }

 private:
  Leader& leader_;
};

class Leader::Acceptor final : public sdk::AcceptHandler {
 public:
  explicit Acceptor(Leader& l) : leader_(l) {}
  void on_accept(std::shared_ptr<sdk::Connection> conn) override {
    auto h = std::make_shared<LearnerHandler>(leader_.shared_from_this(), conn);
    {
      std::lock_guard lk(leader_.mu_);
      if (leader_.shutdown_) {
        conn->close();
        return;
      }
      leader_.handlers_.push_back(h);
    }
    h->last_heard_ms_ = now_ms();
    conn->start(h);
  }

 private:
  Leader& leader_;
};

// ---------------------------------------------------------------------------------------
// LearnerHandler

LearnerHandler::LearnerHandler(std::shared_ptr<Leader> leader, std::shared_ptr<sdk::Connection> conn)
    : leader_(std::move(leader)), conn_(std::move(conn)) {}

void LearnerHandler::send(std::string_view packet) {
  std::lock_guard lk(out_mu_);
  if (holding_) {
    held_.append(packet);
  } else {
    conn_->send(packet.data(), packet.size());
  }
}

void LearnerHandler::close() {
  closed_ = true;
  conn_->close();
}

void LearnerHandler::on_closed(const std::string& reason) {
  closed_ = true;
  spdlog::info("learner {} ({}) disconnected{}{}", sid_, conn_->remote_address(),
               reason.empty() ? "" : ": ", reason);
  leader_->learner_closed(*this);
  leader_.reset();
}

void LearnerHandler::on_receive(const uint8_t* data, size_t size) {
  if (closed_) return;
  last_heard_ms_ = now_ms();
  parser_.feed(data, size);
  for (;;) {
    QuorumPacket p;
    auto r = parser_.next(p);
    if (r == PacketParser::Result::kNeedMore) return;
    if (r == PacketParser::Result::kError) {
      spdlog::warn("closing learner connection {}: malformed quorum packet", conn_->remote_address());
      close();
      return;
    }
    handle(p);
    if (closed_) return;
  }
}

void LearnerHandler::handle(QuorumPacket& p) {
  auto self = shared_from_this();
  switch (phase_) {
    case Phase::kInfo: {
      if (p.type != packet::kFollowerInfo && p.type != packet::kObserverInfo) {
        spdlog::warn("learner {} sent {} before FOLLOWERINFO; closing", conn_->remote_address(),
                     packet_name(p.type));
        close();
        return;
      }
      Reader r(payload(p));
      sid_ = r.read_long();
      int32_t protocol = r.read_int();
      if (!r.ok() || protocol < kLearnerProtocolVersion) {
        spdlog::warn("learner {}: unsupported LearnerInfo (protocol 0x{:x}); closing",
                     conn_->remote_address(), protocol);
        close();
        return;
      }
      participant_ = p.type == packet::kFollowerInfo && leader_->peer_cfg().is_voter(sid_);
      accepted_epoch_ = sdk::zxid_epoch(p.zxid);
      phase_ = Phase::kEpochAck;
      spdlog::info("learner {} ({}) connected as {}, accepted epoch {}", sid_, conn_->remote_address(),
                   participant_ ? "follower" : "observer", accepted_epoch_);
      leader_->learner_info(self);
      return;
    }
    case Phase::kEpochAck: {
      if (p.type != packet::kAckEpoch) {
        spdlog::warn("learner {} sent {} instead of ACKEPOCH; closing", sid_, packet_name(p.type));
        close();
        return;
      }
      Reader r(payload(p));
      int32_t current = r.read_int();
      if (!r.ok()) {
        close();
        return;
      }
      peer_last_zxid_ = p.zxid;
      phase_ = Phase::kSyncing;
      leader_->epoch_ack(self, current, p.zxid);
      return;
    }
    case Phase::kSyncing:
    case Phase::kNewLeaderAck:
      if (p.type == packet::kAck && p.zxid == sdk::make_zxid(leader_->epoch(), 0)) {
        phase_ = Phase::kBroadcast;
        leader_->newleader_ack(self);
        return;
      }
      if (p.type == packet::kAck) {
        leader_->ack(sid_, p.zxid);  // proposals acked while syncing still count
        return;
      }
      if (p.type == packet::kPing) {
        leader_->ping_reply(p);
        return;
      }
      spdlog::debug("learner {}: {} ignored while syncing", sid_, packet_name(p.type));
      return;
    case Phase::kBroadcast:
      switch (p.type) {
        case packet::kAck:
          if (sdk::zxid_counter(p.zxid) != 0) leader_->ack(sid_, p.zxid);
          return;
        case packet::kPing:
          leader_->ping_reply(p);
          return;
        case packet::kRequest:
          leader_->request(self, p);
          return;
        case packet::kRevalidate:
          leader_->revalidate(self, p);
          return;
        default:
          spdlog::warn("learner {}: unexpected {} packet, ignored", sid_, packet_name(p.type));
          return;
      }
  }
}

// ---------------------------------------------------------------------------------------
// Leader

Leader::Leader(QuorumPeer& peer)
    : peer_(peer),
      cfg_(peer.config()),
      acceptor_(std::make_unique<Acceptor>(*this)),
      proposal_stage_(std::make_unique<ProposalStage>(*this)),
      commit_stage_(std::make_unique<CommitStage>(*this)) {}

Leader::~Leader() { cleanup(); }

bool Leader::wait_for(std::unique_lock<std::mutex>& lk, int64_t timeout_ms,
                      const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  cv_.wait_until(lk, deadline, [&] { return shutdown_ || done(); });
  return !shutdown_ && done();
}

void Leader::shutdown(const std::string& why) {
  {
    std::lock_guard lk(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    shutdown_reason_ = why;
  }
  cv_.notify_all();
}

size_t Leader::learner_count() const {
  std::lock_guard lk(mu_);
  return handlers_.size();
}

std::vector<std::pair<std::string, std::string>> Leader::metrics() const {
  size_t learners = 0, followers = 0, observers = 0;
  {
    std::lock_guard lk(mu_);
    learners = handlers_.size();
    for (const auto& h : forwarding_) (h->participant() ? followers : observers)++;
  }
  int64_t since = serving_since_ms_.load();
  int64_t min_size = min_proposal_size_.load();
  return {{"zk_learners", std::to_string(learners)},
          {"zk_synced_followers", std::to_string(followers)},
          {"zk_synced_non_voting_followers", "0"},
          {"zk_synced_observers", std::to_string(observers)},
          {"zk_pending_syncs", "0"},
          {"zk_leader_uptime", std::to_string(since ? now_ms() - since : 0)},
          {"zk_last_proposal_size", std::to_string(last_proposal_size_.load())},
          {"zk_max_proposal_size", std::to_string(max_proposal_size_.load())},
          {"zk_min_proposal_size", std::to_string(min_size < 0 ? 0 : min_size)}};
}

size_t Leader::synced_follower_count() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& h : forwarding_) n += h->participant() ? 1 : 0;
  return n;
}

std::string Leader::lead() {
  PeerServices& svc = peer_.services();
  const int64_t my_id = cfg_.my_id;
  spdlog::info("LEADING: accepting learners on {}:{}", cfg_.me().host, cfg_.me().quorum_port);
  // The quorum port: retried briefly, a previous leadership may still be releasing it.
  for (int attempt = 0; attempt < 20 && !listener_; ++attempt) {
    auto l = svc.quorum_transport.listen(cfg_.me().host, cfg_.me().quorum_port, *acceptor_);
    if (l) {
      listener_ = std::move(l.value());
      break;
    }
    if (attempt == 19) return "cannot listen on the quorum port: " + l.status().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // ---- discovery: the new epoch is one past every accepted epoch of a quorum ----
  {
    std::unique_lock lk(mu_);
    max_accepted_epoch_ = std::max(max_accepted_epoch_, peer_.accepted_epoch());
    connecting_.insert(my_id);
    auto fixed = [&] { return cfg_.is_quorum({connecting_.begin(), connecting_.end()}); };
    if (!wait_for(lk, cfg_.init_timeout_ms(), fixed)) {
      return shutdown_ ? shutdown_reason_ : "no quorum of followers connected within initLimit";
    }
    epoch_ = max_accepted_epoch_ + 1;
  }
  // Durable before anyone hears of it.
  if (auto st = peer_.write_epoch(sdk::EpochKind::kAccepted, epoch_); !st) {
    return "cannot write acceptedEpoch: " + st.message();
  }
  spdlog::info("new epoch {} agreed with {}", epoch_.load(), [&] {
    std::lock_guard lk(mu_);
    std::string ids;
    for (auto id : connecting_) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    return ids;
  }());
  {
    // Learners that connected during discovery get LEADERINFO now; later ones at once.
    std::lock_guard lk(mu_);
    epoch_fixed_ = true;
    std::string info;
    Writer w(info);
    w.write_int(kLearnerProtocolVersion);
    std::string packet = make_packet(packet::kLeaderInfo, sdk::make_zxid(epoch_, 0), info);
    for (const auto& h : handlers_) {
      if (h->info_received_ && !h->leaderinfo_sent_) {
        h->leaderinfo_sent_ = true;
        h->send(packet);
      }
    }
  }

  // ---- a quorum acknowledges the epoch ----
  {
    std::unique_lock lk(mu_);
    epoch_acked_.insert(my_id);
    auto acked = [&] { return cfg_.is_quorum({epoch_acked_.begin(), epoch_acked_.end()}); };
    if (!wait_for(lk, cfg_.init_timeout_ms(), acked)) {
      return shutdown_ ? shutdown_reason_ : "no quorum acknowledged the new epoch within initLimit";
    }
    epoch_acked_quorum_ = true;
  }
  if (auto st = peer_.write_epoch(sdk::EpochKind::kCurrent, epoch_); !st) {
    return "cannot write currentEpoch: " + st.message();
  }
  // Learners already acknowledged start their synchronisation.
  std::vector<std::shared_ptr<LearnerHandler>> to_sync;
  {
    std::lock_guard lk(mu_);
    to_sync.swap(waiting_sync_);
  }
  for (auto& h : to_sync) start_sync(h);

  // ---- a quorum is synchronised (NEWLEADER acknowledged) ----
  {
    std::unique_lock lk(mu_);
    newleader_acked_.insert(my_id);
    auto synced = [&] { return cfg_.is_quorum({newleader_acked_.begin(), newleader_acked_.end()}); };
    if (!wait_for(lk, cfg_.init_timeout_ms(), synced)) {
      return shutdown_ ? shutdown_reason_ : "no quorum synchronised within initLimit";
    }
  }

  // ---- serve ----
  // zookeeper.testingonly.initialZxid moves the counter near its end, so that tests see it
  // roll over into a new election without four billion writes (as ZooKeeper's property does).
  int64_t first_counter = std::max<int64_t>(0, svc.ctx.config.initial_zxid_counter);
  svc.prep.reset(sdk::make_zxid(epoch_, first_counter));
  svc.prep.set_rollover_handler([this] { shutdown("the zxid counter is about to wrap"); });
  svc.sessions.set_expiry(true);
  peer_.set_vote_epoch(epoch_);
  auto pipeline = svc.make_pipeline({{"prep", &svc.prep},
                                     {"proposal", proposal_stage_.get()},
                                     {"sync", &svc.sync},
                                     {"commit", commit_stage_.get()},
                                     {"final", &svc.final_stage}});
  svc.ctx.remote_sync_done = std::make_shared<const server::ServerContext::RemoteSyncFn>(
      [this](sdk::ServerId sid) { send_sync(sid); });
  peer_.start_serving(std::move(pipeline), "leader");
  std::vector<std::shared_ptr<LearnerHandler>> ready;
  {
    std::lock_guard lk(mu_);
    serving_ = true;
    for (const auto& h : handlers_) {
      if (h->phase_ == LearnerHandler::Phase::kBroadcast) ready.push_back(h);
    }
  }
  for (auto& h : ready) send_uptodate(h);
  serving_since_ms_ = now_ms();
  spdlog::info("LEADING epoch {}: serving clients", epoch_.load());

  // ---- ticks: ping learners every half tick, check the quorum every tick ----
  const int64_t half_tick = std::max<int64_t>(1, cfg_.tick_time_ms / 2);
  int64_t next = now_ms() + half_tick;
  bool check = false;
  std::unique_lock lk(mu_);
  while (!shutdown_) {
    cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::milliseconds(next)),
                   [&] { return shutdown_; });
    if (shutdown_) break;
    next += half_tick;
    lk.unlock();
    int64_t now = now_ms();
    check = !check;
    if (check) tick(now);
    std::string ping = make_packet(packet::kPing, svc.prep.last_zxid());
    {
      std::lock_guard plk(mu_);
      for (const auto& h : forwarding_) h->send(ping);
    }
    lk.lock();
  }
  return shutdown_reason_;
}

void Leader::tick(int64_t now) {
  // A learner that has been silent for syncLimit ticks is dropped; the leader steps down
  // when the voters it still hears from (itself included) are no quorum.
  std::vector<std::shared_ptr<LearnerHandler>> dead;
  std::vector<sdk::ServerId> alive{cfg_.my_id};
  {
    std::lock_guard lk(mu_);
    for (const auto& h : forwarding_) {
      if (now - h->last_heard_ms() > cfg_.sync_timeout_ms()) dead.push_back(h);
      else if (h->participant()) alive.push_back(h->sid());
    }
  }
  for (auto& h : dead) {
    spdlog::warn("learner {} silent for more than syncLimit ({} ms); dropping it", h->sid(),
                 cfg_.sync_timeout_ms());
    h->close();
  }
  if (!cfg_.is_quorum(alive)) shutdown("lost the quorum of followers");
}

void Leader::learner_info(const std::shared_ptr<LearnerHandler>& h) {
  std::string packet;
  {
    std::lock_guard lk(mu_);
    h->info_received_ = true;
    if (h->leaderinfo_sent_) return;
    if (!epoch_fixed_) {
      max_accepted_epoch_ = std::max(max_accepted_epoch_, h->accepted_epoch_);
      if (h->participant()) connecting_.insert(h->sid());
      cv_.notify_all();
      return;  // LEADERINFO goes out when the epoch is fixed
    }
    std::string info;
    Writer w(info);
    w.write_int(kLearnerProtocolVersion);
    packet = make_packet(packet::kLeaderInfo, sdk::make_zxid(epoch_, 0), info);
    h->leaderinfo_sent_ = true;
    h->send(packet);
  }
}

void Leader::epoch_ack(const std::shared_ptr<LearnerHandler>& h, int64_t current_epoch, Zxid last) {
  int64_t my_current = peer_.current_epoch();
  Zxid my_last = peer_.services().tree.last_processed_zxid();
  if (current_epoch != -1) {
    // A follower more recent than the leader means the election went wrong: give up.
    if (current_epoch > my_current || (current_epoch == my_current && last > my_last)) {
      spdlog::warn("follower {} is ahead of this leader (epoch {}, zxid {}); stepping down",
                   h->sid(), current_epoch, hex(last));
      h->close();
      shutdown("a follower is more recent than the leader");
      return;
    }
  }
  bool sync_now = false;
  {
    std::lock_guard lk(mu_);
    if (current_epoch != -1 && h->participant() && last != -1) epoch_acked_.insert(h->sid());
    if (epoch_acked_quorum_) sync_now = true;
    else waiting_sync_.push_back(h);
  }
  cv_.notify_all();
  if (sync_now) start_sync(h);
}

void Leader::start_sync(const std::shared_ptr<LearnerHandler>& h) {
  PeerServices& svc = peer_.services();
  const Zxid peer_last = h->peer_last_zxid_;
  std::string head;       // DIFF / TRUNC / SNAP
  std::string tail;       // proposals and commits after it, then NEWLEADER
  bool snap = false;
  Zxid snap_zxid = 0;
  {
    std::lock_guard lk(mu_);
    Zxid last_applied = svc.tree.last_processed_zxid();
    auto committed = svc.committed_log.entries();
    Zxid max_committed = committed.empty() ? last_applied : committed.back().first;
    Zxid min_committed = committed.empty() ? last_applied : committed.front().first;
    bool new_epoch_zxid = sdk::zxid_counter(peer_last) == 0;
    std::vector<std::pair<Zxid, std::string>> history;
    if (peer_last == max_committed) {
      head = make_packet(packet::kDiff, peer_last);
    } else if (peer_last > max_committed && !new_epoch_zxid) {
      head = make_packet(packet::kTrunc, max_committed);
    } else {
      if (peer_last < min_committed && peer_last > 0) {
        // Older than the in-memory log: read the on-disk log from there, if it reaches back.
        if (auto it = svc.storage.read_log(peer_last); it) {
          auto& log = *it.value();
          size_t count = 0;
          bool reaches = false;
          while (log.next() && count < 200000) {
            if (count == 0) reaches = log.zxid() <= peer_last;
            if (log.zxid() >= min_committed && !committed.empty()) break;
            history.emplace_back(log.zxid(), std::string(log.bytes()));
            ++count;
          }
          if (!reaches || !log.status()) history.clear();
        }
      }
      // The in-memory log continues the on-disk one; a learner older than both gets a SNAP.
      if (peer_last >= min_committed || !history.empty()) {
        history.insert(history.end(), committed.begin(), committed.end());
      }
      bool started = false;
      Zxid prev = 0;
      std::string body;
      for (const auto& [z, txn] : history) {
        if (z < peer_last) {
          prev = z;
          continue;
        }
        if (!started) {
          started = true;
          if (z == peer_last) {
            head = make_packet(packet::kDiff, max_committed);
            continue;
          }
          if (new_epoch_zxid) {
            head = make_packet(packet::kDiff, max_committed);
          } else if (sdk::zxid_epoch(z) != sdk::zxid_epoch(peer_last) || prev == 0) {
            snap = true;
            break;
          } else {
            head = make_packet(packet::kTrunc, prev);
          }
        }
        body += make_packet(packet::kProposal, z, txn);
        body += make_packet(packet::kCommit, z);
      }
      // Nothing to send to a peer at a new-epoch zxid inside the history: it is in sync. A
      // peer older than every log held here gets a SNAP instead.
      if (!snap && !started && new_epoch_zxid && !history.empty()) {
        head = make_packet(packet::kDiff, max_committed);
      }
      if (!snap && head.empty()) snap = true;
      if (!snap) tail = std::move(body);
    }
    if (snap) {
      head.clear();
      tail.clear();
      snap_zxid = last_applied;
      // Committed after the tree's state that will be streamed: sent again (the learner
      // tolerates overlap, as with a fuzzy snapshot).
      for (const auto& [z, txn] : committed) {
        if (z <= snap_zxid) continue;
        tail += make_packet(packet::kProposal, z, txn);
        tail += make_packet(packet::kCommit, z);
      }
    }
    // Proposals not committed yet: followers get them (they will ack them); observers only
    // learn them once committed.
    if (h->participant()) {
      for (const auto& [z, p] : proposals_) {
        if (p.txn) tail += make_packet(packet::kProposal, z, *p.txn);
      }
    }
    tail += make_packet(packet::kNewLeader, sdk::make_zxid(epoch_, 0), cfg_.config_text());
    {
      std::lock_guard olk(h->out_mu_);
      h->holding_ = true;
      h->held_.clear();
    }
    forwarding_.push_back(h);
  }
  // Outside the leader's lock: the (possibly long) synchronisation itself. Packets forwarded
  // meanwhile wait in the handler until it is written.
  if (snap) {
    spdlog::info("syncing learner {} with SNAP at {} (it has {})", h->sid(), hex(snap_zxid), hex(peer_last));
    std::string p = make_packet(packet::kSnap, snap_zxid);
    h->conn_->send(p.data(), p.size());
    SnapStreamWriter stream([&](std::string_view chunk) { h->conn_->send(chunk.data(), chunk.size()); });
    std::vector<sdk::SessionRecord> sessions;
    for (const auto& s : svc.sessions.all()) sessions.push_back({s->id, s->timeout_ms.load()});
    stream.write_sessions(sessions);
    svc.tree.serialize(stream);
    stream.finish(std::nullopt, false);
  } else {
    Reader r(head);
    int32_t type = r.read_int();
    Zxid z = r.read_long();
    spdlog::info("syncing learner {} with {} {} (it has {})", h->sid(), packet_name(type), hex(z),
                 hex(peer_last));
    h->conn_->send(head.data(), head.size());
  }
  std::lock_guard olk(h->out_mu_);
  h->conn_->send(tail.data(), tail.size());
  if (!h->held_.empty()) h->conn_->send(h->held_.data(), h->held_.size());
  h->held_.clear();
  h->holding_ = false;
}

void Leader::newleader_ack(const std::shared_ptr<LearnerHandler>& h) {
  bool serving;
  {
    std::lock_guard lk(mu_);
    if (h->participant()) newleader_acked_.insert(h->sid());
    serving = serving_;
  }
  cv_.notify_all();
  if (serving) send_uptodate(h);
}

void Leader::send_uptodate(const std::shared_ptr<LearnerHandler>& h) {
  if (h->uptodate_sent_.exchange(true)) return;
  h->send(make_packet(packet::kUpToDate, -1));
  spdlog::info("learner {} is up to date", h->sid());
}

void Leader::learner_closed(LearnerHandler& h) {
  std::lock_guard lk(mu_);
  auto drop = [&](std::vector<std::shared_ptr<LearnerHandler>>& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& p) { return p.get() == &h; }), v.end());
  };
  drop(handlers_);
  drop(forwarding_);
  drop(waiting_sync_);
}

void Leader::ack(sdk::ServerId sid, Zxid zxid) {
  // Counted on the sync thread, where commits happen in order.
  peer_.services().sync.enqueue_action([this, self = shared_from_this(), sid, zxid] {
    {
      std::lock_guard lk(mu_);
      auto it = proposals_.find(zxid);
      if (it == proposals_.end()) return;  // already committed, or unknown
      it->second.acks.insert(sid);
    }
    try_commit(nullptr);
  });
}

void Leader::on_logged(pipeline::Request& r) {
  if (r.has_txn) {
    std::lock_guard lk(mu_);
    Proposal& p = proposals_[r.txn_zxid];
    p.txn = &r.txn;
    p.logged = true;
    pending_.push_back({&r, r.txn_zxid});
    last_logged_ = r.txn_zxid;
  } else {
    pending_.push_back({&r, 0});
  }
}

bool Leader::committable(const Proposal& p) const {
  if (!p.logged) return false;
  std::vector<sdk::ServerId> voters(p.acks.begin(), p.acks.end());
  voters.push_back(cfg_.my_id);
  return cfg_.is_quorum(voters);
}

bool Leader::try_commit(pipeline::Request* current) {
  PeerServices& svc = peer_.services();
  bool current_ready = false;
  while (!pending_.empty()) {
    Pending next = pending_.front();
    if (next.zxid != 0) {
      std::string txn;
      {
        std::lock_guard lk(mu_);
        auto it = proposals_.find(next.zxid);
        if (it == proposals_.end() || !committable(it->second)) break;
        txn = *it->second.txn;
        proposals_.erase(it);
        svc.committed_log.add(next.zxid, txn);
        std::string commit = make_packet(packet::kCommit, next.zxid);
        std::string inform;
        for (const auto& h : forwarding_) {
          if (h->participant()) {
            h->send(commit);
          } else {
            if (inform.empty()) inform = make_packet(packet::kInform, next.zxid, txn);
            h->send(inform);
          }
        }
      }
    }
    pending_.pop_front();
    if (next.request == current) current_ready = true;
    else next.request->pipeline->resume(*next.request);
  }
  return current_ready;
}

void Leader::send_sync(sdk::ServerId sid) {
  std::string p = make_packet(packet::kSync, 0);
  std::lock_guard lk(mu_);
  for (const auto& h : forwarding_) {
    if (h->sid() == sid) h->send(p);
  }
}

void Leader::request(const std::shared_ptr<LearnerHandler>& h, const QuorumPacket& p) {
  std::string_view data = payload(p);
  Reader r(data);
  auto req = std::make_unique<pipeline::Request>();
  req->session_id = r.read_long();
  req->cxid = r.read_int();
  req->type = static_cast<sdk::OpCode>(r.read_int());
  if (!r.ok()) {
    spdlog::warn("learner {}: malformed REQUEST; closing", h->sid());
    h->close();
    return;
  }
  req->payload.assign(reinterpret_cast<const char*>(r.position()), r.remaining());
  req->origin = h->sid();
  req->forwarded_auth = p.authinfo.value_or(std::vector<sdk::Id>{});
  req->wire_size = data.size();
  req->received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();
  if (req->type == sdk::OpCode::kCreateSession) {
    Reader body(req->payload);
    req->session_timeout = body.read_int();
  }
  if (!req->payload.empty() && req->type != sdk::OpCode::kMulti &&
      req->type != sdk::OpCode::kCreateSession && req->type != sdk::OpCode::kCloseSession) {
    Reader pr(req->payload);
    if (auto path = pr.read_optional_view()) req->first_path.assign(*path);
  }
  pipeline::Pipeline* pl = peer_.services().ctx.active_pipeline.load();
  if (!pl) return;  // stepping down
  pl->submit(std::move(req));
}

void Leader::revalidate(const std::shared_ptr<LearnerHandler>& h, const QuorumPacket& p) {
  Reader r(payload(p));
  sdk::SessionId id = r.read_long();
  int32_t timeout = r.read_int();
  auto& sessions = peer_.services().sessions;
  auto s = sessions.get(id);
  bool valid = s && !s->closing.load();
  if (valid) {
    s->timeout_ms = timeout;
    sessions.touch(*s);
    s->owner = h->sid();
  }
  std::string data;
  Writer w(data);
  w.write_long(id);
  w.write_bool(valid);
  h->send(make_packet(packet::kRevalidate, p.zxid, data));
}

void Leader::ping_reply(const QuorumPacket& p) {
  if (!p.data) return;
  Reader r(*p.data);
  auto& sessions = peer_.services().sessions;
  while (r.remaining() >= 12) {
    sdk::SessionId id = r.read_long();
    int32_t timeout = r.read_int();
    if (auto s = sessions.get(id)) {
      (void)timeout;
      sessions.touch(*s);
    }
  }
}

void Leader::settle() {
  // Runs after the sync thread has drained: what is still pending was logged here but never
  // committed. The tree takes it (this peer's log is what it will propose or be truncated
  // to), and the requests waiting for it are dropped with their connections.
  PeerServices& svc = peer_.services();
  for (const Pending& p : pending_) {
    if (p.zxid != 0) {
      sdk::jute::TxnHeader h;
      svc.final_stage.apply_txn(p.request->txn, nullptr, h);
      // It is part of this peer's history now, as everything it has logged.
      svc.committed_log.add(p.zxid, p.request->txn);
    }
    if (!p.request->in_session_queue) delete p.request;
  }
  pending_.clear();
  std::lock_guard lk(mu_);
  proposals_.clear();
}

void Leader::cleanup() {
  {
    std::lock_guard lk(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  if (listener_) {
    listener_->close();
    listener_.reset();
  }
  std::vector<std::shared_ptr<LearnerHandler>> all;
  {
    std::lock_guard lk(mu_);
    all = handlers_;
  }
  for (auto& h : all) h->close();
}

}  // namespace paddock::quorum
