#include "server/database.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "paddock/sdk/jute.hpp"
#include "quorum/committed_log.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"

namespace paddock::server {

using sdk::OpCode;

namespace {
int64_t wall_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

Database::~Database() {
  stop_autopurge();
  wait_for_snapshot();
}

sdk::Status Database::purge(int retain) {
  std::lock_guard lk(storage_mu_);
  return storage_.purge(retain);
}

void Database::start_autopurge(int interval_hours, int retain) {
  if (interval_hours <= 0) return;
  spdlog::info("autopurge every {} h, keeping {} snapshots", interval_hours, retain);
  purger_ = std::thread([this, interval_hours, retain] {
    std::unique_lock lk(purge_mu_);
    while (!purge_cv_.wait_for(lk, std::chrono::hours(interval_hours), [this] { return purge_stop_; })) {
      lk.unlock();
      if (auto st = purge(retain); !st) spdlog::warn("autopurge failed: {}", st.message());
      else spdlog::info("autopurge done, kept the newest {} snapshots", retain);
      lk.lock();
    }
  });
}

void Database::stop_autopurge() {
  {
    std::lock_guard lk(purge_mu_);
    purge_stop_ = true;
  }
  purge_cv_.notify_all();
  if (purger_.joinable()) purger_.join();
}

sdk::Result<Database::Restored> Database::restore() {
  Restored out;
  auto snaps = storage_.list_snapshots();
  if (!snaps) return snaps.status();
  std::vector<sdk::SessionRecord> sessions;
  size_t tried = 0;
  for (const auto& snap : snaps.value()) {
    if (++tried > 100) break;
    auto loader = tree_.begin_load();
    sdk::Status st = storage_.load_snapshot(snap, *loader);
    if (st) st = loader->finish();
    if (st) {
      out.last_zxid = snap.zxid;
      out.had_snapshot = true;
      sessions = loader->sessions();
      if (stats_) stats_->snapshot_loaded(snap.zxid, wall_seconds());  // metrics: last_snapshot
      spdlog::info("loaded snapshot {} ({} bytes)", snap.name, snap.size_bytes);
      break;
    }
    spdlog::warn("snapshot {} is not usable ({}); trying an older one", snap.name, st.message());
  }
  if (!out.had_snapshot) {
    tree_.reset();
    auto last = storage_.last_logged_zxid();
    if (!last) return last.status();
    if (last.value() > 0) {
      return sdk::Status::error(
          "the transaction log reaches zxid 0x" + fmt::format("{:x}", last.value()) +
          " but no valid snapshot was found; refusing to start on a partial database");
    }
  }
  tree_.set_last_processed_zxid(out.last_zxid);
  for (const auto& s : sessions) sessions_.add(s.id, s.timeout_ms);

  auto it = storage_.read_log(out.last_zxid + 1);
  if (!it) return it.status();
  auto& log = *it.value();
  while (log.next()) {
    std::string_view bytes = log.bytes();
    sdk::jute::Reader r(bytes);
    sdk::jute::TxnHeader h = sdk::jute::read_txn_header(r);
    if (!r.ok()) {
      return sdk::Status::error("transaction at zxid 0x" + fmt::format("{:x}", log.zxid()) +
                                " is shorter than its header");
    }
    if (h.zxid <= out.last_zxid) continue;
    switch (static_cast<OpCode>(h.type)) {
      case OpCode::kCreateSession: {
        int32_t timeout = r.read_int();
        sessions_.add(h.client_id, timeout);
        break;
      }
      case OpCode::kCloseSession:
        sessions_.remove(h.client_id);
        tree_.process_txn(h, r, /*replay=*/true);
        break;
      default:
        tree_.process_txn(h, r, /*replay=*/true);
        break;
    }
    tree_.set_last_processed_zxid(h.zxid);
    if (committed_log_) committed_log_->add(h.zxid, std::string(bytes));
    out.last_zxid = h.zxid;
    ++out.txns_replayed;
  }
  if (auto st = log.status(); !st) return st;
  out.sessions = sessions_.size();
  return out;
}

sdk::Result<Database::Restored> Database::reload() {
  wait_for_snapshot();
  sessions_.clear();
  if (committed_log_) committed_log_->clear();
  return restore();
}

sdk::Status Database::snapshot(bool fsync) {
  std::lock_guard storage_lk(storage_mu_);
  auto start = std::chrono::steady_clock::now();
  sdk::Zxid zxid = tree_.last_processed_zxid();
  auto writer = storage_.begin_snapshot(zxid);
  if (!writer) return writer.status();
  std::vector<sdk::SessionRecord> sessions;
  for (const auto& s : sessions_.all()) sessions.push_back({s->id, s->timeout_ms.load()});
  auto& w = *writer.value();
  if (auto st = w.write_sessions(sessions); !st) return st;
  if (auto st = tree_.serialize(w); !st) return st;
  // The trailer names the zxid the digest belongs to: the last one applied when the (fuzzy)
  // walk ended; a reader checks it once its replay reaches that zxid.
  auto [digest_zxid, digest] = tree_.digest();
  if (auto st = w.finish(sdk::SnapshotDigest{digest_zxid, 2, digest}, fsync); !st) return st;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - start).count();
  if (stats_) stats_->snapshot_done(zxid, us, wall_seconds());  // metrics: snapshottime
  spdlog::info("snapshot at zxid 0x{:x} written in {} ms", zxid, us / 1000);
  return {};
}

void Database::launch() {
  std::lock_guard lk(mu_);
  if (running_.exchange(true)) return;
  if (worker_.joinable()) worker_.join();
  worker_ = std::thread([this] {
    if (auto st = snapshot(true); !st) spdlog::error("snapshot failed: {}", st.message());
    running_ = false;
  });
}

void Database::roll_and_snapshot() {
  if (running_.load()) {
    spdlog::warn("a snapshot is still being written; skipping this one");
    return;
  }
  if (auto st = storage_.roll(); !st) {
    spdlog::error("cannot roll the transaction log: {}", st.message());
    return;
  }
  launch();
}

void Database::snapshot_in_background() { launch(); }

void Database::wait_for_snapshot() {
  std::lock_guard lk(mu_);
  if (worker_.joinable()) worker_.join();
}

}  // namespace paddock::server
