// The bytes of ZooKeeper 3.8's election port (spec/election-protocol.md 1.2, 1.3, 2): the
// initial message a connecting server sends, the int32-length framing, and the notification.
// Big-endian DataOutputStream / ByteBuffer encoding, not jute. Pure functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::election_fle {

// ---- initial message (QuorumCnxManager.InitialMessage) ----
constexpr int64_t kProtocolVersionV1 = -65536;  // 0xFFFFFFFFFFFF0000
constexpr int64_t kProtocolVersionV2 = -65535;  // multiAddress.enabled=true only
constexpr int32_t kMaxAnnouncedAddress = 2048;  // QuorumCnxManager.maxBuffer
// QuorumPeer.OBSERVER_ID: a legacy observer without an id announces this.
constexpr sdk::ServerId kLegacyObserverId = INT64_MAX;

// ---- framing (RecvWorker) ----
constexpr int32_t kMaxFrame = 512 * 1024;  // QuorumCnxManager.PACKETMAXSIZE
constexpr size_t kFrameHeader = 4;

// ---- notification (FastLeaderElection.buildMsg) ----
constexpr int32_t kNotificationVersion = 2;  // Notification.CURRENTVERSION
constexpr size_t kNotificationHeader = 44;   // everything before the config text

struct HostPort {
  std::string host;  // unbracketed
  uint16_t port = 0;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// "host:port", an IPv6 literal bracketed ("[::1]:3888"), as NetUtils.formatInetAddr writes it.
std::string format_host_port(std::string_view host, uint16_t port);

// One address of an initial message, as ConfigUtils.getHostAndPort + InitialMessage.parse
// read it: "host:port" or "[v6]:port"; nullopt when badly formed.
std::optional<HostPort> parse_host_port(std::string_view text);

// 0.0.0.0 / :: and their spellings: ignored in an initial message's address list.
bool is_wildcard_host(std::string_view host);

struct InitialMessage {
  int64_t protocol_version = kProtocolVersionV1;  // the sid itself for a pre-3.5 peer
  sdk::ServerId sid = 0;
  std::vector<HostPort> addresses;  // wildcards dropped; empty for a pre-3.5 peer
};

// V1 initial message: protocol version, sid, int32 length, "host:port".
std::vector<uint8_t> encode_initial_message(sdk::ServerId sid, std::string_view address);

enum class ParseStatus { kNeedMore, kDone, kError };

// Reads an initial message from the start of `data`. kDone sets `out` and `consumed`;
// kError sets `error` (the connection must be closed); kNeedMore asks for more bytes.
ParseStatus parse_initial_message(const uint8_t* data, size_t size, InitialMessage& out,
                                  size_t& consumed, std::string& error);

// A notification as received: the raw fields, before the receiver judges them.
struct Notification {
  int32_t state = 0;  // 0 LOOKING, 1 FOLLOWING, 2 LEADING, 3 OBSERVING; others are dropped
  sdk::ServerId leader = 0;
  sdk::Zxid zxid = 0;
  int64_t election_epoch = 0;
  int64_t peer_epoch = 0;
  int32_t version = 0;                // 0 for the 28- and 40-byte shapes
  std::optional<std::string> config;  // present when version > 1
  sdk::ServerId sid = 0;              // the sender (from the connection, not the payload)
};

// The 44 + n byte payload of a version-2 notification.
std::vector<uint8_t> encode_notification(sdk::PeerState state, sdk::ServerId leader,
                                         sdk::Zxid zxid, int64_t election_epoch,
                                         int64_t peer_epoch, std::string_view config);

// The same, with the int32 frame length in front (what goes on the socket).
std::vector<uint8_t> encode_notification_frame(sdk::PeerState state, sdk::ServerId leader,
                                               sdk::Zxid zxid, int64_t election_epoch,
                                               int64_t peer_epoch, std::string_view config);

// Decodes one payload, accepting the 28- and 40-byte shapes of older servers
// (Messenger.WorkerReceiver). nullopt, with `error` set, for a partial or malformed message.
std::optional<Notification> decode_notification(const uint8_t* data, size_t size,
                                                std::string& error);

// The "version=<hex>" line of a quorum config text (QuorumMaj.toString); nullopt when absent
// or not hexadecimal.
std::optional<int64_t> config_version(std::string_view config_text);

// Big-endian helpers.
inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void put_be64(uint8_t* p, uint64_t v) {
  put_be32(p, static_cast<uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<uint32_t>(v));
}
inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t get_be64(const uint8_t* p) {
  return (uint64_t{get_be32(p)} << 32) | get_be32(p + 4);
}

}  // namespace paddock::election_fle
