// The request pipeline: an ordered list of processor stages. The core's own stages (prep,
// sync, final) and third-party processors share the SDK's Processor interface; this class
// runs a request through them, pauses it where a stage defers, and resumes it.
//
// Ordering section: writes must reach the sync stage in zxid order, so the runner holds one
// lock from the moment a write enters prep until the sync stage has queued it. Reads never
// take it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "pipeline/request.hpp"

namespace paddock::pipeline {

class Pipeline final : public sdk::ProcessorContext {
 public:
  struct Stage {
    std::string name;
    sdk::Processor* processor = nullptr;
    bool core = false;  // prep, sync, final
  };

  // The core stages of a role, in order, by name: "prep" opens the ordering section and
  // "sync" closes it; "sync" (or "forward" on a learner) keeps each session's requests in
  // order; "final" answers. Third-party processors are added around them with insert().
  //   standalone: prep, sync, final
  //   leader:     prep, proposal, sync, commit, final
  //   learner:    forward, final
  explicit Pipeline(std::vector<std::pair<std::string, sdk::Processor*>> core_stages);

  // Adds a processor at an insertion point, after those already there.
  void insert(sdk::InsertionPoint point, std::string name, sdk::Processor& processor);
  const std::vector<Stage>& stages() const { return stages_; }

  // Called for every request just before the pipeline drops it.
  void set_finisher(std::function<void(Request&)> f) { finisher_ = std::move(f); }

  // Takes ownership of `r` and runs it from the first stage.
  void submit(std::unique_ptr<Request> r);

  // sdk::ProcessorContext
  void resume(sdk::RequestView& request) override;
  void resume_with_error(sdk::RequestView& request, sdk::ErrorCode error) override;
  void answer(sdk::RequestView& request, std::string_view body) override;

 private:
  void run(Request* r, size_t from);
  size_t index_of_core(const char* name) const;
  // The stage that orders a session's requests (sync, or forward on a learner).
  size_t ordering_stage() const;

  void finish(Request* r);
  sdk::Decision run_guarded(const Stage& stage, Request& r, bool after_final);

  std::vector<Stage> stages_;
  std::mutex order_mu_;
  std::function<void(Request&)> finisher_;
};

}  // namespace paddock::pipeline
