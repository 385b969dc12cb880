// Status and Result: how every SDK call reports failure. No exception crosses the plugin
// boundary; a plugin returns a Status, the core turns anything thrown into one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace paddock::sdk {

// ZooKeeper's KeeperException codes (the values clients see in ReplyHeader.err), plus the
// few internal codes plugins need. Keep the numeric values: they travel on the wire.
enum class ErrorCode : int32_t {
  kOk = 0,
  kSystemError = -1,
  kRuntimeInconsistency = -2,
  kDataInconsistency = -3,
  kConnectionLoss = -4,
  kMarshallingError = -5,
  kUnimplemented = -6,
  kOperationTimeout = -7,
  kBadArguments = -8,
  kUnknownSession = -12,
  kNewConfigNoQuorum = -13,
  kReconfigInProgress = -14,
  kApiError = -100,
  kNoNode = -101,
  kNoAuth = -102,
  kBadVersion = -103,
  kNoChildrenForEphemerals = -108,
  kNodeExists = -110,
  kNotEmpty = -111,
  kSessionExpired = -112,
  kInvalidCallback = -113,
  kInvalidAcl = -114,
  kAuthFailed = -115,
  kSessionMoved = -118,
  kNotReadOnly = -119,
  kEphemeralOnLocalSession = -120,
  kNoWatcher = -121,
  kRequestTimeout = -122,
  kReconfigDisabled = -123,
  kSessionClosedRequireSaslAuth = -124,
  kQuotaExceeded = -125,
  kThrottledOp = -127,
};

// ZooKeeper's upper-case name of a code ("NONODE"); "UNKNOWN(<n>)" for others.
const char* error_name(ErrorCode code) noexcept;

class Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  // A failure that is not a ZooKeeper error a client would see (I/O, format, configuration).
  static Status error(std::string message) {
    return {ErrorCode::kSystemError, std::move(message)};
  }

  bool is_ok() const noexcept { return code_ == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool is_ok() const noexcept { return std::holds_alternative<T>(v_); }
  explicit operator bool() const noexcept { return is_ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

inline const char* error_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kSystemError: return "SYSTEMERROR";
    case ErrorCode::kRuntimeInconsistency: return "RUNTIMEINCONSISTENCY";
    case ErrorCode::kDataInconsistency: return "DATAINCONSISTENCY";
    case ErrorCode::kConnectionLoss: return "CONNECTIONLOSS";
    case ErrorCode::kMarshallingError: return "MARSHALLINGERROR";
    case ErrorCode::kUnimplemented: return "UNIMPLEMENTED";
    case ErrorCode::kOperationTimeout: return "OPERATIONTIMEOUT";
    case ErrorCode::kBadArguments: return "BADARGUMENTS";
    case ErrorCode::kUnknownSession: return "UNKNOWNSESSION";
    case ErrorCode::kNewConfigNoQuorum: return "NEWCONFIGNOQUORUM";
    case ErrorCode::kReconfigInProgress: return "RECONFIGINPROGRESS";
    case ErrorCode::kApiError: return "APIERROR";
    case ErrorCode::kNoNode: return "NONODE";
    case ErrorCode::kNoAuth: return "NOAUTH";
    case ErrorCode::kBadVersion: return "BADVERSION";
    case ErrorCode::kNoChildrenForEphemerals: return "NOCHILDRENFOREPHEMERALS";
    case ErrorCode::kNodeExists: return "NODEEXISTS";
    case ErrorCode::kNotEmpty: return "NOTEMPTY";
    case ErrorCode::kSessionExpired: return "SESSIONEXPIRED";
    case ErrorCode::kInvalidCallback: return "INVALIDCALLBACK";
    case ErrorCode::kInvalidAcl: return "INVALIDACL";
    case ErrorCode::kAuthFailed: return "AUTHFAILED";
    case ErrorCode::kSessionMoved: return "SESSIONMOVED";
    case ErrorCode::kNotReadOnly: return "NOTREADONLY";
    case ErrorCode::kEphemeralOnLocalSession: return "EPHEMERALONLOCALSESSION";
    case ErrorCode::kNoWatcher: return "NOWATCHER";
    case ErrorCode::kRequestTimeout: return "REQUESTTIMEOUT";
    case ErrorCode::kReconfigDisabled: return "RECONFIGDISABLED";
    case ErrorCode::kSessionClosedRequireSaslAuth: return "SESSIONCLOSEDREQUIRESASLAUTH";
    case ErrorCode::kQuotaExceeded: return "QUOTAEXCEEDED";
    case ErrorCode::kThrottledOp: return "THROTTLEDOP";
  }
  return "UNKNOWN";
}

}  // namespace paddock::sdk
