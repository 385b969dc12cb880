// What both load clients share (internal to load*.cpp): a session's bookkeeping, a run's plan
// and bounds, choosing the next request of a free slot, and recording a completion. A client
// only carries the requests: it asks next_request() what to send, and reports each reply to
// record_completion() before asking again.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "load.hpp"

namespace paddock::bench {

// ZooKeeper error codes the engine itself looks at (the same numbers as zookeeper.h's).
namespace zk_error {
constexpr int kOk = 0;
constexpr int kSystemError = -1;
constexpr int kConnectionLoss = -4;
constexpr int kOperationTimeout = -7;
constexpr int kInvalidState = -9;
constexpr int kNodeExists = -110;
constexpr int kSessionExpired = -112;
constexpr int kClosing = -116;
}  // namespace zk_error

// One connection's bookkeeping. The run's results are written by the thread that completes
// this session's requests only.
struct Session {
  int index = 0;
  uint64_t rng = 0;
  int64_t seq = 0;

  std::mutex created_mu;
  std::vector<std::string> created;  // znodes this session created and did not delete
  std::string last_created;

  Histogram latency;
  std::array<Histogram, kOpCount> per_op;
  int64_t ok = 0;
  int64_t errors = 0;
  std::map<int, int64_t> codes;

  virtual ~Session() = default;
  uint64_t next_random() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
  void reset_stats();
};

struct RunPlan {
  Workload workload;
  int total_weight = 0;
  const std::vector<std::string>* key_paths = nullptr;
  const std::string* value = nullptr;
  std::string create_prefix;  // <base>/c/<tag>-
  // Fixed list of paths to create (preparation runs), taken in order; nullptr otherwise.
  const std::vector<std::string>* fixed_paths = nullptr;
  std::atomic<size_t> fixed_next{0};
  bool ignore_exists = false;
  bool track_created = false;

  std::atomic<int64_t> budget{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::atomic<int> active{0};  // slots not yet retired
  int64_t t0 = 0;
  std::unique_ptr<std::atomic<int64_t>[]> per_second;
  size_t seconds = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::string abort_reason;

  void abort(const std::string& why);
  // A slot retires (stop, count bound, nothing left to do, failure to send).
  void slot_done();
};

// The next request of a free slot of `s`: fills op and path and takes one unit of the count
// budget. False when the slot retires instead (slot_done() already called).
bool next_request(Session& s, RunPlan& r, Op& op, std::string& path);
// Records a request's completion with ZooKeeper error code `rc`; session-level errors abort.
void record_completion(Session& s, RunPlan& r, Op op, const std::string& path, int64_t start_ns, int rc);

}  // namespace paddock::bench
