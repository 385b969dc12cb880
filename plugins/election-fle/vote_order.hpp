// Vote ordering and equality as FastLeaderElection and Vote.java define them
// (spec/election-protocol.md 3). Header-only so the unit tests check the rules directly.
#pragma once

#include <cstdint>

#include "paddock/sdk/types.hpp"

namespace paddock::election_fle {

// A vote as the election loop records it: Java's Vote, with the message-format version that
// decides how two out-of-election votes compare.
struct RecordedVote {
  sdk::ServerId leader = 0;
  sdk::Zxid zxid = 0;
  int64_t election_epoch = 0;
  int64_t peer_epoch = 0;
  sdk::PeerState state = sdk::PeerState::kLooking;
  int32_t version = 0;
};

// totalOrderPredicate: does (new_id, new_zxid, new_epoch) beat the current proposal?
// peerEpoch first, then zxid, then the server id. (The weight check of the Java code is
// always true with majority quorums.)
constexpr bool vote_beats(sdk::ServerId new_id, sdk::Zxid new_zxid, int64_t new_epoch,
                          sdk::ServerId cur_id, sdk::Zxid cur_zxid, int64_t cur_epoch) noexcept {
  return new_epoch > cur_epoch ||
         (new_epoch == cur_epoch &&
          (new_zxid > cur_zxid || (new_zxid == cur_zxid && new_id > cur_id)));
}

// Vote.equals: a LOOKING vote on either side compares all four numbers; two votes out of
// election compare the leader and the peer epoch, only the leader when exactly one of them
// comes from a format without a version (ZOOKEEPER-1732, ZOOKEEPER-1805).
constexpr bool votes_equal(const RecordedVote& a, const RecordedVote& b) noexcept {
  if (a.state == sdk::PeerState::kLooking || b.state == sdk::PeerState::kLooking) {
    return a.leader == b.leader && a.zxid == b.zxid && a.election_epoch == b.election_epoch &&
           a.peer_epoch == b.peer_epoch;
  }
  if ((a.version > 0) != (b.version > 0)) return a.leader == b.leader;
  return a.leader == b.leader && a.peer_epoch == b.peer_epoch;
}

}  // namespace paddock::election_fle
