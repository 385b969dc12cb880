"""A small raw ZooKeeper client-protocol speaker for tests that need byte-level control.

Only what the tests need: jute encoding of the common records, the connect handshake,
request/reply framing, notifications (xid -1), and helpers that bound every socket read with a
timeout. Layouts follow /work/shared/spec/jute.md and client-protocol.md.
"""

import socket
import struct
import time
from collections import namedtuple

# Opcodes (ZooDefs.OpCode)
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GETDATA = 4
OP_SETDATA = 5
OP_GETACL = 6
OP_SETACL = 7
OP_GETCHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GETCHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_CHECKWATCHES = 17
OP_REMOVEWATCHES = 18
OP_CREATECONTAINER = 19
OP_CREATETTL = 21
OP_MULTIREAD = 22
OP_AUTH = 100
OP_SETWATCHES = 101
OP_GETEPHEMERALS = 103
OP_GETALLCHILDRENNUMBER = 104
OP_SETWATCHES2 = 105
OP_ADDWATCH = 106
OP_WHOAMI = 107
OP_CLOSE = -11

XID_AUTH = -4

XID_NOTIFICATION = -1
XID_PING = -2

# Error codes (KeeperException.Code)
OK = 0
RUNTIMEINCONSISTENCY = -2
MARSHALLINGERROR = -5
UNIMPLEMENTED = -6
BADARGUMENTS = -8
NONODE = -101
BADVERSION = -103
NOCHILDRENFOREPHEMERALS = -108
NODEEXISTS = -110
NOTEMPTY = -111
SESSIONEXPIRED = -112
NOAUTH = -102
INVALIDACL = -114
AUTHFAILED = -115
NOTREADONLY = -119
NOWATCHER = -121
QUOTAEXCEEDED = -125

# ACL permission bits (ZooDefs.Perms)
READ, WRITE, CREATE, DELETE, ADMIN, ALL = 1, 2, 4, 8, 16, 31

# Watcher event types
EV_CREATED = 1
EV_DELETED = 2
EV_CHANGED = 3
EV_CHILD = 4

OPEN_ACL = [(31, "world", "anyone")]

Stat = namedtuple(
    "Stat",
    "czxid mzxid ctime mtime version cversion aversion ephemeralOwner dataLength numChildren pzxid",
)
_STAT = struct.Struct("!qqqqiiiqiiq")
ConnectResponse = namedtuple("ConnectResponse", "protocol_version timeout session_id passwd read_only")
Reply = namedtuple("Reply", "xid zxid err body")
Event = namedtuple("Event", "type state path")


class ProtocolError(Exception):
    pass


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


# ---------------------------------------------------------------- jute encoding

def p_int(v):
    return struct.pack("!i", v)


def p_long(v):
    return struct.pack("!q", v)


def p_bool(v):
    return b"\x01" if v else b"\x00"


def p_buffer(b):
    if b is None:
        return p_int(-1)
    return p_int(len(b)) + b


def p_string(s):
    if s is None:
        return p_int(-1)
    if isinstance(s, str):
        s = s.encode("utf-8")
    return p_int(len(s)) + s


def p_acls(acls):
    out = p_int(len(acls))
    for perms, scheme, ident in acls:
        out += p_int(perms) + p_string(scheme) + p_string(ident)
    return out


def p_string_vector(items):
    out = p_int(len(items))
    for s in items:
        out += p_string(s)
    return out


class Reader:
    def __init__(self, data, offset=0):
        self.data = data
        self.off = offset

    def _take(self, n):
        if self.off + n > len(self.data):
            raise ProtocolError(f"short record: need {n} bytes at {self.off}, have {len(self.data)}")
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def int(self):
        return struct.unpack("!i", self._take(4))[0]

    def long(self):
        return struct.unpack("!q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        if n < 0:
            return None
        return self._take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def stat(self):
        return Stat._make(_STAT.unpack(self._take(_STAT.size)))

    def acls(self):
        n = self.int()
        return [(self.int(), self.string(), self.string()) for _ in range(n)]

    def strings(self):
        n = self.int()
        return [self.string() for _ in range(n)]

    def remaining(self):
        return len(self.data) - self.off


# ---------------------------------------------------------------- request bodies

def create_body(path, data=b"", acls=OPEN_ACL, flags=0):
    return p_string(path) + p_buffer(data) + p_acls(acls) + p_int(flags)


def path_watch_body(path, watch=False):
    return p_string(path) + p_bool(watch)


def delete_body(path, version=-1):
    return p_string(path) + p_int(version)


def setdata_body(path, data, version=-1):
    return p_string(path) + p_buffer(data) + p_int(version)


def check_body(path, version):
    return p_string(path) + p_int(version)


def setwatches_body(relative_zxid, data=(), exist=(), child=()):
    return (p_long(relative_zxid) + p_string_vector(list(data)) + p_string_vector(list(exist))
            + p_string_vector(list(child)))


def createttl_body(path, data=b"", acls=OPEN_ACL, flags=5, ttl=1000):
    return p_string(path) + p_buffer(data) + p_acls(acls) + p_int(flags) + p_long(ttl)


def setwatches2_body(relative_zxid, data=(), exist=(), child=(), persistent=(), recursive=()):
    return (p_long(relative_zxid) + p_string_vector(data) + p_string_vector(exist)
            + p_string_vector(child) + p_string_vector(persistent) + p_string_vector(recursive))


def auth_body(scheme, auth):
    return p_int(0) + p_string(scheme) + p_buffer(auth)


def multi_body(ops):
    """ops: (opcode, request body) pairs of a multi (or multiRead) request."""
    out = b""
    for op, body in ops:
        out += p_int(op) + p_bool(False) + p_int(-1) + body
    return out + p_int(-1) + p_bool(True) + p_int(-1)


def multiread_body(ops):
    """ops: (OP_GETDATA | OP_GETCHILDREN, path) pairs."""
    out = b""
    for op, path in ops:
        out += p_int(op) + p_bool(False) + p_int(-1) + p_string(path)
    return out + p_int(-1) + p_bool(True) + p_int(-1)


def connect_body(timeout_ms, session_id=0, passwd=b"\x00" * 16, last_zxid=0, read_only=False,
                 protocol_version=0, with_readonly_byte=True):
    body = (p_int(protocol_version) + p_long(last_zxid) + p_int(timeout_ms) + p_long(session_id)
            + p_buffer(passwd))
    if with_readonly_byte:
        body += p_bool(read_only)
    return body


def frame(payload):
    return p_int(len(payload)) + payload


def parse_event(body):
    r = Reader(body)
    return Event(r.int(), r.int(), r.string())


# ---------------------------------------------------------------- connection

class RawClient:
    """One TCP connection to the server. Every read is bounded by `timeout` seconds."""

    def __init__(self, host, port, timeout=5.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""
        self.next_xid = 1
        self.events = []          # notifications seen while waiting for replies
        self.session_id = None
        self.passwd = None
        self.negotiated_timeout = None
        self.last_zxid = 0
        self.last_send = None     # monotonic time of the last bytes sent

    # -- bytes
    def send_raw(self, data):
        self.sock.sendall(data)
        self.last_send = time.monotonic()

    def _recv_exact(self, n, deadline):
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"timed out waiting for {n} bytes (have {len(self._buf)})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError) as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("EOF")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def read_frame(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        (length,) = struct.unpack("!i", self._recv_exact(4, deadline))
        if length < 0 or length > 64 * 1024 * 1024:
            raise ProtocolError(f"bad frame length {length}")
        return self._recv_exact(length, deadline)

    def wait_closed(self, timeout=None):
        """Read (and discard) until the server closes the connection. Returns the bytes read
        before EOF; raises socket.timeout if the connection is still open at the deadline."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = self._buf
        self._buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("connection still open")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return got
            if not chunk:
                return got
            got += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- handshake
    def connect(self, timeout_ms=10000, session_id=0, passwd=b"\x00" * 16, last_zxid=0,
                read_only=False):
        self.send_raw(frame(connect_body(timeout_ms, session_id, passwd, last_zxid, read_only)))
        body = self.read_frame()
        r = Reader(body)
        resp = ConnectResponse(r.int(), r.int(), r.long(), r.buffer(),
                               r.bool() if r.remaining() >= 1 else None)
        if resp.timeout > 0:
            self.session_id = resp.session_id
            self.passwd = resp.passwd
            self.negotiated_timeout = resp.timeout
        return resp

    # -- requests
    def send_request(self, op, body=b"", xid=None):
        if xid is None:
            xid = self.next_xid
            self.next_xid += 1
        self.send_raw(frame(p_int(xid) + p_int(op) + body))
        return xid

    def read_reply(self, timeout=None):
        """Next frame parsed as ReplyHeader + body (notifications included, xid -1)."""
        data = self.read_frame(timeout)
        r = Reader(data)
        xid, zxid, err = r.int(), r.long(), r.int()
        if zxid > self.last_zxid and xid != XID_NOTIFICATION:
            self.last_zxid = zxid
        return Reply(xid, zxid, err, data[r.off:])

    def call(self, op, body=b"", timeout=None):
        """Send one request and return its Reply; notifications that arrive first are
        appended to self.events as Event tuples."""
        xid = self.send_request(op, body)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            rep = self.read_reply(max(0.01, deadline - time.monotonic()))
            if rep.xid == XID_NOTIFICATION:
                self.events.append(parse_event(rep.body))
                continue
            if rep.xid == XID_PING:
                continue
            if rep.xid != xid:
                raise ProtocolError(f"reply xid {rep.xid} while waiting for {xid}")
            return rep

    # -- conveniences (return (err, decoded-or-None))
    def create(self, path, data=b"", flags=0, acls=OPEN_ACL):
        rep = self.call(OP_CREATE, create_body(path, data, acls, flags))
        return rep.err, (Reader(rep.body).string() if rep.err == OK else None)

    def create2(self, path, data=b"", flags=0, acls=OPEN_ACL):
        rep = self.call(OP_CREATE2, create_body(path, data, acls, flags))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, (r.string(), r.stat())

    def delete(self, path, version=-1):
        return self.call(OP_DELETE, delete_body(path, version)).err, None

    def exists(self, path, watch=False):
        rep = self.call(OP_EXISTS, path_watch_body(path, watch))
        return rep.err, (Reader(rep.body).stat() if rep.err == OK else None)

    def get_data(self, path, watch=False):
        rep = self.call(OP_GETDATA, path_watch_body(path, watch))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, (r.buffer(), r.stat())

    def set_data(self, path, data, version=-1):
        rep = self.call(OP_SETDATA, setdata_body(path, data, version))
        return rep.err, (Reader(rep.body).stat() if rep.err == OK else None)

    def get_children(self, path, watch=False):
        rep = self.call(OP_GETCHILDREN, path_watch_body(path, watch))
        return rep.err, (Reader(rep.body).strings() if rep.err == OK else None)

    def set_acl(self, path, acls, version=-1):
        rep = self.call(OP_SETACL, p_string(path) + p_acls(acls) + p_int(version))
        return rep.err, (Reader(rep.body).stat() if rep.err == OK else None)

    def _reply_to(self, xid, what):
        """The reply with `xid`, collecting the events that come before it."""
        deadline = time.monotonic() + self.timeout
        while True:
            rep = self.read_reply(max(0.01, deadline - time.monotonic()))
            if rep.xid == XID_NOTIFICATION:
                self.events.append(parse_event(rep.body))
                continue
            if rep.xid != xid:
                raise ProtocolError(f"unexpected xid {rep.xid} while waiting for {what} reply")
            return rep

    def ping(self):
        return self._reply_to(self.send_request(OP_PING, b"", xid=XID_PING), "ping")

    def close_session(self):
        return self.call(OP_CLOSE, b"")

    def add_auth(self, scheme, auth):
        """addauth: the reply (xid -4) comes straight from the connection handler."""
        xid = self.send_request(OP_AUTH, auth_body(scheme, auth), xid=XID_AUTH)
        return self._reply_to(xid, "auth").err

    def get_acl(self, path):
        rep = self.call(OP_GETACL, p_string(path))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, (r.acls(), r.stat())

    def whoami(self):
        rep = self.call(OP_WHOAMI, b"")
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, [(r.string(), r.string()) for _ in range(r.int())]

    def add_watch(self, path, mode):
        rep = self.call(OP_ADDWATCH, p_string(path) + p_int(mode))
        return rep.err, rep.body

    def remove_watches(self, path, kind):
        return self.call(OP_REMOVEWATCHES, p_string(path) + p_int(kind)).err, None

    def check_watches(self, path, kind):
        return self.call(OP_CHECKWATCHES, p_string(path) + p_int(kind)).err, None

    def get_ephemerals(self, prefix):
        rep = self.call(OP_GETEPHEMERALS, p_string(prefix))
        return rep.err, (sorted(Reader(rep.body).strings()) if rep.err == OK else None)

    def get_all_children_number(self, path):
        rep = self.call(OP_GETALLCHILDRENNUMBER, p_string(path))
        return rep.err, (Reader(rep.body).int() if rep.err == OK else None)

    def create_container(self, path, data=b"", acls=OPEN_ACL, flags=4):
        rep = self.call(OP_CREATECONTAINER, create_body(path, data, acls, flags))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, (r.string(), r.stat())

    def create_ttl(self, path, data=b"", ttl=1000, flags=5, acls=OPEN_ACL):
        rep = self.call(OP_CREATETTL, createttl_body(path, data, acls, flags, ttl))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        return rep.err, (r.string(), r.stat())

    def multi_read(self, ops):
        """Results as (type, err-or-payload) per op."""
        rep = self.call(OP_MULTIREAD, multiread_body(ops))
        if rep.err != OK:
            return rep.err, None
        r = Reader(rep.body)
        out = []
        while True:
            t, done, err = r.int(), r.bool(), r.int()
            if done:
                break
            if t == -1:
                out.append(("error", r.int()))
            elif t == OP_GETDATA:
                out.append(("data", r.buffer(), r.stat()))
            else:
                out.append(("children", sorted(r.strings())))
        return rep.err, out


def connect(host, port, timeout_ms=10000, io_timeout=5.0, **kw):
    c = RawClient(host, port, timeout=io_timeout)
    try:
        resp = c.connect(timeout_ms=timeout_ms, **kw)
    except BaseException:
        c.close()
        raise
    if resp.timeout <= 0:
        c.close()
        raise ProtocolError(f"session refused: {resp}")
    return c


def four_letter(host, port, word, timeout=5.0):
    """Send a four-letter word (no length prefix) and read the answer to EOF."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode("ascii") if isinstance(word, str) else word)
        out = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"{word!r}: no EOF within {timeout}s (got {out!r})")
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode("utf-8", "replace")
