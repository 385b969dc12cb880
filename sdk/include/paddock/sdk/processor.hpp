// Processor extension point: a stage of the request pipeline. The core's own stages (prep,
// sync, final) implement this interface too; third-party stages are inserted at named
// points by a config list, in the config's order.
//
// Threading contract
//  - process() is called for every request of one session in the order the session sent them.
//    It runs on the thread the request reached the stage on (an I/O thread before prep and up
//    to the sync stage; the sync thread after it) and must not block.
//  - A stage that returns kDeferred keeps the request and later calls
//    ProcessorContext::resume() exactly once, from any thread; the pipeline continues with the
//    next stage. Requests of one session must be resumed in the order they were deferred.
//  - Writes are applied to the data tree in zxid order on one thread; a client sees a watch
//    event before any reply that reflects the change that fired it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "paddock/sdk/plugin.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::sdk {

// Named places in the pipeline where a processor can be inserted.
enum class InsertionPoint : int {
  kBeforePrep = 0,   // every request, before validation (reads included)
  kAfterPrep = 1,    // writes have a zxid and a txn; failed validation shows in error()
  kAfterCommit = 2,  // the write is durable (logged, and committed by a quorum)
  kAfterFinal = 3,   // the request has been applied and answered; see error() and zxid()
};

// Read-only view of one request, valid during process() (and until resume() for deferred).
class PADDOCK_SDK_API RequestView {
 public:
  virtual ~RequestView() = default;
  virtual SessionId session() const = 0;
  virtual int32_t xid() const = 0;
  virtual OpCode op() const = 0;
  // The path the request names ("" when it names none; the first path of a multi).
  virtual std::string_view path() const = 0;
  // Size in bytes of the request as received.
  virtual size_t size() const = 0;
  // Whether the request changes state (becomes a transaction).
  virtual bool is_write() const = 0;
  // The zxid assigned to a write (0 before prep and for reads).
  virtual Zxid zxid() const = 0;
  // The outcome so far: kOk, or the error the client will get.
  virtual ErrorCode error() const = 0;
  // Address of the client connection ("ip:port"), "" for server-internal requests.
  virtual std::string_view remote_address() const = 0;
};

struct Decision {
  enum class Kind : int {
    kContinue = 0,  // pass to the next stage
    kReject = 1,    // answer the client with `error` now; later stages do not see it
    kDeferred = 2,  // the stage keeps the request and will call resume()
    kDone = 3,      // the stage answered the request (a read) through ProcessorContext::answer
  };
  Kind kind = Kind::kContinue;
  ErrorCode error = ErrorCode::kOk;

  static Decision next() { return {}; }
  static Decision reject(ErrorCode code) { return {Kind::kReject, code}; }
  static Decision deferred() { return {Kind::kDeferred, ErrorCode::kOk}; }
  static Decision done() { return {Kind::kDone, ErrorCode::kOk}; }
};

// Implemented by the core; handed to each processor at start.
class PADDOCK_SDK_API ProcessorContext {
 public:
  virtual ~ProcessorContext() = default;
  // Continues a deferred request after the stage that deferred it. Any thread.
  virtual void resume(RequestView& request) = 0;
  // Same, but answers the client with `error` instead of continuing.
  virtual void resume_with_error(RequestView& request, ErrorCode error) = 0;
  // Gives a read its successful answer: `body` is the jute-encoded response record (e.g. a
  // GetDataResponse). Call it from process() and return Decision::done(); the reply goes out
  // in the session's order. Writes cannot be answered by a processor (they must reach the
  // tree): returning done() for a write fails it with SYSTEMERROR.
  virtual void answer(RequestView& request, std::string_view body) = 0;
};

class PADDOCK_SDK_API Processor : public Plugin {
 public:
  // Called once on the main thread before the first request.
  virtual Status start(ProcessorContext& context) = 0;
  virtual Decision process(RequestView& request) = 0;
  // Called once on the main thread after the last request.
  virtual void stop() = 0;
};

}  // namespace paddock::sdk
