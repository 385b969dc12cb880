// QuorumPacket, the only record on the quorum (learner) port: back-to-back jute records
// {int type, long zxid, buffer data, vector<Id> authinfo} with no length prefix
// (spec/quorum-protocol.md 1-2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::quorum {

namespace packet {
constexpr int32_t kRequest = 1;
constexpr int32_t kProposal = 2;
constexpr int32_t kAck = 3;
constexpr int32_t kCommit = 4;
constexpr int32_t kPing = 5;
constexpr int32_t kRevalidate = 6;
constexpr int32_t kSync = 7;
constexpr int32_t kInform = 8;
constexpr int32_t kCommitAndActivate = 9;
constexpr int32_t kNewLeader = 10;
constexpr int32_t kFollowerInfo = 11;
constexpr int32_t kUpToDate = 12;
constexpr int32_t kDiff = 13;
constexpr int32_t kTrunc = 14;
constexpr int32_t kSnap = 15;
constexpr int32_t kObserverInfo = 16;
constexpr int32_t kLeaderInfo = 17;
constexpr int32_t kAckEpoch = 18;
constexpr int32_t kInformAndActivate = 19;
}  // namespace packet

// LearnerInfo.protocolVersion and LEADERINFO's payload.
constexpr int32_t kLearnerProtocolVersion = 0x10000;

const char* packet_name(int32_t type);

struct QuorumPacket {
  int32_t type = 0;
  sdk::Zxid zxid = 0;
  std::optional<std::string> data;
  std::optional<std::vector<sdk::Id>> authinfo;
};

// Appends the encoding of `p` to `out`.
void encode_packet(std::string& out, const QuorumPacket& p);
// Convenience: a packet with no data.
std::string make_packet(int32_t type, sdk::Zxid zxid);
std::string make_packet(int32_t type, sdk::Zxid zxid, std::string_view data);

// Cuts complete packets off a byte stream fed in arbitrary pieces.
class PacketParser {
 public:
  explicit PacketParser(int32_t max_data = 64 * 1024 * 1024) : max_data_(max_data) {}
  void feed(const uint8_t* data, size_t size) { buf_.append(reinterpret_cast<const char*>(data), size); }
  enum class Result { kPacket, kNeedMore, kError };
  // Takes the next complete packet; kError on a malformed stream (length out of range).
  Result next(QuorumPacket& out);
  // Raw bytes not consumed yet (after a SNAP packet the snapshot stream follows).
  std::string_view pending() const { return std::string_view(buf_).substr(pos_); }
  void consume(size_t n) { pos_ += n; compact(); }

 private:
  void compact();
  std::string buf_;
  size_t pos_ = 0;
  int32_t max_data_;
};

}  // namespace paddock::quorum
