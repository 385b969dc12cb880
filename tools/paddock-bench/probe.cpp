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
#include "zk_wire.hpp"

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

// Sends one whole frame and reads one frame back (its payload).
bool exchange(int fd, const std::string& frame, std::string& reply, int64_t deadline_ns) {
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

int tcp_connect(const std::string& host, int port, int timeout_ms, std::string* why) {
  int64_t deadline = now_ns() + int64_t{timeout_ms} * 1000000;
  auto fail = [&](const std::string& text) {
    if (why != nullptr) *why = text;
    return -1;
  };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return fail("not an IPv4 address: " + host);
  Socket s;
  s.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(s.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return fail(std::string("connect: ") + std::strerror(errno));
    if (!wait_fd(s.fd_, POLLOUT, deadline)) return fail("connect: timed out");
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(std::string("connect: ") + std::strerror(err));
  }
  int fd = s.fd_;
  s.fd_ = -1;
  return fd;
}

ProbeResult probe_get_data(const std::string& host, int port, const std::string& path,
                           int timeout_ms) {
  ProbeResult res;
  int64_t deadline = now_ns() + int64_t{timeout_ms} * 1000000;
  Socket s;
  s.fd_ = tcp_connect(host, port, timeout_ms, &res.why);
  if (s.fd_ < 0) return res;
  std::string reply;
  if (!exchange(s.fd_, wire::connect_request(10000), reply, deadline)) {
    res.why = "no session handshake";
    return res;
  }
  auto session = wire::parse_connect_response(reply);
  if (!session || session->timeout_ms <= 0) {
    res.why = "session refused";
    return res;
  }
  if (!exchange(s.fd_, wire::get_data_frame(1, path), reply, deadline)) {
    res.why = "no getData reply";
    return res;
  }
  auto header = wire::parse_reply_header(reply);
  if (!header || header->xid != 1) {
    res.why = "malformed getData reply";
    return res;
  }
  res.answered = true;
  res.err = header->err;
  // closeSession (xid 2) so probes do not leave sessions behind; the reply is not awaited long.
  exchange(s.fd_, wire::close_session_frame(2), reply, std::min<int64_t>(deadline, now_ns() + 1000000000LL));
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
