"""Read-only mode (readonlymode.enabled): a member of a two-server ensemble whose peer is gone
loses its quorum, looks for a leader, and after max(2000 ms, tickTime) serves its local tree to
clients that accept a read-only server. The same script runs against an Apache ZooKeeper 3.8
ensemble (QuorumPeerMain) and a Paddock one; their transcripts must match."""

import difflib
import socket
import time

import pytest

import servers
import zkproto

ZK_QUORUM_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"


class Member(servers.Server):
    """An ensemble member: server.N lines, myid, and (for ZooKeeper) QuorumPeerMain."""

    def __init__(self, kind, workdir, my_id, lines, **kw):
        self.my_id = my_id
        super().__init__(kind, workdir, **kw)
        (self.data_dir / "myid").write_text(f"{my_id}\n")
        self.extra.update(lines)
        self.write_config()

    def command(self):
        cmd = super().command()
        if self.kind == "zookeeper":
            cmd[cmd.index(servers.ZK_MAIN)] = ZK_QUORUM_MAIN
        return cmd

    def mode(self):
        try:
            for line in self.four_letter("srvr", timeout=2).splitlines():
                if line.startswith("Mode: "):
                    return line[6:]
        except OSError:
            pass
        return None


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ensemble(kind, tmp_path):
    ports = [(servers.free_port(), servers.free_port()) for _ in range(2)]
    lines = {f"server.{i + 1}": f"{servers.HOST}:{q}:{e}" for i, (q, e) in enumerate(ports)}
    lines.update({"initLimit": "10", "syncLimit": "5"})
    members = []
    for i in range(2):
        # ZooKeeper 3.8 answers a new read-only session with NOTREADONLY unless local sessions
        # are on; Paddock's read-only server always uses local sessions (docs/acl.md).
        kw = servers.settings(kind, {"readonlymode.enabled": "true",
                                     "localSessionsEnabled": "true"})
        extra = dict(kw.get("extra", {}))
        extra.update(lines)
        m = Member(kind, tmp_path / f"{kind}-{i + 1}", i + 1, extra, tick_time=500,
                   jvm_flags=kw.get("jvm_flags"))
        members.append(m)
    return members


def script(members):
    out = []

    def log(label, value):
        out.append(f"{label}: {value!r}")

    one, two = members
    for m in members:
        m.start(wait=False)
    wait_for(lambda: {one.mode(), two.mode()} == {"leader", "follower"}, 60, "a leader")
    c = zkproto.connect(servers.HOST, one.port)
    log("create", c.create("/ro", b"data")[0])
    c.close()
    # Server one alone: no quorum; after a while it serves read-only.
    two.stop()
    wait_for(lambda: one.four_letter("isro", timeout=2) == "ro", 30, "read-only mode")
    log("isro", one.four_letter("isro"))
    log("srvr mode", one.mode())
    log("srvr read-only line",
        "READ-ONLY mode; serving only read-only clients" in one.four_letter("srvr"))
    # A client that does not accept a read-only server is turned away.
    rw = zkproto.RawClient(servers.HOST, one.port)
    try:
        rw.send_raw(zkproto.frame(zkproto.connect_body(10000, read_only=False)))
        try:
            rw.read_frame(5)
            log("read-write client", "answered")
        except (zkproto.Closed, ConnectionError):
            log("read-write client", "closed")
    finally:
        rw.close()
    ro = zkproto.RawClient(servers.HOST, one.port)
    try:
        ro.send_raw(zkproto.frame(zkproto.connect_body(10000, read_only=True)))
        try:
            body = ro.read_frame(5)
            r = zkproto.Reader(body)
            if len(body) == 16:  # a ReplyHeader instead of a ConnectResponse
                log("read-only client", ("reply", r.int(), r.long() > 0, r.int()))
                raise zkproto.Closed()
            resp = zkproto.ConnectResponse(r.int(), r.int(), r.long(), r.buffer(),
                                           r.bool() if r.remaining() else None)
            log("read-only client", ("session", resp.timeout > 0, resp.read_only))
            if resp.timeout > 0:
                log("get", ro.get_data("/ro")[0:1] + (ro.get_data("/ro")[1][0],))
                log("children", ro.get_children("/")[1] and sorted(ro.get_children("/")[1]))
                log("exists", ro.exists("/ro")[0])
                log("create", ro.create("/ro2", b"")[0])
                log("set", ro.set_data("/ro", b"x")[0])
                log("delete", ro.delete("/ro")[0])
                log("setACL", ro.set_acl("/ro", zkproto.OPEN_ACL)[0])
                log("sync", ro.call(zkproto.OP_SYNC, zkproto.p_string("/ro")).err)
                log("multi", ro.call(zkproto.OP_MULTI, zkproto.multi_body(
                    [(zkproto.OP_CREATE, zkproto.create_body("/ro3", b""))])).err)
                log("close session", ro.close_session().err)
        except (zkproto.Closed, ConnectionError, socket.timeout) as e:
            log("read-only client", ("closed", type(e).__name__))
    finally:
        ro.close()
    # The peer comes back: an election, then read-write again.
    two.start(wait=False)
    wait_for(lambda: one.four_letter("isro", timeout=2) == "rw", 60, "read-write again")
    log("isro after", one.four_letter("isro"))
    c = zkproto.connect(servers.HOST, one.port)
    log("create after", c.create("/ro4", b"")[0])
    c.close()
    return out


@pytest.mark.deadline(240)
def test_read_only_mode_matches_zookeeper(tmp_path, request):
    for kind in ("zookeeper", "paddock"):
        reason = servers.unavailable_reason(kind)
        if reason:
            pytest.skip(f"differential needs both servers: {reason}")
    results = {}
    for kind in ("zookeeper", "paddock"):
        members = ensemble(kind, tmp_path)
        request.node._paddock_servers = members
        try:
            results[kind] = script(members)
        finally:
            for m in members:
                m.stop()
        (tmp_path / f"{kind}.txt").write_text("\n".join(results[kind]) + "\n")
    if results["zookeeper"] != results["paddock"]:
        diff = "\n".join(difflib.unified_diff(results["zookeeper"], results["paddock"],
                                              "zookeeper", "paddock", lineterm="", n=3))
        pytest.fail(f"transcripts differ (in {tmp_path}):\n{diff}")
