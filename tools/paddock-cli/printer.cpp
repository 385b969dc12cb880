#include "printer.hpp"

#include <ctime>

#include "acl_text.hpp"

namespace paddock::cli {
namespace {

std::string hex(int64_t v) {  // Long.toHexString: two's complement, no leading zeros
  static const char* digits = "0123456789abcdef";
  auto u = static_cast<uint64_t>(v);
  std::string s;
  do {
    s.insert(s.begin(), digits[u & 0xf]);
    u >>= 4;
  } while (u);
  return s;
}

// Jute's CSV rendering of a string (Id.toString): a leading quote, a few characters escaped.
std::string csv(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    switch (c) {
      case '\0': out += "%00"; break;
      case '\n': out += "%0A"; break;
      case '\r': out += "%0D"; break;
      case ',': out += "%2C"; break;
      case '}': out += "%7D"; break;
      case '%': out += "%25"; break;
      default: out += c; break;
    }
  }
  return out;
}

std::string_view keeper_state_name(KeeperState s) {
  switch (s) {
    case KeeperState::kDisconnected: return "Disconnected";
    case KeeperState::kSyncConnected: return "SyncConnected";
    case KeeperState::kAuthFailed: return "AuthFailed";
    case KeeperState::kConnectedReadOnly: return "ConnectedReadOnly";
    case KeeperState::kExpired: return "Expired";
    case KeeperState::kClosed: return "Closed";
  }
  return "Unknown";
}

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::kNone: return "None";
    case EventType::kNodeCreated: return "NodeCreated";
    case EventType::kNodeDeleted: return "NodeDeleted";
    case EventType::kNodeDataChanged: return "NodeDataChanged";
    case EventType::kNodeChildrenChanged: return "NodeChildrenChanged";
    case EventType::kDataWatchRemoved: return "DataWatchRemoved";
    case EventType::kChildWatchRemoved: return "ChildWatchRemoved";
    case EventType::kPersistentWatchRemoved: return "PersistentWatchRemoved";
  }
  return "Unknown";
}

}  // namespace

std::string java_date(int64_t millis) {
  std::time_t t = static_cast<std::time_t>(millis / 1000);
  if (millis < 0 && millis % 1000 != 0) --t;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Z %Y", &tm);
  return std::string(buf, n);
}

std::string stat_text(const NodeStat& s) {
  std::string out;
  out += "cZxid = 0x" + hex(s.czxid) + "\n";
  out += "ctime = " + java_date(s.ctime) + "\n";
  out += "mZxid = 0x" + hex(s.mzxid) + "\n";
  out += "mtime = " + java_date(s.mtime) + "\n";
  out += "pZxid = 0x" + hex(s.pzxid) + "\n";
  out += "cversion = " + std::to_string(s.cversion) + "\n";
  out += "dataVersion = " + std::to_string(s.version) + "\n";
  out += "aclVersion = " + std::to_string(s.aversion) + "\n";
  out += "ephemeralOwner = 0x" + hex(s.ephemeral_owner) + "\n";
  out += "dataLength = " + std::to_string(s.data_length) + "\n";
  out += "numChildren = " + std::to_string(s.num_children) + "\n";
  return out;
}

std::string acl_text(const std::vector<AclEntry>& acl) {
  std::string out;
  for (const auto& a : acl) out += csv(a.scheme) + "," + csv(a.id) + "\n: " + perm_string(a.perms) + "\n";
  return out;
}

std::string event_text(const WatchEvent& e) {
  std::string out = "WatchedEvent state:";
  out += keeper_state_name(e.state);
  out += " type:";
  out += event_type_name(e.type);
  out += " path:";
  out += e.path ? *e.path : std::string("null");
  return out;
}

std::string_view state_name(SessionState s) {
  switch (s) {
    case SessionState::kConnecting: return "CONNECTING";
    case SessionState::kAssociating: return "ASSOCIATING";
    case SessionState::kConnected: return "CONNECTED";
    case SessionState::kConnectedReadOnly: return "CONNECTEDREADONLY";
    case SessionState::kClosed: return "CLOSED";
    case SessionState::kAuthFailed: return "AUTH_FAILED";
    case SessionState::kNotConnected: return "NOT_CONNECTED";
  }
  return "UNKNOWN";
}

std::string code_message(int code) {
  switch (code) {
    case zerr::kOk: return "ok";
    case zerr::kSystemError: return "SystemError";
    case zerr::kRuntimeInconsistency: return "RuntimeInconsistency";
    case zerr::kDataInconsistency: return "DataInconsistency";
    case zerr::kConnectionLoss: return "ConnectionLoss";
    case zerr::kMarshallingError: return "MarshallingError";
    case zerr::kNewConfigNoQuorum: return "NewConfigNoQuorum";
    case zerr::kReconfigInProgress: return "ReconfigInProgress";
    case zerr::kUnimplemented: return "Unimplemented";
    case zerr::kOperationTimeout: return "OperationTimeout";
    case zerr::kBadArguments: return "BadArguments";
    case zerr::kInvalidState: return "Session expired";  // the C client's word for a dead handle
    case zerr::kApiError: return "APIError";
    case zerr::kNoNode: return "NoNode";
    case zerr::kNoAuth: return "NoAuth";
    case zerr::kBadVersion: return "BadVersion";
    case zerr::kNoChildrenForEphemerals: return "NoChildrenForEphemerals";
    case zerr::kNodeExists: return "NodeExists";
    case zerr::kInvalidAcl: return "InvalidACL";
    case zerr::kAuthFailed: return "AuthFailed";
    case zerr::kNotEmpty: return "Directory not empty";
    case zerr::kSessionExpired: return "Session expired";
    case zerr::kInvalidCallback: return "Invalid callback";
    case zerr::kClosing: return "Closing";
    case zerr::kSessionMoved: return "Session moved";
    case zerr::kNotReadOnly: return "Not a read-only call";
    case zerr::kEphemeralOnLocalSession: return "Ephemeral node on local session";
    case zerr::kNoWatcher: return "No such watcher";
    case zerr::kReconfigDisabled: return "Reconfig is disabled";
    case zerr::kSessionClosedRequireSaslAuth: return "Session closed because client failed to authenticate";
    case zerr::kQuotaExceeded: return "Quota has exceeded";
    case zerr::kThrottledOp: return "Op throttled due to high load";
    default: return "Unknown error " + std::to_string(code);
  }
}

std::string error_message(int code, std::string_view path_in) {
  std::string path(path_in);
  switch (code) {
    case zerr::kNoNode: return "Node does not exist: " + path;
    case zerr::kNoChildrenForEphemerals: return "Ephemerals cannot have children: " + path;
    case zerr::kNodeExists: return "Node already exists: " + path;
    case zerr::kNotEmpty: return "Node not empty: " + path;
    case zerr::kNotReadOnly: return "Not a read-only call: " + path;
    case zerr::kInvalidAcl: return "Acl is not valid : " + path;
    case zerr::kNoAuth: return "Insufficient permission : " + path;
    case zerr::kBadArguments: return "Arguments are not valid : " + path;
    case zerr::kBadVersion: return "version No is not valid : " + path;
    case zerr::kQuotaExceeded: return "Quota has exceeded : " + path;
    case zerr::kReconfigInProgress:
      return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)";
    default: break;
  }
  std::string msg = "KeeperErrorCode = " + code_message(code);
  if (!path.empty()) msg += " for " + path;
  return msg;
}

}  // namespace paddock::cli
