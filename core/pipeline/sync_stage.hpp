// Sync: the one thread that makes transactions durable and applies them. Work is queued
// here in order; the thread takes a batch, appends every transaction in it to the log,
// commits them with one fsync (group commit), then walks the batch in order:
//   - a client request is resumed into the rest of its pipeline (commit wait, final), which
//     runs on this same thread;
//   - a replicated transaction (a learner's PROPOSAL) runs its completion (the ACK);
//   - an action runs (a COMMIT to apply, a SYNC to answer, an ACK to count).
// The stage also keeps ZooKeeper's per-session order: a read waits behind the session's
// earlier writes and is answered right after the last of them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "pipeline/request.hpp"
#include "server/server_context.hpp"

namespace paddock::pipeline {

class SyncStage final : public sdk::Processor {
 public:
  // `snapshot` is called on the sync thread when snapCount transactions have been logged
  // since the last snapshot.
  SyncStage(server::ServerContext& ctx, std::function<void()> snapshot);
  ~SyncStage() override;

  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext& context) override;
  sdk::Decision process(sdk::RequestView& view) override;
  void stop() override;

  // Logs a transaction that has no client request here (a learner's copy of a proposal);
  // `durable` runs on the sync thread once it is on disk.
  void enqueue_txn(sdk::Zxid zxid, std::string txn, std::function<void()> durable);
  // Runs `action` on the sync thread after everything queued before it.
  void enqueue_action(std::function<void()> action);
  // Blocks until everything queued so far has been handled.
  void drain();

  // Called when a request that entered its session's queue is finished: releases the reads
  // that waited behind it (they are answered on the calling thread, in order).
  void complete(Request& r);
  // Session-order bookkeeping shared with the learner's forward stage: puts a write (or
  // sync) at the end of its session's queue.
  static void enter_session_queue(Request& r);
  // For a read: true if it had to wait behind its session's writes (it is queued then).
  static bool park_behind_session(Request& r);
  size_t queued() const;

 private:
  struct Item {
    Request* request = nullptr;  // a request to log (if it has a txn) and resume
    sdk::Zxid zxid = 0;          // a bare transaction to log
    std::string txn;
    std::function<void()> then;  // after a bare txn is durable, or an action
  };
  void push(Item item);
  void run();
  void reset_snapshot_threshold();

  server::ServerContext& ctx_;
  std::function<void()> snapshot_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::vector<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
  int64_t logged_since_snapshot_ = 0;
  int64_t snapshot_threshold_ = 0;
  int64_t logged_bytes_since_snapshot_ = 0;
  int64_t size_threshold_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace paddock::pipeline
