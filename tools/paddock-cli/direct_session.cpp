#include "direct_session.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::cli {
namespace {

using sdk::OpCode;
using sdk::jute::Reader;
using sdk::jute::Writer;
using Clock = std::chrono::steady_clock;

constexpr int32_t kXidNotification = -1;
constexpr int32_t kXidPing = -2;
constexpr int32_t kXidAuth = -4;
constexpr uint32_t kMaxFrame = 64u << 20;
constexpr auto kCloseWait = std::chrono::milliseconds(1000);

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string os_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// A zero-length frame cannot hold a reply header; a length past kMaxFrame is not believed.
bool frame_length(std::string_view buf, uint32_t* len) {
  if (buf.size() < 4) return false;
  Reader r(buf.substr(0, 4));
  *len = static_cast<uint32_t>(r.read_int());
  return true;
}

KeeperState wire_state(int32_t s) {
  switch (s) {
    case 0: return KeeperState::kDisconnected;
    case 4: return KeeperState::kAuthFailed;
    case 5: return KeeperState::kConnectedReadOnly;
    case -112: return KeeperState::kExpired;
    case 7: return KeeperState::kClosed;
    default: return KeeperState::kSyncConnected;
  }
}

EventType wire_type(int32_t t) {
  switch (t) {
    case 1: return EventType::kNodeCreated;
    case 2: return EventType::kNodeDeleted;
    case 3: return EventType::kNodeDataChanged;
    case 4: return EventType::kNodeChildrenChanged;
    case 5: return EventType::kDataWatchRemoved;
    case 6: return EventType::kChildWatchRemoved;
    case 7: return EventType::kPersistentWatchRemoved;
    default: return EventType::kNone;
  }
}

// One client-protocol frame: length, then the record.
std::string framed(const std::string& record) {
  std::string out;
  Writer w(out);
  w.write_int(static_cast<int32_t>(record.size()));
  w.write_raw(record);
  return out;
}

std::string request(int32_t xid, OpCode opcode, const std::string& body) {
  std::string record;
  Writer w(record);
  w.write_int(xid);
  w.write_int(static_cast<int32_t>(opcode));
  w.write_raw(body);
  return framed(record);
}

}  // namespace

DirectSession::DirectSession(EventHandler on_event, LostHandler on_lost)
    : on_event_(std::move(on_event)), on_lost_(std::move(on_lost)) {}

DirectSession::~DirectSession() { close(); }

bool DirectSession::alive() const {
  std::lock_guard lk(mu_);
  return !dead_;
}

bool DirectSession::send_frame(const std::string& frame) {
  std::lock_guard lk(write_mu_);
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool DirectSession::read_frame_blocking(std::string* frame, Clock::time_point deadline) {
  for (;;) {
    uint32_t len = 0;
    if (frame_length(inbuf_, &len)) {
      if (len > kMaxFrame) return false;
      if (inbuf_.size() >= 4 + len) {
        *frame = inbuf_.substr(4, len);
        inbuf_.erase(0, 4 + len);
        return true;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    inbuf_.append(buf, static_cast<size_t>(n));
  }
}

int DirectSession::open(const sockaddr* addr, socklen_t addr_len, int timeout_ms,
                        const std::vector<Credential>& credentials,
                        std::chrono::milliseconds within, std::string* why) {
  auto deadline = Clock::now() + within;
  fd_ = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    *why = os_error("socket");
    return zerr::kConnectionLoss;
  }
  if (::connect(fd_, addr, addr_len) < 0 && errno != EINPROGRESS) {
    *why = os_error("connect");
    return zerr::kConnectionLoss;
  }
  pollfd p{fd_, POLLOUT, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, remaining_ms(deadline));
  } while (rc < 0 && errno == EINTR);
  int soerr = 0;
  socklen_t soerr_len = sizeof soerr;
  if (rc <= 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0 || soerr != 0) {
    if (soerr != 0) errno = soerr;
    *why = rc == 0 ? std::string("connect: timed out") : os_error("connect");
    return zerr::kConnectionLoss;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
  std::string connect;
  Writer c(connect);
  c.write_int(0);
  c.write_long(0);
  c.write_int(timeout_ms);
  c.write_long(0);
  c.write_buffer(std::string(16, '\0'));
  c.write_bool(false);
  std::string frame;
  if (!send_frame(framed(connect)) || !read_frame_blocking(&frame, deadline)) {
    *why = "no answer to the session request";
    return zerr::kConnectionLoss;
  }
  Reader cr(frame);
  cr.read_int();
  int32_t negotiated = cr.read_int();
  if (!cr.ok() || negotiated <= 0) {
    *why = "the server refused the session";
    return zerr::kConnectionLoss;
  }
  ping_interval_ms_ = negotiated / 3 > 0 ? negotiated / 3 : 1;

  for (const auto& cred : credentials) {
    std::string auth;
    Writer a(auth);
    a.write_int(0);
    a.write_string(cred.scheme);
    a.write_optional_buffer(cred.auth);
    if (!send_frame(request(kXidAuth, OpCode::kAuth, auth))) {
      *why = os_error("send");
      return zerr::kConnectionLoss;
    }
    for (;;) {  // notifications cannot arrive yet: no watch has been set on this session
      if (!read_frame_blocking(&frame, deadline)) {
        *why = "no answer to addauth " + cred.scheme;
        return zerr::kConnectionLoss;
      }
      Reader h(frame);
      int32_t xid = h.read_int();
      h.read_long();
      int32_t err = h.read_int();
      if (xid != kXidAuth) continue;
      if (err != zerr::kOk) {
        *why = "addauth " + cred.scheme + " refused";
        return err;
      }
      break;
    }
  }

  if (::pipe2(wake_, O_CLOEXEC) < 0) {
    *why = os_error("pipe");
    return zerr::kSystemError;
  }
  {
    std::lock_guard lk(mu_);
    dead_ = false;
  }
  io_ = std::thread([this] { io_loop(); });
  return zerr::kOk;
}

int DirectSession::call(sdk::OpCode opcode, const std::string& body, std::string* reply,
                        std::chrono::milliseconds timeout) {
  int32_t xid;
  {
    std::lock_guard lk(mu_);
    if (dead_) return zerr::kConnectionLoss;
    xid = next_xid_++;
    pending_[xid] = Pending{};
  }
  if (!send_frame(request(xid, opcode, body))) {
    std::lock_guard lk(mu_);
    pending_.erase(xid);
    return zerr::kConnectionLoss;
  }
  std::unique_lock lk(mu_);
  bool done = cv_.wait_for(lk, timeout, [&] { return pending_[xid].done; });
  Pending p = std::move(pending_[xid]);
  pending_.erase(xid);
  if (!done) return zerr::kOperationTimeout;
  if (reply) *reply = std::move(p.body);
  return p.err;
}

void DirectSession::io_loop() {
  auto last_sent = Clock::now();
  auto last_heard = Clock::now();
  const auto silence_limit = std::chrono::milliseconds(ping_interval_ms_ * 3);
  std::string lost_because;
  for (;;) {
    auto now = Clock::now();
    if (now - last_heard > silence_limit) {
      lost_because = "the server stopped answering";
      break;
    }
    auto ping_due = last_sent + std::chrono::milliseconds(ping_interval_ms_);
    if (now >= ping_due) {
      if (!send_frame(request(kXidPing, OpCode::kPing, {}))) {
        lost_because = os_error("send");
        break;
      }
      last_sent = now;
      ping_due = now + std::chrono::milliseconds(ping_interval_ms_);
    }
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int rc = ::poll(p, 2, remaining_ms(ping_due) + 1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      lost_because = os_error("poll");
      break;
    }
    if (p[1].revents) return;  // close() asked us to stop; it reports nothing
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      lost_because = n == 0 ? std::string("the server closed the connection") : os_error("recv");
      break;
    }
    last_heard = Clock::now();
    inbuf_.append(buf, static_cast<size_t>(n));
    uint32_t len = 0;
    bool bad = false;
    while (frame_length(inbuf_, &len)) {
      if (len > kMaxFrame) {
        bad = true;
        break;
      }
      if (inbuf_.size() < 4 + len) break;
      std::string frame = inbuf_.substr(4, len);
      inbuf_.erase(0, 4 + len);
      dispatch(frame);
    }
    if (bad) {
      lost_because = "the server sent an oversized frame";
      break;
    }
  }
  bool report;
  {
    std::lock_guard lk(mu_);
    report = !closing_;
  }
  fail_all(lost_because);
  if (report && on_lost_) on_lost_(lost_because);
}

void DirectSession::dispatch(const std::string& frame) {
  Reader r(frame);
  int32_t xid = r.read_int();
  r.read_long();  // zxid
  int32_t err = r.read_int();
  if (!r.ok()) return;
  if (xid == kXidNotification) {
    WatchEvent ev;
    ev.type = wire_type(r.read_int());
    ev.state = wire_state(r.read_int());
    std::string path = r.read_string();
    if (!r.ok()) return;
    if (ev.type != EventType::kNone) ev.path = std::move(path);
    if (on_event_) on_event_(ev);
    return;
  }
  if (xid == kXidPing || xid == kXidAuth) return;
  std::lock_guard lk(mu_);
  auto it = pending_.find(xid);
  if (it == pending_.end()) return;
  it->second.done = true;
  it->second.err = err;
  it->second.body = std::string(r.read_raw(r.remaining()));
  cv_.notify_all();
}

void DirectSession::fail_all(const std::string&) {
  std::lock_guard lk(mu_);
  dead_ = true;
  for (auto& [xid, p] : pending_) {
    if (!p.done) {
      p.done = true;
      p.err = zerr::kConnectionLoss;
    }
  }
  cv_.notify_all();
}

void DirectSession::close() {
  bool was_alive;
  {
    std::lock_guard lk(mu_);
    was_alive = !dead_;
    closing_ = true;
  }
  if (was_alive) call(OpCode::kCloseSession, {}, nullptr, kCloseWait);
  if (io_.joinable()) {
    char b = 1;
    if (::write(wake_[1], &b, 1) < 0) { /* the thread also ends when the socket closes */ }
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    io_.join();
  }
  for (int* fd : {&fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  std::lock_guard lk(mu_);
  dead_ = true;
}

}  // namespace paddock::cli
