// One client (or server-internal) request on its way through the pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/processor.hpp"
#include "paddock/sdk/status.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::server { class ClientConnection; }
namespace paddock::session { struct Session; }

namespace paddock::pipeline {

class Pipeline;
using sdk::ErrorCode;
using sdk::OpCode;
using sdk::SessionId;
using sdk::Zxid;

// Ops that become transactions.
bool is_write_op(OpCode op);

struct Request final : sdk::RequestView {
  // ---- identity (set when decoded) ----
  std::shared_ptr<server::ClientConnection> cnxn;  // null for server-internal requests
  std::shared_ptr<session::Session> session_ref;
  SessionId session_id = 0;
  int32_t cxid = 0;
  OpCode type = OpCode::kNotification;
  std::string payload;     // the request record (after the RequestHeader)
  std::string first_path;  // for views and logs
  size_t wire_size = 0;
  int64_t received_ns = 0;  // steady clock, for latency

  // ---- prep output ----
  Zxid txn_zxid = 0;
  int64_t time = 0;      // wall clock ms of the txn
  bool has_txn = false;  // `txn` holds a txn entry to log and apply
  std::string txn;       // TxnHeader + body
  ErrorCode err = ErrorCode::kOk;
  bool rejected = false;  // answered with `err` without a txn (a processor refused it)
  bool answered = false;  // a processor gave this read its reply (`reply_body`)
  std::string reply_body;
  int32_t session_timeout = 0;  // createSession

  // ---- where it came from ----
  // 0 for a request of a client connected here; the server id of the learner that forwarded
  // it (REQUEST packet) when this server leads.
  sdk::ServerId origin = 0;
  std::vector<sdk::Id> forwarded_auth;  // the forwarding learner's view of the client's ids
  bool forwarded = false;  // a learner's own client write, sent to the leader, awaiting commit

  // ---- pipeline bookkeeping ----
  Pipeline* pipeline = nullptr;  // the pipeline running it (set by submit)
  size_t stage = 0;
  bool ordered = false;           // inside the pipeline's ordering section
  bool in_session_queue = false;  // a write queued in its session's in_flight list

  // sdk::RequestView
  SessionId session() const override { return session_id; }
  int32_t xid() const override { return cxid; }
  OpCode op() const override { return type; }
  std::string_view path() const override { return first_path; }
  size_t size() const override { return wire_size; }
  bool is_write() const override { return is_write_op(type); }
  Zxid zxid() const override { return txn_zxid; }
  ErrorCode error() const override { return err; }
  std::string_view remote_address() const override;
};

}  // namespace paddock::pipeline
