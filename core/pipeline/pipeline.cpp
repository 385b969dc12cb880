#include "pipeline/pipeline.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include "server/client_connection.hpp"

namespace paddock::pipeline {

bool is_write_op(OpCode op) {
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl:
    case OpCode::kDelete:
    case OpCode::kDeleteContainer:
    case OpCode::kSetData:
    case OpCode::kSetAcl:
    case OpCode::kCheck:
    case OpCode::kMulti:
    case OpCode::kReconfig:
    case OpCode::kCreateSession:
    case OpCode::kCloseSession:
      return true;
    default:
      return false;
  }
}

std::string_view Request::remote_address() const {
  return cnxn ? std::string_view(cnxn->remote_address()) : std::string_view();
}

Pipeline::Pipeline(std::vector<std::pair<std::string, sdk::Processor*>> core_stages) {
  for (auto& [name, p] : core_stages) stages_.push_back({std::move(name), p, true});
}

size_t Pipeline::ordering_stage() const {
  size_t sync = index_of_core("sync");
  return sync < stages_.size() ? sync : index_of_core("forward");
}

size_t Pipeline::index_of_core(const char* name) const {
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i].core && stages_[i].name == name) return i;
  }
  return stages_.size();
}

void Pipeline::insert(sdk::InsertionPoint point, std::string name, sdk::Processor& processor) {
  size_t at = 0;
  size_t prep = index_of_core("prep");
  switch (point) {
    case sdk::InsertionPoint::kBeforePrep:
      while (at < stages_.size() && !stages_[at].core) ++at;
      break;
    case sdk::InsertionPoint::kAfterPrep:
      at = prep < stages_.size() ? prep + 1 : ordering_stage();
      break;
    case sdk::InsertionPoint::kAfterCommit: at = index_of_core("final"); break;
    case sdk::InsertionPoint::kAfterFinal: at = stages_.size(); break;
  }
  stages_.insert(stages_.begin() + static_cast<ptrdiff_t>(at), {std::move(name), &processor, false});
}

void Pipeline::submit(std::unique_ptr<Request> r) {
  r->pipeline = this;
  run(r.release(), 0);
}

void Pipeline::resume(sdk::RequestView& request) {
  auto& r = static_cast<Request&>(request);
  run(&r, r.stage + 1);
}

void Pipeline::resume_with_error(sdk::RequestView& request, sdk::ErrorCode error) {
  auto& r = static_cast<Request&>(request);
  r.err = error;
  r.rejected = true;
  size_t order = ordering_stage();
  run(&r, r.stage < order ? order : r.stage + 1);
}

void Pipeline::answer(sdk::RequestView& request, std::string_view body) {
  auto& r = static_cast<Request&>(request);
  r.reply_body.assign(body);
}

void Pipeline::run(Request* r, size_t from) {
  const size_t prep = index_of_core("prep");
  const size_t sync = ordering_stage();
  const size_t final_stage = index_of_core("final");
  for (size_t i = from; i < stages_.size(); ++i) {
    const Stage& stage = stages_[i];
    // A refused (or processor-answered) request skips to the core stages that order and
    // answer it; processors later in the pipeline do not see it.
    bool detoured = r->rejected || r->answered;
    if (detoured && !stage.core) continue;
    if (detoured && i < sync) continue;
    r->stage = i;
    if (i == prep && r->is_write() && !r->ordered) {
      order_mu_.lock();
      r->ordered = true;
    }
    sdk::Decision d;
    if (stage.core) {
      d = stage.processor->process(*r);
    } else {
      d = run_guarded(stage, *r, i > final_stage);
    }
    if (r->ordered && (i == sync || d.kind != sdk::Decision::Kind::kContinue)) {
      r->ordered = false;
      order_mu_.unlock();
    }
    switch (d.kind) {
      case sdk::Decision::Kind::kContinue:
        break;
      case sdk::Decision::Kind::kReject:
        if (i >= final_stage) {
          // Already answered: too late to refuse.
          spdlog::warn("processor '{}' refused {} of session 0x{:x} after it was answered; ignored",
                       stage.name, sdk::op_name(r->type), r->session_id);
          break;
        }
        r->err = d.error;
        r->rejected = true;
        if (i >= sync) {
          // Past ordering: the final stage answers it directly.
          i = final_stage - 1;
        }
        break;
      case sdk::Decision::Kind::kDeferred:
        return;
      case sdk::Decision::Kind::kDone:
        if (stage.core) {
          finish(r);
          return;
        }
        // A processor answered a read: it is ordered and sent like any other reply.
        r->answered = true;
        if (i >= sync) i = final_stage - 1;
        break;
    }
  }
  finish(r);
}

sdk::Decision Pipeline::run_guarded(const Stage& stage, Request& r, bool after_final) {
  // A third-party processor must not take the server down: what it throws, or an answer it
  // is not allowed to give, fails this one request and is logged.
  try {
    sdk::Decision d = stage.processor->process(r);
    switch (d.kind) {
      case sdk::Decision::Kind::kContinue:
      case sdk::Decision::Kind::kDeferred:
        return d;
      case sdk::Decision::Kind::kReject:
        if (d.error == sdk::ErrorCode::kOk) break;
        return d;
      case sdk::Decision::Kind::kDone:
        // Only a read may be answered by a processor (after the final stage it already is);
        // a write must reach the tree.
        if (r.is_write() || r.type == sdk::OpCode::kSync) break;
        if (after_final) break;
        return d;
    }
    spdlog::warn("processor '{}' returned an invalid decision ({}) for {} of session 0x{:x}",
                 stage.name, static_cast<int>(d.kind), sdk::op_name(r.type), r.session_id);
  } catch (const std::exception& e) {
    spdlog::warn("processor '{}' failed on {} of session 0x{:x}: {}", stage.name,
                 sdk::op_name(r.type), r.session_id, e.what());
  } catch (...) {
    spdlog::warn("processor '{}' failed on {} of session 0x{:x}: unknown exception", stage.name,
                 sdk::op_name(r.type), r.session_id);
  }
  return sdk::Decision::reject(sdk::ErrorCode::kSystemError);
}

void Pipeline::finish(Request* r) {
  if (finisher_) finisher_(*r);
  delete r;
}

}  // namespace paddock::pipeline
