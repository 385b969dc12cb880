#include "wire.hpp"

#include <charconv>
#include <cstring>

namespace paddock::election_fle {
namespace {

bool parse_port(std::string_view text, uint16_t& port) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);  // Integer.parseInt takes it
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

std::string format_host_port(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort result;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    result.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // String.split(":") must give exactly host and port
    }
    result.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (result.host.empty() || !parse_port(port_text, result.port)) return std::nullopt;
  return result;
}

bool is_wildcard_host(std::string_view host) {
  return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0" || host == "::0";
}

std::vector<uint8_t> encode_initial_message(sdk::ServerId sid, std::string_view address) {
  std::vector<uint8_t> out(20 + address.size());
  put_be64(out.data(), static_cast<uint64_t>(kProtocolVersionV1));
  put_be64(out.data() + 8, static_cast<uint64_t>(sid));
  put_be32(out.data() + 16, static_cast<uint32_t>(address.size()));
  if (!address.empty()) std::memcpy(out.data() + 20, address.data(), address.size());
  return out;
}

ParseStatus parse_initial_message(const uint8_t* data, size_t size, InitialMessage& out,
                                  size_t& consumed, std::string& error) {
  if (size < 8) return ParseStatus::kNeedMore;
  const auto version = static_cast<int64_t>(get_be64(data));
  if (version >= 0) {  // a pre-3.5 server: the first long is its sid, nothing follows
    out = InitialMessage{version, version, {}};
    consumed = 8;
    return ParseStatus::kDone;
  }
  if (version != kProtocolVersionV1 && version != kProtocolVersionV2) {
    error = "unrecognized protocol version " + std::to_string(version);
    return ParseStatus::kError;
  }
  if (size < 20) return ParseStatus::kNeedMore;
  const auto sid = static_cast<int64_t>(get_be64(data + 8));
  const auto length = static_cast<int32_t>(get_be32(data + 16));
  if (length <= 0 || length > kMaxAnnouncedAddress) {
    error = "unreasonable address length " + std::to_string(length) + " from server " +
            std::to_string(sid);
    return ParseStatus::kError;
  }
  if (size < 20 + static_cast<size_t>(length)) return ParseStatus::kNeedMore;
  const std::string_view text(reinterpret_cast<const char*>(data + 20),
                              static_cast<size_t>(length));
  InitialMessage message{version, sid, {}};
  size_t begin = 0;
  while (true) {  // V2 lists several addresses separated by '|'; V1 has one
    const size_t bar = text.find('|', begin);
    const std::string_view item =
        text.substr(begin, bar == std::string_view::npos ? std::string_view::npos : bar - begin);
    auto address = parse_host_port(item);
    if (!address) {
      error = "badly formed address '" + std::string(item) + "' from server " +
              std::to_string(sid);
      return ParseStatus::kError;
    }
    if (!is_wildcard_host(address->host)) message.addresses.push_back(std::move(*address));
    if (bar == std::string_view::npos) break;
    begin = bar + 1;
  }
  out = std::move(message);
  consumed = 20 + static_cast<size_t>(length);
  return ParseStatus::kDone;
}

namespace {

void write_notification(uint8_t* p, sdk::PeerState state, sdk::ServerId leader, sdk::Zxid zxid,
                        int64_t election_epoch, int64_t peer_epoch, std::string_view config) {
  put_be32(p, static_cast<uint32_t>(state));
  put_be64(p + 4, static_cast<uint64_t>(leader));
  put_be64(p + 12, static_cast<uint64_t>(zxid));
  put_be64(p + 20, static_cast<uint64_t>(election_epoch));
  put_be64(p + 28, static_cast<uint64_t>(peer_epoch));
  put_be32(p + 36, static_cast<uint32_t>(kNotificationVersion));
  put_be32(p + 40, static_cast<uint32_t>(config.size()));
  if (!config.empty()) std::memcpy(p + 44, config.data(), config.size());
}

}  // namespace

std::vector<uint8_t> encode_notification(sdk::PeerState state, sdk::ServerId leader,
                                         sdk::Zxid zxid, int64_t election_epoch,
                                         int64_t peer_epoch, std::string_view config) {
  std::vector<uint8_t> out(kNotificationHeader + config.size());
  write_notification(out.data(), state, leader, zxid, election_epoch, peer_epoch, config);
  return out;
}

std::vector<uint8_t> encode_notification_frame(sdk::PeerState state, sdk::ServerId leader,
                                               sdk::Zxid zxid, int64_t election_epoch,
                                               int64_t peer_epoch, std::string_view config) {
  const size_t payload = kNotificationHeader + config.size();
  std::vector<uint8_t> out(kFrameHeader + payload);
  put_be32(out.data(), static_cast<uint32_t>(payload));
  write_notification(out.data() + kFrameHeader, state, leader, zxid, election_epoch, peer_epoch,
                     config);
  return out;
}

std::optional<Notification> decode_notification(const uint8_t* data, size_t size,
                                                std::string& error) {
  // Shapes by total length, as Messenger.WorkerReceiver reads them: < 28 ignored; 28 = no
  // peerEpoch (taken from the zxid); 40 = peerEpoch, no version; otherwise peerEpoch, version
  // and, from version 2, the config text. Reading past the end is a malformed message.
  if (size < 28) {
    error = "notification of " + std::to_string(size) + " bytes (at least 28 expected)";
    return std::nullopt;
  }
  Notification n;
  n.state = static_cast<int32_t>(get_be32(data));
  n.leader = static_cast<int64_t>(get_be64(data + 4));
  n.zxid = static_cast<int64_t>(get_be64(data + 12));
  n.election_epoch = static_cast<int64_t>(get_be64(data + 20));
  if (size == 28) {
    n.peer_epoch = sdk::zxid_epoch(n.zxid);
    return n;
  }
  auto underflow = [&] {
    error = "partial notification of " + std::to_string(size) + " bytes";
    return std::nullopt;
  };
  if (size < 36) return underflow();
  n.peer_epoch = static_cast<int64_t>(get_be64(data + 28));
  if (size == 40) return n;
  if (size < 40) return underflow();
  n.version = static_cast<int32_t>(get_be32(data + 36));
  if (n.version > 1) {
    if (size < 44) return underflow();
    const auto length = static_cast<int32_t>(get_be32(data + 40));
    if (length < 0 || static_cast<size_t>(length) > size) {
      error = "invalid config length " + std::to_string(length) + " in a notification of " +
              std::to_string(size) + " bytes";
      return std::nullopt;
    }
    if (44 + static_cast<size_t>(length) > size) return underflow();
    n.config = std::string(reinterpret_cast<const char*>(data + 44), static_cast<size_t>(length));
  }
  return n;
}

std::optional<int64_t> config_version(std::string_view text) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    constexpr std::string_view kKey = "version=";
    if (line.starts_with(kKey)) {
      line.remove_prefix(kKey.size());
      uint64_t value = 0;
      auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value, 16);
      if (ec != std::errc() || ptr != line.data() + line.size() || line.empty()) {
        return std::nullopt;
      }
      return static_cast<int64_t>(value);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace paddock::election_fle
