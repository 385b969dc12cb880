#include "quorum/follower.hpp"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "paddock/sdk/jute.hpp"
#include "pipeline/final_stage.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/prep_stage.hpp"
#include "pipeline/sync_stage.hpp"
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

// A tree being filled from the leader's SNAP stream.
class SnapLoad {
 public:
  explicit SnapLoad(tree::DataTree& tree) : loader(tree.begin_load()), reader(*loader) {}
  std::unique_ptr<tree::DataTree::Loader> loader;
  SnapStreamReader reader;
};

// The learner's first core stage: a client write (or sync) goes to the leader and waits in
// its session's queue for its commit; a read waits only behind its session's writes.
class Follower::ForwardStage final : public sdk::Processor {
 public:
  explicit ForwardStage(Follower& f) : follower_(f) {}
  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext&) override { return {}; }
  void stop() override {}
  sdk::Decision process(sdk::RequestView& view) override {
    auto& r = static_cast<pipeline::Request&>(view);
    bool write = !r.rejected && (r.is_write() || r.type == sdk::OpCode::kSync);
    if (!write) {
      return pipeline::SyncStage::park_behind_session(r) ? sdk::Decision::deferred()
                                                         : sdk::Decision::next();
    }
    r.forwarded = true;
    pipeline::SyncStage::enter_session_queue(r);
    follower_.forward(r);
    return sdk::Decision::deferred();
  }

 private:
  Follower& follower_;
};

Follower::Follower(QuorumPeer& peer, sdk::Vote vote)
    : peer_(peer), cfg_(peer.config()), vote_(vote),
      forward_stage_(std::make_unique<ForwardStage>(*this)) {}

Follower::~Follower() {
  if (conn_) conn_->close();
}

void Follower::shutdown(const std::string& why) {
  {
    std::lock_guard lk(mu_);
    if (done_) return;
    done_ = true;
    why_ = why;
  }
  cv_.notify_all();
  if (conn_) conn_->close();
}

void Follower::fail(const std::string& why) {
  spdlog::warn("following {}: {}", vote_.leader, why);
  shutdown(why);
}

void Follower::send(const std::string& packet) {
  if (conn_) conn_->send(packet.data(), packet.size());
}

std::string Follower::follow() {
  PeerServices& svc = peer_.services();
  auto it = cfg_.servers.find(vote_.leader);
  if (it == cfg_.servers.end()) return "the elected leader " + std::to_string(vote_.leader) + " is not in the configuration";
  const QuorumServer& leader = it->second;
  spdlog::info("FOLLOWING {} at {}:{}", vote_.leader, leader.host, leader.quorum_port);

  // Connect: a few attempts, all within initLimit ticks.
  // The new leader opens its port the moment its own election ends, which may be a moment
  // after ours: retry quickly at first, then every 100 ms (ZooKeeper's retry delay).
  const int64_t deadline = now_ms() + cfg_.init_timeout_ms();
  for (int attempt = 0; attempt < 20 && !conn_ && now_ms() < deadline; ++attempt) {
    std::mutex m;
    std::condition_variable c;
    bool finished = false;
    sdk::Result<std::shared_ptr<sdk::Connection>> result = sdk::Status::error("not connected");
    svc.quorum_transport.connect(leader.host, leader.quorum_port,
                                 [&](sdk::Result<std::shared_ptr<sdk::Connection>> r) {
                                   std::lock_guard lk(m);
                                   result = std::move(r);
                                   finished = true;
                                   c.notify_all();
                                 });
    {
      std::unique_lock lk(m);
      c.wait_for(lk, std::chrono::milliseconds(std::max<int64_t>(100, deadline - now_ms())),
                 [&] { return finished; });
      if (!finished) break;
    }
    if (result) {
      conn_ = result.value();
    } else {
      spdlog::info("cannot reach leader {}: {}", vote_.leader, result.status().message());
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100, 5 << std::min(attempt, 5))));
    }
    if (peer_.stopping()) return "shutting down";
  }
  if (!conn_) return "cannot connect to the leader";

  last_heard_ms_ = now_ms();
  conn_->start(shared_from_this());
  // FOLLOWERINFO (OBSERVERINFO for observers): who we are, the epoch we accepted.
  std::string info;
  Writer w(info);
  w.write_long(cfg_.my_id);
  w.write_int(kLearnerProtocolVersion);
  w.write_long(0);  // config version
  int32_t type = peer_.role() ? peer_.role()->registration_packet() : packet::kFollowerInfo;
  send(make_packet(type, sdk::make_zxid(peer_.accepted_epoch(), 0), info));

  // Watch the leader: initLimit ticks until synchronised, then syncLimit ticks of silence.
  std::unique_lock lk(mu_);
  while (!done_) {
    cv_.wait_for(lk, std::chrono::milliseconds(std::min<int64_t>(100, cfg_.tick_time_ms)),
                 [&] { return done_; });
    if (done_) break;
    int64_t limit = synced_ ? cfg_.sync_timeout_ms() : cfg_.init_timeout_ms();
    if (now_ms() - last_heard_ms_.load() > limit) {
      lk.unlock();
      fail(std::string("nothing heard from the leader for ") +
           (synced_ ? "syncLimit" : "initLimit") + " ticks");
      lk.lock();
    }
    if (peer_.stopping()) {
      done_ = true;
      why_ = "shutting down";
    }
  }
  return why_;
}

void Follower::on_closed(const std::string& reason) {
  shutdown(reason.empty() ? "the leader closed the connection" : "leader connection lost: " + reason);
}

void Follower::on_receive(const uint8_t* data, size_t size) {
  last_heard_ms_ = now_ms();
  parser_.feed(data, size);
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (done_) return;
    }
    if (phase_ == Phase::kSnapStream) {
      size_t used = 0;
      auto r = snap_load_->reader.feed(parser_.pending(), used);
      parser_.consume(used);
      if (r == SnapStreamReader::Result::kNeedMore) return;
      if (r == SnapStreamReader::Result::kError) {
        fail("bad snapshot stream: " + snap_load_->reader.error());
        return;
      }
      PeerServices& svc = peer_.services();
      if (auto st = snap_load_->loader->finish(); !st) {
        fail("bad snapshot from the leader: " + st.message());
        return;
      }
      svc.sessions.clear();
      for (const auto& s : snap_load_->loader->sessions()) svc.sessions.add(s.id, s.timeout_ms);
      snap_load_.reset();
      svc.tree.set_last_processed_zxid(snap_zxid_);
      svc.committed_log.clear();
      svc.prep.reset(snap_zxid_);
      spdlog::info("loaded the leader's snapshot at {} ({} nodes)", hex(snap_zxid_), svc.tree.node_count());
      phase_ = Phase::kSyncing;
      continue;
    }
    QuorumPacket p;
    auto r = parser_.next(p);
    if (r == PacketParser::Result::kNeedMore) return;
    if (r == PacketParser::Result::kError) {
      fail("malformed packet from the leader");
      return;
    }
    handle(p);
  }
}

void Follower::handle(QuorumPacket& p) {
  PeerServices& svc = peer_.services();
  switch (phase_) {
    case Phase::kLeaderInfo: {
      if (p.type != packet::kLeaderInfo) {
        fail(std::string("expected LEADERINFO, got ") + packet_name(p.type));
        return;
      }
      new_epoch_ = sdk::zxid_epoch(p.zxid);
      int64_t accepted = peer_.accepted_epoch();
      int32_t reported = static_cast<int32_t>(peer_.current_epoch());
      if (new_epoch_ > accepted) {
        if (auto st = peer_.write_epoch(sdk::EpochKind::kAccepted, new_epoch_); !st) {
          fail("cannot write acceptedEpoch: " + st.message());
          return;
        }
      } else if (new_epoch_ == accepted) {
        reported = -1;  // already acknowledged this epoch: not counted again
      } else {
        fail("the leader's epoch " + std::to_string(new_epoch_) + " is older than our accepted epoch " +
             std::to_string(accepted));
        return;
      }
      std::string data;
      Writer w(data);
      w.write_int(reported);
      send(make_packet(packet::kAckEpoch, svc.tree.last_processed_zxid(), data));
      phase_ = Phase::kSyncStart;
      return;
    }
    case Phase::kSyncStart:
      switch (p.type) {
        case packet::kDiff:
          spdlog::info("synchronising with the leader by DIFF (leader at {})", hex(p.zxid));
          snapshot_needed_ = false;
          phase_ = Phase::kSyncing;
          return;
        case packet::kTrunc: {
          spdlog::info("synchronising with the leader by TRUNC to {}", hex(p.zxid));
          if (auto st = svc.storage.truncate_log(p.zxid); !st) {
            fail("cannot truncate the log: " + st.message());
            return;
          }
          auto restored = svc.database.reload();
          if (!restored) {
            fail("cannot reload the database after truncation: " + restored.status().message());
            return;
          }
          svc.prep.reset(svc.tree.last_processed_zxid());
          snapshot_needed_ = true;
          phase_ = Phase::kSyncing;
          return;
        }
        case packet::kSnap:
          spdlog::info("synchronising with the leader by SNAP at {}", hex(p.zxid));
          snap_zxid_ = p.zxid;
          snapshot_needed_ = true;
          svc.database.wait_for_snapshot();
          snap_load_ = std::make_unique<SnapLoad>(svc.tree);
          phase_ = Phase::kSnapStream;
          return;
        default:
          fail(std::string("expected DIFF, TRUNC or SNAP, got ") + packet_name(p.type));
          return;
      }
    case Phase::kSnapStream:
      return;  // handled in on_receive
    case Phase::kSyncing:
      switch (p.type) {
        case packet::kProposal:
          sync_txns_.push_back({p.zxid, p.data.value_or(std::string()), false});
          return;
        case packet::kCommit: {
          // Applied at once (nothing is served yet); logged at NEWLEADER.
          for (auto& t : sync_txns_) {
            if (t.zxid == p.zxid && !t.committed) {
              sdk::jute::TxnHeader h;
              Reader rd(t.bytes);
              h = sdk::jute::read_txn_header(rd);
              svc.tree.process_txn(h, rd, /*replay=*/true);
              if (h.type == static_cast<int32_t>(sdk::OpCode::kCreateSession)) {
                Reader body(t.bytes);
                body.read_raw(sdk::jute::kTxnHeaderSize);
                svc.sessions.add(h.client_id, body.read_int());
              } else if (h.type == static_cast<int32_t>(sdk::OpCode::kCloseSession)) {
                svc.sessions.remove(h.client_id);
              }
              svc.committed_log.add(t.zxid, t.bytes);
              t.committed = true;
              break;
            }
          }
          return;
        }
        case packet::kNewLeader: {
          // Persist: a snapshot when the tree was replaced, the proposals of the sync, then
          // the new epoch; only then acknowledge.
          if (snapshot_needed_) {
            if (auto st = svc.database.snapshot(true); !st) {
              fail("cannot write the snapshot after synchronisation: " + st.message());
              return;
            }
          }
          auto self = shared_from_this();
          for (auto& t : sync_txns_) {
            bool committed = t.committed;
            Zxid z = t.zxid;
            std::string bytes = t.bytes;
            svc.sync.enqueue_txn(t.zxid, std::move(t.bytes), [this, self, committed, z, bytes]() mutable {
              if (!committed) pending_.push_back({z, std::move(bytes), false});
            });
          }
          sync_txns_.clear();
          int64_t epoch = new_epoch_;
          svc.sync.enqueue_action([this, self, epoch] {
            if (auto st = peer_.write_epoch(sdk::EpochKind::kCurrent, epoch); !st) {
              fail("cannot write currentEpoch: " + st.message());
              return;
            }
            send(make_packet(packet::kAck, sdk::make_zxid(epoch, 0)));
          });
          synced_ = true;
          phase_ = Phase::kUpToDate;
          return;
        }
        case packet::kPing:
          send(make_packet(packet::kPing, p.zxid));
          return;
        default:
          spdlog::debug("{} ignored while synchronising", packet_name(p.type));
          return;
      }
    case Phase::kUpToDate:
    case Phase::kBroadcast:
      switch (p.type) {
        case packet::kUpToDate: {
          if (phase_ == Phase::kBroadcast) return;
          phase_ = Phase::kBroadcast;
          auto self = shared_from_this();
          int64_t epoch = new_epoch_;
          svc.sync.enqueue_action([this, self, epoch] {
            send(make_packet(packet::kAck, sdk::make_zxid(epoch, 0)));
            // The proposals persisted at NEWLEADER are acknowledged now (ZooKeeper 3.8.5+).
            for (const auto& t : pending_) send(make_packet(packet::kAck, t.zxid));
            PeerServices& s = peer_.services();
            s.prep.reset(s.tree.last_processed_zxid());
            peer_.set_vote_epoch(epoch);
            auto pipeline = s.make_pipeline({{"forward", forward_stage_.get()}, {"final", &s.final_stage}});
            s.ctx.revalidate_remote = std::make_shared<const server::ServerContext::RevalidateFn>(
                [this, self](sdk::SessionId id, int32_t timeout, std::function<void(bool)> done) {
                  revalidate(id, timeout, std::move(done));
                });
            peer_.start_serving(std::move(pipeline), peer_.learner_mode());
            spdlog::info("FOLLOWING {} in epoch {}: serving clients", vote_.leader, epoch);
          });
          return;
        }
        case packet::kProposal: {
          if (peer_.role() && !peer_.role()->acknowledges_proposals()) {
            spdlog::warn("PROPOSAL {} ignored: this learner does not take part in proposals", hex(p.zxid));
            return;
          }
          auto self = shared_from_this();
          Zxid z = p.zxid;
          std::string bytes = p.data.value_or(std::string());
          std::string copy = bytes;
          svc.sync.enqueue_txn(z, std::move(copy), [this, self, z, bytes]() mutable {
            pending_.push_back({z, std::move(bytes), false});
            send(make_packet(packet::kAck, z));
          });
          return;
        }
        case packet::kCommit: {
          auto self = shared_from_this();
          Zxid z = p.zxid;
          svc.sync.enqueue_action([this, self, z] { apply_commit(z); });
          return;
        }
        case packet::kPing: {
          // The reply carries the sessions our clients kept alive since the last one.
          std::string data;
          Writer w(data);
          for (const auto& [id, timeout] : svc.sessions.take_touched()) {
            w.write_long(id);
            w.write_int(timeout);
          }
          send(make_packet(packet::kPing, p.zxid, data));
          return;
        }
        case packet::kSync: {
          auto self = shared_from_this();
          svc.sync.enqueue_action([this, self] { answer_sync(); });
          return;
        }
        case packet::kRevalidate: {
          Reader r(payload(p));
          sdk::SessionId id = r.read_long();
          bool valid = r.read_bool();
          std::vector<std::function<void(bool)>> done;
          {
            std::lock_guard lk(waiters_mu_);
            auto it = revalidations_.find(id);
            if (it != revalidations_.end()) {
              done = std::move(it->second);
              revalidations_.erase(it);
            }
          }
          for (auto& d : done) d(valid);
          return;
        }
        default:
          if (peer_.role() && peer_.role()->on_packet(p.type, p.zxid, payload(p), *this)) return;
          spdlog::warn("unexpected {} from the leader, ignored", packet_name(p.type));
          return;
      }
  }
}

void Follower::send(int32_t type, Zxid zxid, std::string_view data) {
  send(make_packet(type, zxid, data));
}

void Follower::log_and_apply(Zxid zxid, std::string txn_entry) {
  auto self = shared_from_this();
  std::string copy = txn_entry;
  peer_.services().sync.enqueue_txn(zxid, std::move(copy), [this, self, zxid, bytes = std::move(txn_entry)]() mutable {
    apply_committed(zxid, std::move(bytes));
  });
}

void Follower::forward(pipeline::Request& r) {
  if (r.type == sdk::OpCode::kSync) {
    std::lock_guard lk(waiters_mu_);
    sync_waiters_.push_back(&r);
  }
  std::string data;
  Writer w(data);
  w.write_long(r.session_id);
  w.write_int(r.cxid);
  w.write_int(static_cast<int32_t>(r.type));
  if (r.type == sdk::OpCode::kCreateSession) {
    w.write_int(r.session_timeout);
  } else {
    w.write_raw(r.payload);
  }
  QuorumPacket p{packet::kRequest, -1, std::move(data), std::nullopt};
  p.authinfo = r.cnxn ? r.cnxn->auth_ids() : std::vector<sdk::Id>{};
  std::string out;
  encode_packet(out, p);
  send(out);
}

void Follower::revalidate(sdk::SessionId id, int32_t timeout, std::function<void(bool)> done) {
  bool first;
  {
    std::lock_guard lk(waiters_mu_);
    auto& list = revalidations_[id];
    first = list.empty();
    list.push_back(std::move(done));
  }
  if (!first) return;
  std::string data;
  Writer w(data);
  w.write_long(id);
  w.write_int(timeout);
  send(make_packet(packet::kRevalidate, -1, data));
}

void Follower::apply_commit(Zxid zxid) {
  PeerServices& svc = peer_.services();
  if (pending_.empty() || pending_.front().zxid != zxid) {
    fail("COMMIT " + hex(zxid) + " does not match the oldest pending proposal " +
         (pending_.empty() ? std::string("(none)") : hex(pending_.front().zxid)));
    return;
  }
  Txn t = std::move(pending_.front());
  pending_.pop_front();
  apply_committed(zxid, std::move(t.bytes));
}

void Follower::apply_committed(Zxid zxid, std::string bytes) {
  PeerServices& svc = peer_.services();
  svc.committed_log.add(zxid, bytes);
  Txn t{zxid, std::move(bytes), true};
  Reader hr(t.bytes);
  sdk::jute::TxnHeader h = sdk::jute::read_txn_header(hr);
  // A transaction of one of our clients answers its request, which waits at the head of its
  // session's queue; anyone else's is applied as it is.
  if (auto session = svc.sessions.get(h.client_id)) {
    pipeline::Request* mine = nullptr;
    {
      std::lock_guard lk(session->mu);
      if (!session->in_flight.empty()) {
        pipeline::Request* front = session->in_flight.front();
        if (front->forwarded && !front->has_txn && front->cxid == h.cxid &&
            (static_cast<int32_t>(front->type) == h.type || h.type == static_cast<int32_t>(sdk::OpCode::kError))) {
          mine = front;
        }
      }
    }
    if (mine) {
      mine->txn = std::move(t.bytes);
      mine->txn_zxid = zxid;
      mine->has_txn = true;
      mine->pipeline->resume(*mine);
      return;
    }
  }
  sdk::jute::TxnHeader applied;
  svc.final_stage.apply_txn(t.bytes, nullptr, applied);
}

void Follower::answer_sync() {
  pipeline::Request* r = nullptr;
  {
    std::lock_guard lk(waiters_mu_);
    if (sync_waiters_.empty()) return;
    r = sync_waiters_.front();
    sync_waiters_.pop_front();
  }
  r->pipeline->resume(*r);
}

void Follower::settle() {
  PeerServices& svc = peer_.services();
  for (auto& t : pending_) {
    sdk::jute::TxnHeader h;
    svc.final_stage.apply_txn(t.bytes, nullptr, h);
    // It is part of this peer's history now, as everything it has logged.
    svc.committed_log.add(t.zxid, t.bytes);
  }
  pending_.clear();
  std::lock_guard lk(waiters_mu_);
  sync_waiters_.clear();  // the requests themselves go with their sessions' queues
  for (auto& [id, done] : revalidations_) {
    for (auto& d : done) d(false);
  }
  revalidations_.clear();
}

}  // namespace paddock::quorum
