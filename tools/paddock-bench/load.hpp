// The load generator of the server-driving modes: C sessions, each keeping W requests
// outstanding. Every completion records its latency and issues the next request, so the offered
// load is closed-loop and bounded by an operation count and a time limit, whichever comes first.
// Two clients produce it: the real ZooKeeper C client (libzookeeper-mt, asynchronous API;
// load_c.cpp) and paddock-bench's own native one (load_native.cpp: raw frames over TCP or TLS,
// for servers the C client cannot reach, such as a TLS client port). Which one is a LoadConfig
// field; the workloads, the bounds and the results are the same code for both (load_engine.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "histogram.hpp"

namespace paddock::bench {

class Progress;

enum class Op : int { kCreate = 0, kSetData, kGetData, kExists, kDelete };
constexpr int kOpCount = 5;
const char* op_label(Op op);
// create, setData (set, write), getData (get, read), exists, delete.
std::optional<Op> parse_op(std::string_view name);

// A named operation mix; weights are relative (percentages by convention).
struct Workload {
  std::string name;
  std::vector<std::pair<Op, int>> weights;
  bool uses(Op op) const;
  bool only(Op op) const;
  std::string describe() const;  // "getData=90,setData=10"
};
// `name` is an op (create, setData, getData, exists, delete) or "mixed" (weights from
// `mix`, e.g. "read=90,write=10"). Throws BenchError.
Workload make_workload(const std::string& name, const std::string& mix);

enum class ClientKind { kC, kNative };
const char* client_label(ClientKind kind);  // "c", "native"
// "c" or "native"; throws BenchError.
ClientKind parse_client(std::string_view name);

// PEM files of the native client's TLS connections.
struct TlsFiles {
  std::string ca;    // certificates that vouch for the server; "" = the server is not verified
  std::string cert;  // this client's certificate (for ssl.clientAuth=need); "" = none
  std::string key;   // its private key ("" = in `cert`)
};

struct LoadConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string hostport() const { return host + ":" + std::to_string(port); }
  ClientKind client = ClientKind::kC;
  bool tls = false;                // native client only
  TlsFiles tls_files;
  int connections = 4;
  int outstanding = 16;            // per connection
  int value_size = 100;
  int keys = 1000;                 // znodes read and written by getData / setData / exists
  std::string base = "/paddock-bench";
  int session_timeout_ms = 30000;
  std::string client_log;          // the C client's own log ("" = discarded)
  double drain_timeout_s = 30;     // wait for outstanding requests after the stop
};

struct LoadResult {
  std::string workload;
  int64_t ops = 0;     // completed successfully
  int64_t errors = 0;  // completed with an error
  std::map<int, int64_t> error_codes;  // ZooKeeper error code -> count
  double elapsed_s = 0;
  Histogram latency;   // nanoseconds, successful requests
  std::array<Histogram, kOpCount> per_op;
  std::vector<double> timeline;  // successful completions in each second
  std::string aborted;  // non-empty when the run stopped early, and why
  double ops_per_s() const { return elapsed_s > 0 ? static_cast<double>(ops) / elapsed_s : 0; }
  std::string error_summary() const;  // "NONODE x3, CONNECTIONLOSS x1"
};

struct Session;
struct RunPlan;

// Sessions to one server and the runs over them. Made by make_load_client(); the subclasses
// (C client, native client) only open sessions and carry requests.
class LoadClient {
 public:
  virtual ~LoadClient();
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // Creates <base>, <base>/k, <base>/c and the key znodes (existing ones are fine).
  void prepare_keys(Progress* progress);
  // Runs a workload until `count` requests were issued or `duration_s` passed. `tag` makes the
  // names of znodes created in this run unique. A workload that deletes first creates what it
  // will delete (not measured).
  LoadResult run(const Workload& workload, int64_t count, double duration_s, const std::string& tag,
                 Progress* progress);
  // A znode the last run created (for reads after a restart); "" if none.
  std::string last_created() const;
  const LoadConfig& config() const { return cfg_; }

 protected:
  explicit LoadClient(LoadConfig cfg);
  // Sends the first request of every slot of every session (each completion sends the next).
  virtual void start_run(RunPlan& plan) = 0;
  // After the run: every slot retired (`drained`), or the drain bound passed.
  virtual void end_run(RunPlan& plan, bool drained) = 0;

  LoadConfig cfg_;
  std::vector<Session*> sessions_;  // owned by the subclass, one per connection
  std::vector<std::string> key_paths_;
  std::string value_;

 private:
  LoadResult execute(RunPlan& plan, int64_t count, double duration_s, Progress* progress);
  LoadResult run_fixed(const std::vector<std::string>& paths, Progress* progress);
  // Runs whose requests did not all complete stay alive until the sessions are closed.
  std::vector<std::unique_ptr<RunPlan>> graveyard_;
  bool broken_ = false;  // a run left requests outstanding: no further run is trustworthy
};

// Opens cfg.connections sessions with the client cfg.client names; throws BenchError when they
// do not connect in time (or TLS is asked of the C client).
std::unique_ptr<LoadClient> make_load_client(const LoadConfig& cfg);

}  // namespace paddock::bench
