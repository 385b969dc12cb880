// Transaction bodies (spec/jute.md 7): the records that follow a TxnHeader in logs,
// proposals and DIFFs, and the txn entry that frames them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::txn {

using sdk::Acl;
using sdk::jute::Reader;
using sdk::jute::TxnHeader;
using sdk::jute::Writer;

// create / create2 (CreateTxn), createContainer (CreateContainerTxn), createTTL (CreateTTLTxn)
struct CreateTxn {
  std::string path;
  std::optional<std::string> data;  // nullopt = null data
  std::vector<Acl> acl;
  bool ephemeral = false;
  int32_t parent_cversion = -1;
  int64_t ttl = 0;  // createTTL only
};
struct DeleteTxn { std::string path; };
struct SetDataTxn {
  std::string path;
  std::optional<std::string> data;
  int32_t version = 0;
};
struct SetAclTxn {
  std::string path;
  std::vector<Acl> acl;
  int32_t version = 0;
};
struct CheckVersionTxn {
  std::string path;
  int32_t version = 0;
};
struct CreateSessionTxn { int32_t timeout_ms = 0; };
struct CloseSessionTxn { std::vector<std::string> paths_to_delete; bool present = true; };
struct ErrorTxn { int32_t err = 0; };
// One entry of a MultiTxn: a type and a serialized sub-txn record.
struct SubTxn {
  int32_t type = 0;
  std::string data;
};

void write_create(Writer& w, int32_t type, const CreateTxn& t);
bool read_create(Reader& r, int32_t type, CreateTxn& t);  // handles the CreateTxnV0 fallback
void write_delete(Writer& w, const DeleteTxn& t);
void write_set_data(Writer& w, const SetDataTxn& t);
void write_set_acl(Writer& w, const SetAclTxn& t);
void write_check(Writer& w, const CheckVersionTxn& t);
void write_create_session(Writer& w, const CreateSessionTxn& t);
void write_close_session(Writer& w, const CloseSessionTxn& t);
void write_error(Writer& w, const ErrorTxn& t);
void write_multi(Writer& w, const std::vector<SubTxn>& subs);
bool read_multi(Reader& r, std::vector<SubTxn>& subs);

// Optional digest trailer (TxnDigest).
struct TxnDigest {
  int32_t version = 2;
  int64_t tree_digest = 0;
};

}  // namespace paddock::txn
