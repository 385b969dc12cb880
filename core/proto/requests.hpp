// Client request records (spec/jute.md 4): one decoded shape for every op that names a path,
// and the multi / multiRead envelope.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::proto {

using sdk::OpCode;

// The union of the fields of CreateRequest, CreateTTLRequest, DeleteRequest,
// SetDataRequest, SetACLRequest, CheckVersionRequest, GetDataRequest, ExistsRequest,
// GetChildren(2)Request, GetACLRequest, SyncRequest, GetAllChildrenNumberRequest,
// GetEphemeralsRequest, CheckWatchesRequest, RemoveWatchesRequest and AddWatchRequest.
struct OpRequest {
  OpCode type = OpCode::kNotification;
  std::string path;
  std::optional<std::string> data;
  std::vector<sdk::Acl> acl;
  int32_t flags = 0;    // create flags; watcher type (check/removeWatches); addWatch mode
  int64_t ttl = -1;
  int32_t version = -1;
  bool watch = false;
};

// Whether decode_op() knows a record for this op.
bool has_path_record(OpCode type);

// Decodes the record of a single op. False on malformed input or an op without a record.
bool decode_op(OpCode type, sdk::jute::Reader& r, OpRequest& out);

// Decodes a multi / multiRead body. `read_only` tells which kind the ops are; mixing kinds or
// an op type a multi cannot carry fails.
bool decode_multi(sdk::jute::Reader& r, std::vector<OpRequest>& ops, bool& read_only);

struct ConnectRequest {
  int32_t protocol_version = 0;
  int64_t last_zxid_seen = 0;
  int32_t timeout_ms = 0;
  int64_t session_id = 0;
  std::string password;
  bool read_only = false;
  bool has_read_only_byte = false;
};
bool decode_connect(sdk::jute::Reader& r, ConnectRequest& out);

struct SetWatchesRequest {
  int64_t relative_zxid = 0;
  std::vector<std::string> data;
  std::vector<std::string> exist;
  std::vector<std::string> child;
  std::vector<std::string> persistent;
  std::vector<std::string> persistent_recursive;
};
bool decode_set_watches(sdk::jute::Reader& r, bool v2, SetWatchesRequest& out);

}  // namespace paddock::proto
