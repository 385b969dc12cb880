"""Sessions: ephemerals vanish on close and on expiry (within timeout + tickTime), timeout
negotiation, resuming a session by id and password, wrong password / unknown / closed
sessions, session id and password format. Runs against every target.

Session-expiry tests use the shared `fast_server` (tickTime=200: timeouts clamp to
[400, 4000] ms)."""

import subprocess
import threading
import time

import pytest
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import EventType

import zkproto
from util import Recorder

FAST_TICK = 200


def java_random_password(session_id):
    """ZooKeeper's session password: first 16 bytes of java.util.Random(sid ^ 0xB3415C00)."""
    mask = (1 << 48) - 1
    s = ((session_id ^ 0xB3415C00) ^ 0x5DEECE66D) & mask
    out = bytearray()
    while len(out) < 16:
        s = (s * 0x5DEECE66D + 0xB) & mask
        r = s >> 16
        for i in range(4):
            out.append((r >> (8 * i)) & 0xFF)
    return bytes(out)


@pytest.fixture
def fbase(fast_server, make_client, request):
    """A unique persistent znode on the fast-tick shared server."""
    c = make_client(fast_server)
    path = f"/fast-{time.monotonic_ns()}-{request.node.name[:40]}".replace("[", "_").replace("]", "_")
    c.create(path, b"")
    return path


def test_password_function_check_value():
    # check value from spec/client-protocol.md §2.5 (verified there against the JDK)
    assert java_random_password(0x0100017A2B3C0000).hex() == "065cbb0e1bc49070548db8d85ced9fcc"


def test_ephemerals_vanish_when_session_closes(server, make_client, base):
    a = make_client(server)
    b = make_client(server)
    e1 = a.create(base + "/e", b"", ephemeral=True)
    e2 = a.create(base + "/es-", b"", ephemeral=True, sequence=True)
    a.create(base + "/persistent", b"")
    r1, r2 = Recorder(), Recorder()
    assert b.exists(e1, watch=r1) is not None
    b.get(e2, watch=r2)
    a.stop()
    assert r1.wait(1, 10) and r2.wait(1, 10)
    assert r1.summary() == [(EventType.DELETED, e1)]
    assert r2.summary() == [(EventType.DELETED, e2)]
    assert b.exists(e1) is None
    with pytest.raises(NoNodeError):
        b.get(e2)
    assert b.get_children(base) == ["persistent"]


def test_ephemeral_vanishes_when_session_expires(fast_server, make_client, make_raw, fbase):
    """A raw session that never pings: its ephemeral is deleted between timeout and
    timeout + tickTime after its last packet, and its connection is closed."""
    timeout_ms = 1000
    raw = make_raw(fast_server, timeout_ms=timeout_ms)
    assert raw.negotiated_timeout == timeout_ms
    path = fbase + "/doomed"
    b = make_client(fast_server)
    rec = Recorder()
    assert raw.create(path, b"x", flags=1) == (zkproto.OK, path)
    last_packet = raw.last_send
    assert b.exists(path, watch=rec).ephemeralOwner == raw.session_id
    assert rec.wait(1, (timeout_ms + FAST_TICK) / 1000 + 5)
    elapsed_ms = (time.monotonic() - last_packet) * 1000
    assert rec.summary() == [(EventType.DELETED, path)]
    assert elapsed_ms >= timeout_ms - 10, f"expired too early: {elapsed_ms:.0f} ms"
    assert elapsed_ms <= timeout_ms + FAST_TICK + 1000, f"expired too late: {elapsed_ms:.0f} ms"
    assert b.exists(path) is None
    # the server closes the expired session's connection ...
    raw.wait_closed(5)
    # ... and the session cannot be resumed
    again = make_raw(fast_server, session=False)
    resp = again.connect(timeout_ms=timeout_ms, session_id=raw.session_id, passwd=raw.passwd)
    assert (resp.timeout, resp.session_id, resp.passwd) == (0, 0, b"\x00" * 16)
    again.wait_closed(5)


def test_pings_keep_a_session_alive(fast_server, make_client, make_raw, fbase):
    timeout_ms = 600
    raw = make_raw(fast_server, timeout_ms=timeout_ms)
    path = fbase + "/kept"
    assert raw.create(path, b"", flags=1)[0] == zkproto.OK
    b = make_client(fast_server)
    end = time.monotonic() + 3 * timeout_ms / 1000
    while time.monotonic() < end:
        # pinging every timeout/3 is what the test is about: this sleep is the client's
        # heartbeat interval, not synchronisation
        time.sleep(timeout_ms / 3000)
        rep = raw.ping()
        assert rep.err == zkproto.OK and rep.zxid > 0
    assert b.exists(path).ephemeralOwner == raw.session_id


CHILD_SCRIPT = r"""
import sys
from kazoo.client import KazooClient
hosts, path = sys.argv[1], sys.argv[2]
c = KazooClient(hosts=hosts, timeout=1.0,
                connection_retry=dict(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5))
c.add_listener(lambda s: print("STATE", s, flush=True))
c.start(timeout=10)
c.create(path, b"x", ephemeral=True)
print("SESSION", c.client_id[0], flush=True)
sys.stdin.readline()
c.stop()
c.close()
print("EXIT", flush=True)
"""


class _Lines:
    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for line in iter(stream.readline, b""):
            with self.cond:
                self.lines.append(line.decode().strip())
                self.cond.notify_all()

    def wait(self, prefix, timeout):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(l.startswith(prefix) for l in self.lines), timeout)
            assert ok, f"child never printed {prefix!r}; output: {self.lines}"
            return next(l for l in self.lines if l.startswith(prefix))


def test_frozen_kazoo_client_session_expires(fast_server, make_client, fbase):
    """A kazoo client in a child process is frozen with SIGSTOP: no heartbeats, so its
    session expires and its ephemeral vanishes; when thawed, kazoo reports the session LOST."""
    path = fbase + "/frozen"
    proc = subprocess.Popen(["/usr/bin/python3", "-c", CHILD_SCRIPT, fast_server.hosts, path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = _Lines(proc.stdout)
    try:
        sid = int(out.wait("SESSION", 15).split()[1])
        b = make_client(fast_server)
        rec = Recorder()
        assert b.exists(path, watch=rec).ephemeralOwner == sid
        proc.send_signal(19)  # SIGSTOP
        stopped = time.monotonic()
        assert rec.wait(1, 10), "ephemeral of the frozen client was not removed"
        elapsed_ms = (time.monotonic() - stopped) * 1000
        # negotiated 1000 ms; the last heartbeat was before the stop
        assert elapsed_ms <= 1000 + FAST_TICK + 1000, f"expired too late: {elapsed_ms:.0f} ms"
        assert rec.summary() == [(EventType.DELETED, path)]
        proc.send_signal(18)  # SIGCONT
        out.wait("STATE LOST", 15)
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        out.wait("EXIT", 15)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("requested,expected", [
    (-5, 400), (0, 400), (100, 400), (399, 400), (400, 400), (1000, 1000),
    (4000, 4000), (4001, 4000), (100000, 4000)])
def test_negotiated_timeout_clamped_to_2x_20x_tick(fast_server, make_raw, requested, expected):
    raw = make_raw(fast_server, session=False)
    resp = raw.connect(timeout_ms=requested)
    assert resp.timeout == expected
    assert resp.protocol_version == 0 and resp.read_only is False
    raw.close_session()


def test_configured_session_timeout_bounds(target, make_server, make_raw):
    srv = make_server(target, tick_time=FAST_TICK,
                      extra={"minSessionTimeout": "1000", "maxSessionTimeout": "3000"})
    for requested, expected in ((100, 1000), (2000, 2000), (10000, 3000)):
        raw = make_raw(srv, session=False)
        assert raw.connect(timeout_ms=requested).timeout == expected
        raw.close_session()
    conf = srv.four_letter("conf")
    assert "minSessionTimeout=1000\n" in conf and "maxSessionTimeout=3000\n" in conf


def test_session_id_and_password_format(server, make_raw):
    a = make_raw(server)
    b = make_raw(server)
    assert len(a.passwd) == 16 and len(b.passwd) == 16
    assert a.session_id >> 56 == 1, hex(a.session_id)   # standalone server id byte
    assert b.session_id == a.session_id + 1               # consecutive ids from one base
    assert a.passwd == java_random_password(a.session_id)
    assert b.passwd == java_random_password(b.session_id)
    a.close_session()
    b.close_session()


def test_resume_session_keeps_ephemerals(server, make_client, make_raw, base):
    raw = make_raw(server, timeout_ms=10000)
    sid, pw = raw.session_id, raw.passwd
    path = base + "/mine"
    assert raw.create(path, b"", flags=1)[0] == zkproto.OK
    raw.close()  # drop the TCP connection without closing the session

    # raw resume: same id, password and timeout
    again = make_raw(server, session=False)
    resp = again.connect(timeout_ms=10000, session_id=sid, passwd=pw)
    assert (resp.timeout, resp.session_id, resp.passwd) == (10000, sid, pw)
    again.close()

    # kazoo resume with client_id
    k = make_client(server, client_id=(sid, pw))
    assert k.client_id[0] == sid
    assert k.exists(path).ephemeralOwner == sid
    k.create(base + "/mine2", b"", ephemeral=True)
    observer = make_client(server)
    k.stop()
    assert observer.exists(path) is None and observer.exists(base + "/mine2") is None


def test_resume_closes_the_sessions_other_connection(server, make_raw):
    a = make_raw(server)
    b = make_raw(server, session=False)
    resp = b.connect(timeout_ms=10000, session_id=a.session_id, passwd=a.passwd)
    assert resp.session_id == a.session_id and resp.timeout > 0
    a.wait_closed(5)
    assert b.ping().err == zkproto.OK
    b.close_session()


def test_wrong_password_or_unknown_session_is_expired(server, make_raw, make_client):
    a = make_raw(server)
    sid, pw = a.session_id, a.passwd
    wrong = bytes(x ^ 0xFF for x in pw)

    unknown = make_raw(server, session=False)
    resp = unknown.connect(timeout_ms=10000, session_id=sid + 1000, passwd=pw)
    assert (resp.protocol_version, resp.timeout, resp.session_id, resp.passwd) == \
        (0, 0, 0, b"\x00" * 16)
    unknown.wait_closed(5)
    assert a.ping().err == zkproto.OK

    x = make_raw(server, session=False)
    resp = x.connect(timeout_ms=10000, session_id=sid, passwd=wrong)
    assert (resp.protocol_version, resp.timeout, resp.session_id, resp.passwd) == \
        (0, 0, 0, b"\x00" * 16)
    x.wait_closed(5)
    # ZooKeeper closes the session's existing connection before it checks the password,
    # so even a refused resume disconnects the legitimate client ...
    a.wait_closed(5)
    # ... but the session itself is intact and resumable with the right password
    b = make_raw(server, session=False)
    resp = b.connect(timeout_ms=10000, session_id=sid, passwd=pw)
    assert (resp.timeout, resp.session_id, resp.passwd) == (10000, sid, pw)
    assert b.ping().err == zkproto.OK

    # kazoo with a wrong password: its session is declared expired and it starts a new one
    k = make_client(server, client_id=(sid, wrong))
    assert k.client_id[0] != sid
    b.close()
    c = make_raw(server, session=False)
    assert c.connect(timeout_ms=10000, session_id=sid, passwd=pw).session_id == sid
    c.close_session()


def test_close_session(server, make_client, make_raw, base):
    raw = make_raw(server)
    path = base + "/bye"
    assert raw.create(path, b"", flags=1)[0] == zkproto.OK
    b = make_client(server)
    rec = Recorder()
    b.exists(path, watch=rec)
    rep = raw.close_session()
    assert rep.err == zkproto.OK and rep.body == b"" and rep.zxid > 0
    raw.wait_closed(5)
    assert rec.wait(1, 10) and rec.summary() == [(EventType.DELETED, path)]
    again = make_raw(server, session=False)
    resp = again.connect(timeout_ms=10000, session_id=raw.session_id, passwd=raw.passwd)
    assert resp.timeout == 0 and resp.session_id == 0


def test_connect_with_zxid_ahead_of_server_is_refused(server, make_raw):
    """A client that has seen a newer zxid than this server's must try another server: the
    connection is closed without a connect response."""
    x = make_raw(server, session=False)
    x.send_raw(zkproto.frame(zkproto.connect_body(10000, last_zxid=1 << 40)))
    assert x.wait_closed(5) == b""


def test_old_client_without_readonly_byte(server, make_raw):
    x = make_raw(server, session=False)
    x.send_raw(zkproto.frame(zkproto.connect_body(10000, with_readonly_byte=False)))
    body = x.read_frame()
    assert len(body) == 36   # the response omits the readOnly byte too
    r = zkproto.Reader(body)
    assert (r.int(), r.int()) == (0, 10000)
    x.session_id = r.long()
    assert r.buffer() == java_random_password(x.session_id)
    assert x.close_session().err == zkproto.OK
