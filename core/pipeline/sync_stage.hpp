// Sync: the one thread that makes writes durable and applies them. Writes queue here in
// zxid order; the thread appends a batch to the log, commits it with one fsync (group
// commit), then resumes each request into the next stages (commit processors, final), which
// run on this same thread. Also keeps ZooKeeper's per-session order: a read waits behind the
// session's earlier writes and is answered right after the last of them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "pipeline/request.hpp"
#include "server/server_context.hpp"

namespace paddock::pipeline {

class SyncStage final : public sdk::Processor {
 public:
  // `snapshot` is called on the sync thread when snapCount transactions have been logged
  // since the last snapshot (the log has just been rolled).
  SyncStage(server::ServerContext& ctx, std::function<void()> snapshot);
  ~SyncStage() override;

  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext& context) override;
  sdk::Decision process(sdk::RequestView& view) override;
  void stop() override;

  // Called when a request that entered its session's queue is finished: releases the reads
  // that waited behind it (they are answered on the calling thread, in order).
  void complete(Request& r);
  size_t queued() const;

 private:
  void run();
  void reset_snapshot_threshold();

  server::ServerContext& ctx_;
  std::function<void()> snapshot_;
  sdk::ProcessorContext* pipeline_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request*> queue_;
  bool stopping_ = false;
  std::thread thread_;
  int64_t logged_since_snapshot_ = 0;
  int64_t snapshot_threshold_ = 0;
  int64_t logged_bytes_since_snapshot_ = 0;
  int64_t size_threshold_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace paddock::pipeline
