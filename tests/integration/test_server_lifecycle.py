"""Server lifecycle: periodic snapshots and recovery from them, the per-address connection
limit, graceful shutdown, and the log lines operators rely on."""

import re
import time

import pytest

import zkproto
from util import wait_until


def snapshot_files(srv):
    return sorted(p.name for p in (srv.data_dir / "version-2").glob("snapshot.*"))


def test_snapshots_are_taken_and_restart_recovers_from_them(target, make_server, make_client):
    # snapCount=10: a snapshot every 5..10 logged transactions.
    srv = make_server(target, extra={"snapCount": "10"})
    zk = make_client(srv)
    zk.create("/snap", b"")
    for i in range(120):
        zk.create(f"/snap/n{i:03d}", f"v{i}".encode())
    zk.set("/snap/n000", b"changed")
    zk.delete("/snap/n119")
    wait_until(lambda: len(snapshot_files(srv)) >= 5, 10, message="snapshots written")
    expected = {c: zk.get(f"/snap/{c}")[0] for c in zk.get_children("/snap")}
    stat = zk.exists("/snap")
    zk.stop()
    zk.close()

    for kill in (False, True):
        srv.restart(kill=kill)
        zk = make_client(srv)
        got = {c: zk.get(f"/snap/{c}")[0] for c in zk.get_children("/snap")}
        assert got == expected
        after = zk.exists("/snap")
        assert (after.cversion, after.numChildren, after.pzxid) == \
            (stat.cversion, stat.numChildren, stat.pzxid)
        zk.stop()
        zk.close()


def test_max_client_cnxns_limits_connections_per_address(target, make_server, make_raw):
    srv = make_server(target, extra={"maxClientCnxns": "2"})
    a = make_raw(srv)
    b = make_raw(srv)
    try:
        c = zkproto.RawClient("127.0.0.1", srv.port, timeout=5.0)
        try:
            c.send_raw(zkproto.frame(zkproto.connect_body(10000)))
            c.wait_closed(timeout=5.0)  # raises if the server keeps it open
        finally:
            c.close()
    except OSError as e:
        assert not isinstance(e, TimeoutError), "third connection was not closed"
    # The two admitted connections keep working.
    assert a.create("/cnxn-a")[0] == zkproto.OK
    assert b.exists("/cnxn-a")[0] == zkproto.OK


def test_sigterm_is_a_clean_shutdown(make_server, make_client):
    srv = make_server("paddock")
    zk = make_client(srv)
    zk.create("/graceful", b"kept")
    zk.stop()
    zk.close()
    assert srv.stop() == 0
    srv.start()
    zk = make_client(srv)
    assert zk.get("/graceful")[0] == b"kept"


def test_log_has_banner_plugins_and_session_lines(make_server, make_client):
    srv = make_server("paddock", tick_time=200)
    zk = make_client(srv)
    sid = zk.client_id[0]
    zk.stop()
    zk.close()
    raw = zkproto.connect("127.0.0.1", srv.port, timeout_ms=400)
    raw_sid = raw.session_id
    raw.sock.close()  # goes silent: the session expires

    def log():
        return srv.log_path.read_text(errors="replace")

    wait_until(lambda: f"session 0x{raw_sid:x} expired" in log(), 10, message="expiry logged")
    text = log()
    assert re.search(r"\[info\] Paddock \S+ .*starting with config " + re.escape(str(srv.cfg_path)), text)
    assert re.search(r"\[info\] plugin storage 'file' version \S+ from \S+paddock-storage-file\.so \(ABI \d+\)", text)
    assert re.search(r"\[info\] plugin transport 'tcp' version \S+ from \S+paddock-transport-tcp\.so \(ABI \d+\)", text)
    assert f"session 0x{sid:x} opened for 127.0.0.1:" in text
    assert f"session 0x{sid:x} closed by client 127.0.0.1:" in text
    assert f"session 0x{raw_sid:x} timed out" in text


def test_protocol_errors_are_logged_at_warn_with_the_peer(make_server):
    srv = make_server("paddock")
    c = zkproto.RawClient("127.0.0.1", srv.port, timeout=5.0)
    port = c.sock.getsockname()[1]
    c.send_raw(b"\x7f\xff\xff\xff")
    c.wait_closed(timeout=5.0)  # raises if the server keeps it open
    c.close()
    wait_until(lambda: re.search(r"\[warning\] closing connection from 127\.0\.0\.1:%d: frame length" % port,
                                 srv.log_path.read_text(errors="replace")),
               5, message="warning logged")
