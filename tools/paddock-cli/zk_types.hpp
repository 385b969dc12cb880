// Values the CLI passes between its client wrapper, its commands and its printer. They mirror
// ZooKeeper's own records (the SDK's where it has them) so that nothing above zk_client.cpp
// includes the C client's header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "paddock/sdk/types.hpp"

namespace paddock::cli {

// ZooKeeper's error codes (KeeperException.Code), identical on the wire and in the C client.
namespace zerr {
inline constexpr int kOk = 0;
inline constexpr int kSystemError = -1;
inline constexpr int kRuntimeInconsistency = -2;
inline constexpr int kDataInconsistency = -3;
inline constexpr int kConnectionLoss = -4;
inline constexpr int kMarshallingError = -5;
inline constexpr int kUnimplemented = -6;
inline constexpr int kOperationTimeout = -7;
inline constexpr int kBadArguments = -8;
inline constexpr int kInvalidState = -9;  // the C client's own: the handle is expired or failed
inline constexpr int kNewConfigNoQuorum = -13;
inline constexpr int kReconfigInProgress = -14;
inline constexpr int kApiError = -100;
inline constexpr int kNoNode = -101;
inline constexpr int kNoAuth = -102;
inline constexpr int kBadVersion = -103;
inline constexpr int kNoChildrenForEphemerals = -108;
inline constexpr int kNodeExists = -110;
inline constexpr int kNotEmpty = -111;
inline constexpr int kSessionExpired = -112;
inline constexpr int kInvalidCallback = -113;
inline constexpr int kInvalidAcl = -114;
inline constexpr int kAuthFailed = -115;
inline constexpr int kClosing = -116;
inline constexpr int kSessionMoved = -118;
inline constexpr int kNotReadOnly = -119;
inline constexpr int kEphemeralOnLocalSession = -120;
inline constexpr int kNoWatcher = -121;
inline constexpr int kReconfigDisabled = -123;
inline constexpr int kSessionClosedRequireSaslAuth = -124;
inline constexpr int kQuotaExceeded = -125;
inline constexpr int kThrottledOp = -127;
}  // namespace zerr

// ZooDefs.Perms and org.apache.zookeeper.data.Stat: the SDK's own.
namespace perms = sdk::perms;
using NodeStat = sdk::Stat;

struct AclEntry {
  int32_t perms = 0;
  std::string scheme;
  std::string id;
};

enum class CreateKind { kPersistent, kEphemeral, kContainer, kPersistentWithTtl };

enum class WatchMode { kPersistent = 0, kPersistentRecursive = 1 };  // AddWatchMode on the wire

// Watcher.Event.KeeperState and EventType, as Java's WatchedEvent prints them.
enum class KeeperState { kDisconnected, kSyncConnected, kAuthFailed, kConnectedReadOnly, kExpired, kClosed };
enum class EventType {
  kNone,
  kNodeCreated,
  kNodeDeleted,
  kNodeDataChanged,
  kNodeChildrenChanged,
  kDataWatchRemoved,
  kChildWatchRemoved,
  kPersistentWatchRemoved,
};

struct WatchEvent {
  KeeperState state = KeeperState::kSyncConnected;
  EventType type = EventType::kNone;
  std::optional<std::string> path;  // none for connection-state events ("path:null")
};

// ZooKeeper.States, as the prompt shows them.
enum class SessionState { kConnecting, kAssociating, kConnected, kConnectedReadOnly, kClosed, kAuthFailed, kNotConnected };

}  // namespace paddock::cli
