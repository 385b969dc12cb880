#include "probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.hpp"
#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::bench {

namespace jute = paddock::sdk::jute;

namespace {

class Socket {
 public:
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd_ = -1;
};

bool wait_fd(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    int64_t left_ms = (deadline_ns - now_ns()) / 1000000;
    if (left_ms <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left_ms));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool send_all(int fd, const std::string& bytes, int64_t deadline_ns) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLOUT, deadline_ns)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool recv_all(int fd, char* out, size_t len, int64_t deadline_ns) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::recv(fd, out + off, len - off, 0);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLIN, deadline_ns)) return false;
    } else {
      return false;  // closed or failed
    }
  }
  return true;
}

// Sends one frame (length prefix added here) and reads one frame back.
bool exchange(int fd, const std::string& payload, std::string& reply, int64_t deadline_ns) {
  std::string frame;
  jute::Writer w(frame);
  w.write_int(static_cast<int32_t>(payload.size()));
  w.write_raw(payload);
  if (!send_all(fd, frame, deadline_ns)) return false;
  char len_bytes[4];
  if (!recv_all(fd, len_bytes, 4, deadline_ns)) return false;
  jute::Reader r(len_bytes, 4);
  int32_t len = r.read_int();
  if (len < 0 || len > (1 << 20)) return false;
  reply.resize(static_cast<size_t>(len));
  return recv_all(fd, reply.data(), reply.size(), deadline_ns);
}

}  // namespace

ProbeResult probe_get_data(const std::string& host, int port, const std::string& path,
                           int timeout_ms) {
  ProbeResult res;
  int64_t deadline = now_ns() + int64_t{timeout_ms} * 1000000;
  Socket s;
  s.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) {
    res.why = std::string("socket: ") + std::strerror(errno);
    return res;
  }
  int one = 1;
  setsockopt(s.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    res.why = "not an IPv4 address: " + host;
    return res;
  }
  if (::connect(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      res.why = std::string("connect: ") + std::strerror(errno);
      return res;
    }
    if (!wait_fd(s.fd_, POLLOUT, deadline)) {
      res.why = "connect: timed out";
      return res;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      res.why = std::string("connect: ") + std::strerror(err);
      return res;
    }
  }
  // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
  std::string req;
  jute::Writer w(req);
  w.write_int(0);
  w.write_long(0);
  w.write_int(10000);
  w.write_long(0);
  w.write_buffer(std::string(16, '\0'));
  w.write_bool(false);
  std::string reply;
  if (!exchange(s.fd_, req, reply, deadline)) {
    res.why = "no session handshake";
    return res;
  }
  {
    jute::Reader r(reply);
    r.read_int();                  // protocolVersion
    int32_t timeout = r.read_int();
    r.read_long();                 // sessionId
    if (!r.ok() || timeout <= 0) {
      res.why = "session refused";
      return res;
    }
  }
  // getData(path, watch=false) with xid 1.
  req.clear();
  w.write_int(1);
  w.write_int(static_cast<int32_t>(sdk::OpCode::kGetData));
  w.write_string(path);
  w.write_bool(false);
  if (!exchange(s.fd_, req, reply, deadline)) {
    res.why = "no getData reply";
    return res;
  }
  jute::Reader r(reply);
  int32_t xid = r.read_int();
  r.read_long();  // zxid
  int32_t err = r.read_int();
  if (!r.ok() || xid != 1) {
    res.why = "malformed getData reply";
    return res;
  }
  res.answered = true;
  res.err = err;
  // closeSession (xid 2) so probes do not leave sessions behind; the reply is not awaited long.
  req.clear();
  w.write_int(2);
  w.write_int(static_cast<int32_t>(sdk::OpCode::kCloseSession));
  exchange(s.fd_, req, reply, std::min<int64_t>(deadline, now_ns() + 1000000000LL));
  return res;
}

double wait_for_read(const std::string& host, int port, const std::string& path, double timeout_s,
                     const std::function<bool()>& alive) {
  double start = now_s();
  std::string last = "no attempt";
  while (now_s() - start < timeout_s) {
    throw_if_interrupted();
    if (alive && !alive()) throw BenchError("the server exited before answering (" + last + ")");
    ProbeResult r = probe_get_data(host, port, path, 2000);
    if (r.answered && r.err == 0) return now_s() - start;
    last = r.answered ? "getData " + path + " answered error " + std::to_string(r.err) : r.why;
    sleep_s(r.answered ? 0.02 : 0.005);
  }
  throw BenchError("no successful getData of " + path + " on " + host + ":" + std::to_string(port) +
                   " within " + std::to_string(static_cast<int>(timeout_s)) + " s (last: " + last + ")");
}

}  // namespace paddock::bench
