"""Malformed input on the client port: the offending connection is closed (or answered the
way ZooKeeper answers), and a kazoo client connected beforehand keeps working.
Runs against every target; every socket read is bounded."""

import random
import socket

import pytest

import servers
import zkproto
from zkproto import connect_body, frame, p_int, p_string

MAXBUFFER = 0xFFFFF  # jute.maxbuffer default


def _still_serving(server, zk, base, tag):
    assert server.alive(), "server process died"
    p = zk.create(f"{base}/after-{tag}", tag.encode())
    assert zk.get(p)[0] == tag.encode()


def _invalid_session_response(data):
    """True if `data` is exactly one connect response saying 'session invalid'."""
    if len(data) < 4:
        return False
    n = int.from_bytes(data[:4], "big")
    if n not in (36, 37) or len(data) != 4 + n:
        return False
    r = zkproto.Reader(data[4:])
    return r.int() == 0 and r.int() == 0 and r.long() == 0


PRE_HANDSHAKE_CASES = {
    # name: (bytes to send, half-close after sending, replies allowed)
    "http-request": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", False, False),
    "length-2^31-1": (p_int(2**31 - 1) + b"\x00" * 64, False, False),
    "length-2^31-1-alone": (p_int(2**31 - 1), False, False),
    "length-negative": (p_int(-1) + b"\x00" * 64, False, False),
    "length-zero": (p_int(0), False, False),
    "length-maxbuffer+1": (p_int(MAXBUFFER + 1) + b"\x00" * 64, False, False),
    "truncated-connect-45-of-20": (p_int(45) + connect_body(10000)[:20], True, False),
    "short-frame-10-bytes": (frame(connect_body(10000)[:10]), False, False),
    "frame-without-password": (frame(connect_body(10000)[:24]), False, False),
    "password-length-too-big": (frame(connect_body(10000)[:24] + p_int(1000) + b"\0" * 17),
                                False, False),
    "garbage-frame-a5": (p_int(45) + b"\xa5" * 45, False, True),
    "garbage-frame-ff": (p_int(45) + b"\xff" * 45, False, True),
}
_rng = random.Random(20240611)
for _i in range(4):
    PRE_HANDSHAKE_CASES[f"garbage-frame-random-{_i}"] = (
        p_int(45) + bytes(_rng.randrange(256) for _ in range(45)), False, True)


@pytest.mark.parametrize("case", sorted(PRE_HANDSHAKE_CASES))
def test_bad_first_frame_closes_connection(server, zk, base, make_raw, case):
    data, half_close, may_answer = PRE_HANDSHAKE_CASES[case]
    c = make_raw(server, session=False)
    c.send_raw(data)
    if half_close:
        c.sock.shutdown(socket.SHUT_WR)
    got = c.wait_closed(5)
    if may_answer:
        # a garbage frame can decode as a resume of a session that does not exist
        assert got == b"" or _invalid_session_response(got), got.hex()
    else:
        assert got == b"", got.hex()
    _still_serving(server, zk, base, case)


def test_truncated_connect_left_open_does_not_block_others(server, zk, base, make_raw):
    """A client that sends half a connect request and then goes quiet must not stall the
    server: other clients are served meanwhile, and a new session can be created."""
    c = make_raw(server, session=False)
    c.send_raw(p_int(45) + connect_body(10000)[:20])
    _still_serving(server, zk, base, "half-open")
    other = make_raw(server)
    assert other.ping().err == zkproto.OK
    # nothing is answered to an incomplete frame (ZooKeeper waits; closing it is fine too)
    with pytest.raises((socket.timeout, zkproto.Closed)):
        c.read_frame(timeout=0.3)


def test_unknown_opcode_gets_unimplemented_then_close(server, zk, base, make_raw):
    c = make_raw(server)
    xid = c.send_request(9999, b"\x00" * 8)
    rep = c.read_reply()
    assert (rep.xid, rep.err, rep.body) == (xid, zkproto.UNIMPLEMENTED, b"")
    c.wait_closed(5)
    # only the connection is gone; the session can be resumed
    again = make_raw(server, session=False)
    resp = again.connect(timeout_ms=10000, session_id=c.session_id, passwd=c.passwd)
    assert resp.session_id == c.session_id and resp.timeout == 10000
    assert again.ping().err == zkproto.OK
    _still_serving(server, zk, base, "unknown-op")


@pytest.mark.parametrize("length", [MAXBUFFER + 1, 2**31 - 1, -1])
def test_bad_frame_length_after_handshake_closes(server, zk, base, make_raw, length):
    c = make_raw(server)
    c.send_raw(p_int(length) + b"\x00" * 64)
    assert c.wait_closed(5) == b""
    _still_serving(server, zk, base, f"len{length}")


def test_four_letter_word_after_handshake_closes(server, zk, base, make_raw):
    c = make_raw(server)
    c.send_raw(b"ruok")
    assert c.wait_closed(5) == b""
    _still_serving(server, zk, base, "late-ruok")


def test_frame_of_exactly_maxbuffer_is_accepted(server, zk, base, make_raw):
    path = base + "/big"
    zk.create(path, b"")
    c = make_raw(server)
    head = p_int(77) + p_int(zkproto.OP_SETDATA) + p_string(path)
    data_len = MAXBUFFER - len(head) - 4 - 4   # buffer length prefix, version
    payload = head + p_int(data_len) + b"y" * data_len + p_int(-1)
    assert len(payload) == MAXBUFFER
    c.send_raw(p_int(len(payload)) + payload)
    rep = c.read_reply(10)
    assert (rep.xid, rep.err) == (77, zkproto.OK)
    data, st = zk.get(path)
    assert st.dataLength == data_len and data == b"y" * data_len


@pytest.mark.parametrize("op,body", [
    (zkproto.OP_GETDATA, p_int(100) + b"/ab"),                  # string longer than frame
    (zkproto.OP_CREATE, p_string("/x")),                        # record cut short
    (zkproto.OP_EXISTS, b""),                                    # no record at all
])
def test_truncated_request_body_gets_marshalling_error(server, zk, base, make_raw, op, body):
    c = make_raw(server)
    xid = c.send_request(op, body)
    rep = c.read_reply()
    assert (rep.xid, rep.err, rep.body) == (xid, zkproto.MARSHALLINGERROR, b"")
    # the connection stays usable
    assert c.ping().err == zkproto.OK
    assert c.exists(base)[0] == zkproto.OK
    _still_serving(server, zk, base, f"trunc-op{op}")


def _zookeeper_version(srv):
    line = srv.four_letter("srvr").splitlines()[0]           # "Zookeeper version: 3.8.0-..."
    return tuple(int(x) for x in line.split(":", 1)[1].strip().split("-")[0].split(".")[:3])


@pytest.mark.deadline(120)
def test_top_level_check_is_unimplemented(target, make_server, make_client):
    """check (13) outside a multi: since ZooKeeper 3.8.5 (ZOOKEEPER-2623) the reply is
    UNIMPLEMENTED and the connection is closed. Debian's 3.8.0 instead loses the reply
    (NPE, connection left hanging) and logs a txn that makes the next start-up fail
    ("Unsupported Txn with type=%d13"), so this is not checked against older ZooKeepers.
    The server must also restart cleanly afterwards."""
    srv = make_server(target)
    if target == "zookeeper" and _zookeeper_version(srv) < (3, 8, 5):
        pytest.skip("ZooKeeper < 3.8.5 mishandles a top-level check (see docstring)")
    zk = make_client(srv)
    zk.create("/n", b"x")
    c = zkproto.connect(servers.HOST, srv.port)
    try:
        xid = c.send_request(zkproto.OP_CHECK, zkproto.check_body("/n", 0))
        rep = c.read_reply()
        assert (rep.xid, rep.err, rep.body) == (xid, zkproto.UNIMPLEMENTED, b"")
        c.wait_closed(5)
    finally:
        c.close()
    zk.stop()
    srv.stop()
    srv.start()
    zk2 = make_client(srv)
    assert zk2.get("/n")[0] == b"x"
