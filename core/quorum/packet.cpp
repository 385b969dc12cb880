#include "quorum/packet.hpp"

#include "paddock/sdk/jute.hpp"

namespace paddock::quorum {

const char* packet_name(int32_t type) {
  switch (type) {
    case packet::kRequest: return "REQUEST";
    case packet::kProposal: return "PROPOSAL";
    case packet::kAck: return "ACK";
    case packet::kCommit: return "COMMIT";
    case packet::kPing: return "PING";
    case packet::kRevalidate: return "REVALIDATE";
    case packet::kSync: return "SYNC";
    case packet::kInform: return "INFORM";
    case packet::kCommitAndActivate: return "COMMITANDACTIVATE";
    case packet::kNewLeader: return "NEWLEADER";
    case packet::kFollowerInfo: return "FOLLOWERINFO";
    case packet::kUpToDate: return "UPTODATE";
    case packet::kDiff: return "DIFF";
    case packet::kTrunc: return "TRUNC";
    case packet::kSnap: return "SNAP";
    case packet::kObserverInfo: return "OBSERVERINFO";
    case packet::kLeaderInfo: return "LEADERINFO";
    case packet::kAckEpoch: return "ACKEPOCH";
    case packet::kInformAndActivate: return "INFORMANDACTIVATE";
    default: return "UNKNOWN";
  }
}

void encode_packet(std::string& out, const QuorumPacket& p) {
  sdk::jute::Writer w(out);
  w.write_int(p.type);
  w.write_long(p.zxid);
  if (p.data) w.write_buffer(*p.data); else w.write_null();
  if (p.authinfo) {
    w.write_int(static_cast<int32_t>(p.authinfo->size()));
    for (const auto& id : *p.authinfo) {
      w.write_string(id.scheme);
      w.write_string(id.id);
    }
  } else {
    w.write_null();
  }
}

std::string make_packet(int32_t type, sdk::Zxid zxid) {
  std::string out;
  encode_packet(out, {type, zxid, std::nullopt, std::nullopt});
  return out;
}

std::string make_packet(int32_t type, sdk::Zxid zxid, std::string_view data) {
  std::string out;
  out.reserve(4 + 8 + 4 + data.size() + 4);
  sdk::jute::Writer w(out);
  w.write_int(type);
  w.write_long(zxid);
  w.write_buffer(data);
  w.write_null();
  return out;
}

void PacketParser::compact() {
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > (1u << 20))) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

PacketParser::Result PacketParser::next(QuorumPacket& out) {
  std::string_view avail = std::string_view(buf_).substr(pos_);
  // Fixed part: type, zxid, data length.
  if (avail.size() < 16) return Result::kNeedMore;
  sdk::jute::Reader r(avail);
  out.type = r.read_int();
  out.zxid = r.read_long();
  int32_t len = r.read_int();
  if (len < -1 || len > max_data_) return Result::kError;
  if (len >= 0) {
    if (r.remaining() < static_cast<size_t>(len)) return Result::kNeedMore;
    out.data = std::string(r.read_raw(static_cast<size_t>(len)));
  } else {
    out.data.reset();
  }
  if (r.remaining() < 4) return Result::kNeedMore;
  int32_t count = r.read_int();
  if (count < -1 || count > 1024) return Result::kError;
  if (count >= 0) {
    std::vector<sdk::Id> ids;
    for (int32_t i = 0; i < count; ++i) {
      for (int k = 0; k < 2; ++k) {
        if (r.remaining() < 4) return Result::kNeedMore;
        size_t before = r.remaining();
        sdk::jute::Reader peek(r.position(), before);
        int32_t slen = peek.read_int();
        if (slen < -1 || slen > max_data_) return Result::kError;
        if (slen > 0 && before - 4 < static_cast<size_t>(slen)) return Result::kNeedMore;
        std::string s = r.read_string();
        if (k == 0) ids.push_back({std::move(s), {}}); else ids.back().id = std::move(s);
      }
    }
    out.authinfo = std::move(ids);
  } else {
    out.authinfo.reset();
  }
  pos_ += avail.size() - r.remaining();
  compact();
  return Result::kPacket;
}

}  // namespace paddock::quorum
