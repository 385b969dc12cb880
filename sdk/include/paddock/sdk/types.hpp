// Value types shared by the core and every plugin. Plain structs, no behaviour beyond
// small helpers; layouts mirror ZooKeeper's jute records field for field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace paddock::sdk {

// A ZooKeeper transaction id: epoch in the high 32 bits, counter in the low 32.
using Zxid = int64_t;
using SessionId = int64_t;
using ServerId = int64_t;

constexpr Zxid make_zxid(int64_t epoch, int64_t counter) noexcept {
  return static_cast<Zxid>((static_cast<uint64_t>(epoch) << 32) |
                           (static_cast<uint64_t>(counter) & 0xffffffffULL));
}
constexpr int64_t zxid_epoch(Zxid zxid) noexcept {
  return static_cast<int64_t>(static_cast<uint64_t>(zxid) >> 32);
}
constexpr int64_t zxid_counter(Zxid zxid) noexcept {
  return static_cast<int64_t>(static_cast<uint64_t>(zxid) & 0xffffffffULL);
}

// Operation / transaction type codes (ZooDefs.OpCode).
enum class OpCode : int32_t {
  kNotification = 0,
  kCreate = 1,
  kDelete = 2,
  kExists = 3,
  kGetData = 4,
  kSetData = 5,
  kGetAcl = 6,
  kSetAcl = 7,
  kGetChildren = 8,
  kSync = 9,
  kPing = 11,
  kGetChildren2 = 12,
  kCheck = 13,
  kMulti = 14,
  kCreate2 = 15,
  kReconfig = 16,
  kCheckWatches = 17,
  kRemoveWatches = 18,
  kCreateContainer = 19,
  kDeleteContainer = 20,
  kCreateTtl = 21,
  kMultiRead = 22,
  kAuth = 100,
  kSetWatches = 101,
  kSasl = 102,
  kGetEphemerals = 103,
  kGetAllChildrenNumber = 104,
  kSetWatches2 = 105,
  kAddWatch = 106,
  kWhoAmI = 107,
  kCreateSession = -10,
  kCloseSession = -11,
  kError = -1,
};

// Name of an op code as ZooKeeper's logs and four-letter words print it ("create", "getData").
const char* op_name(OpCode op) noexcept;

// ACL permission bits (ZooDefs.Perms).
namespace perms {
constexpr int32_t kRead = 1;
constexpr int32_t kWrite = 2;
constexpr int32_t kCreate = 4;
constexpr int32_t kDelete = 8;
constexpr int32_t kAdmin = 16;
constexpr int32_t kAll = 31;
}  // namespace perms

struct Id {
  std::string scheme;
  std::string id;
  friend bool operator==(const Id&, const Id&) = default;
};

struct Acl {
  int32_t perms = 0;
  Id id;
  friend bool operator==(const Acl&, const Acl&) = default;
};

// What a client sees (jute record Stat, 68 bytes on the wire).
struct Stat {
  Zxid czxid = 0;
  Zxid mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  Zxid pzxid = 0;
  friend bool operator==(const Stat&, const Stat&) = default;
};

// What snapshots store (jute record StatPersisted, 60 bytes). cversion counts child
// creations only; ephemeral_owner carries the container / TTL markers below.
struct StatPersisted {
  Zxid czxid = 0;
  Zxid mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  Zxid pzxid = 0;
  friend bool operator==(const StatPersisted&, const StatPersisted&) = default;
};

// Special values of StatPersisted::ephemeral_owner (EphemeralType).
constexpr int64_t kContainerEphemeralOwner = INT64_MIN;
constexpr uint64_t kTtlMask = 0xFF00000000000000ULL;
constexpr int64_t kMaxTtl = 0xFFFFFFFFFFLL;

// Create flags (CreateMode).
enum class CreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  kContainer = 4,
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};

// Role of a quorum peer.
enum class PeerState : int32_t { kLooking = 0, kFollowing = 1, kLeading = 2, kObserving = 3 };

// A leader-election vote (FastLeaderElection's Notification, without transport details).
struct Vote {
  ServerId leader = 0;
  Zxid zxid = -1;
  int64_t election_epoch = 0;
  int64_t peer_epoch = 0;
  PeerState state = PeerState::kLooking;
  friend bool operator==(const Vote&, const Vote&) = default;
};

inline const char* op_name(OpCode op) noexcept {
  switch (op) {
    case OpCode::kNotification: return "notification";
    case OpCode::kCreate: return "create";
    case OpCode::kDelete: return "delete";
    case OpCode::kExists: return "exists";
    case OpCode::kGetData: return "getData";
    case OpCode::kSetData: return "setData";
    case OpCode::kGetAcl: return "getACL";
    case OpCode::kSetAcl: return "setACL";
    case OpCode::kGetChildren: return "getChildren";
    case OpCode::kSync: return "sync";
    case OpCode::kPing: return "ping";
    case OpCode::kGetChildren2: return "getChildren2";
    case OpCode::kCheck: return "check";
    case OpCode::kMulti: return "multi";
    case OpCode::kCreate2: return "create2";
    case OpCode::kReconfig: return "reconfig";
    case OpCode::kCheckWatches: return "checkWatches";
    case OpCode::kRemoveWatches: return "removeWatches";
    case OpCode::kCreateContainer: return "createContainer";
    case OpCode::kDeleteContainer: return "deleteContainer";
    case OpCode::kCreateTtl: return "createTTL";
    case OpCode::kMultiRead: return "multiRead";
    case OpCode::kAuth: return "auth";
    case OpCode::kSetWatches: return "setWatches";
    case OpCode::kSasl: return "sasl";
    case OpCode::kGetEphemerals: return "getEphemerals";
    case OpCode::kGetAllChildrenNumber: return "getAllChildrenNumber";
    case OpCode::kSetWatches2: return "setWatches2";
    case OpCode::kAddWatch: return "addWatch";
    case OpCode::kWhoAmI: return "whoAmI";
    case OpCode::kCreateSession: return "createSession";
    case OpCode::kCloseSession: return "closeSession";
    case OpCode::kError: return "error";
  }
  return "unknown";
}

}  // namespace paddock::sdk
