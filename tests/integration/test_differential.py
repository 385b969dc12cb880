"""Differential test: one deterministic client script is run against a fresh Apache ZooKeeper
3.8 and a fresh Paddock; the two transcripts (return values, Stat fields, error codes, watch
events, raw protocol replies) must be identical after normalising only times (ctime/mtime,
dropped) and zxids (replaced by the order in which each distinct value first appears).
ephemeralOwner is recorded as which of the script's sessions owns the node.

test_script_is_deterministic runs the script twice against ZooKeeper: it checks that the
normalisation leaves nothing run-dependent, so a difference against Paddock is real."""

import difflib
import threading

import pytest
from kazoo.client import KazooClient
from kazoo.security import OPEN_ACL_UNSAFE

import servers
import zkproto
from util import CONNECTION_RETRY, flush_events


class Normaliser:
    def __init__(self):
        self.zxids = {}
        self.sessions = {}

    def zxid(self, z):
        if z in (0, -1):
            return str(z)
        if z not in self.zxids:
            self.zxids[z] = f"Z{len(self.zxids) + 1}"
        return self.zxids[z]

    def owner(self, sid):
        if sid == 0:
            return "0"
        return self.sessions.get(sid, "other-session")

    def stat(self, st):
        if st is None:
            return "None"
        return (f"Stat(czxid={self.zxid(st.czxid)} mzxid={self.zxid(st.mzxid)} "
                f"pzxid={self.zxid(st.pzxid)} version={st.version} cversion={st.cversion} "
                f"aversion={st.aversion} owner={self.owner(st.ephemeralOwner)} "
                f"dataLength={st.dataLength} numChildren={st.numChildren})")

    def value(self, v):
        """Render any kazoo / raw result deterministically."""
        if isinstance(v, BaseException):
            return f"!{type(v).__name__}"
        if hasattr(v, "czxid") and hasattr(v, "pzxid"):
            return self.stat(v)
        if isinstance(v, tuple) and hasattr(v, "_fields") and hasattr(v, "perms"):
            return f"ACL({v.perms},{v.id.scheme}:{v.id.id})"
        if isinstance(v, (list, tuple)):
            inner = ", ".join(self.value(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        if isinstance(v, bytes):
            return "b" + repr(v)[1:] if len(v) <= 64 else f"<{len(v)} bytes>"
        return repr(v)


class Script:
    """Runs the scenario and accumulates the transcript."""

    def __init__(self, srv):
        self.srv = srv
        self.n = Normaliser()
        self.lines = []
        self.clients = []
        self.events = []
        self.ev_lock = threading.Lock()

    def log(self, label, text):
        self.lines.append(f"{label}: {text}")

    def do(self, label, fn, *args, **kw):
        try:
            result = fn(*args, **kw)
        except Exception as e:  # recorded in the transcript as !ExceptionType
            result = e
        self.log(label, self.n.value(result))
        return result

    def client(self, name, **kw):
        c = KazooClient(hosts=self.srv.hosts, timeout=10.0,
                        connection_retry=dict(CONNECTION_RETRY), **kw)
        self.clients.append(c)
        c.start(timeout=15)
        self.n.sessions[c.client_id[0]] = f"session:{name}"
        return c

    def watcher(self, tag):
        def cb(ev):
            with self.ev_lock:
                self.events.append(f"{tag}:{ev.type}:{ev.path}:{ev.state}")
        return cb

    def take_events(self, label, watching, writer, ordered=True):
        flush_events(watching, writer, "/sentinel")
        with self.ev_lock:
            evs, self.events = self.events, []
        self.log(label, repr(evs if ordered else sorted(evs)))

    def close(self):
        for c in self.clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass

    # ------------------------------------------------------------------ the scenario
    def run(self):
        a = self.client("A")
        b = self.client("B")
        do = self.do
        # the tree a fresh server starts with
        do("children / (fresh)", lambda: sorted(a.get_children("/")))
        do("get / (fresh)", a.get, "/")
        do("create /sentinel", b.create, "/sentinel", b"")
        do("get /", a.get, "/")
        do("children /zookeeper", lambda: sorted(a.get_children("/zookeeper")))
        do("get /zookeeper", a.get, "/zookeeper")
        do("get /zookeeper/quota", a.get, "/zookeeper/quota")
        do("exists /zookeeper/config", a.exists, "/zookeeper/config")
        do("acl /", a.get_acls, "/")
        do("acl /zookeeper", a.get_acls, "/zookeeper")

        # creates of every mode
        do("create /d", a.create, "/d", b"root")
        do("create /d/p", a.create, "/d/p", b"persistent")
        do("create /d/e", a.create, "/d/e", b"eph", ephemeral=True)
        for i in range(3):
            do(f"create /d/s- #{i}", a.create, "/d/s-", b"seq", sequence=True)
        es = do("create /d/es-", a.create, "/d/es-", b"eseq", ephemeral=True, sequence=True)
        do("create /d/b-eph (B)", b.create, "/d/b-eph", b"", ephemeral=True)
        do("create2 /d/c2", a.create, "/d/c2", b"two", include_data=True)
        do("create makepath", a.create, "/d/m/n/o", b"deep", makepath=True)
        do("create null data", a.create, "/d/null", None)
        do("create empty data", a.create, "/d/empty", b"")
        do("create unicode", a.create, "/d/\u00e9t\u00e9 \u2603", b"\xe2\x98\x83")
        do("create seq no prefix", a.create, "/d/", b"", sequence=True)
        for p in ("/d", "/d/p", "/d/e", "/d/s-0000000002", es, "/d/b-eph",
                  "/d/c2", "/d/m/n/o", "/d/null", "/d/empty"):
            do(f"get {p}", a.get, p)
        do("children /d", lambda: sorted(a.get_children("/d")))
        do("children2 /d", lambda: (lambda r: (sorted(r[0]), r[1]))(
            a.get_children("/d", include_data=True)))
        do("exists missing", a.exists, "/d/missing")

        # errors
        do("create existing", a.create, "/d/p", b"")
        do("create no parent", a.create, "/d/nope/x", b"")
        do("create under ephemeral", a.create, "/d/e/x", b"")
        do("create seq under ephemeral", a.create, "/d/e/x", b"", sequence=True)
        do("get missing", a.get, "/d/missing")
        do("children missing", a.get_children, "/d/missing")
        do("set missing", a.set, "/d/missing", b"")
        do("delete missing", a.delete, "/d/missing")
        do("delete non-empty", a.delete, "/d")
        do("delete /zookeeper", a.delete, "/zookeeper")
        do("delete /zookeeper/quota", a.delete, "/zookeeper/quota")
        do("delete /", a.delete, "/")
        do("acl missing", a.get_acls, "/d/missing")

        # versions
        do("set v0", a.set, "/d/p", b"v1", version=0)
        do("set bad version", a.set, "/d/p", b"x", version=0)
        do("set any version", a.set, "/d/p", b"v2")
        do("set null", a.set, "/d/empty", None)
        do("get after sets", a.get, "/d/p")
        do("delete bad version", a.delete, "/d/s-0000000002", version=4)
        do("delete good version", a.delete, "/d/s-0000000002", version=0)
        do("create seq after delete", a.create, "/d/s-", b"", sequence=True)
        do("stat /d after deletes", a.exists, "/d")

        # ACLs
        do("get acl", a.get_acls, "/d/p")
        do("set acl v0", a.set_acls, "/d/p", OPEN_ACL_UNSAFE, version=0)
        do("set acl bad version", a.set_acls, "/d/p", OPEN_ACL_UNSAFE, version=0)
        do("set acl empty", a.set_acls, "/d/p", [])
        do("get acl after", a.get_acls, "/d/p")
        do("sync", a.sync, "/d")

        # multi
        t = a.transaction()
        t.create("/d/tx", b"t")
        t.create("/d/tx/child", b"c")
        t.set_data("/d/p", b"v3", version=2)
        t.check("/d/p", 3)
        t.create("/d/tx/s-", b"", sequence=True)
        t.delete("/d/tx/child")
        do("multi ok", t.commit)
        t = a.transaction()
        t.create("/d/tx2", b"")
        t.check("/d/p", 99)
        t.delete("/d/tx")
        do("multi failing check", t.commit)
        t = a.transaction()
        t.set_data("/d/p", b"v4")
        t.delete("/d/missing")
        do("multi failing delete", t.commit)
        t = a.transaction()
        t.create("/d/tx3", b"")
        t.create("/d/tx3", b"")
        do("multi duplicate create", t.commit)
        do("after failed multis", lambda: (sorted(a.get_children("/d")), a.get("/d/p")))

        # watches: A watches, B changes
        w = self.watcher
        a.get("/d/p", watch=w("data /d/p"))
        a.exists("/d/later", watch=w("exists /d/later"))
        a.exists("/d/c2", watch=w("exists /d/c2"))
        a.get_children("/d/tx", watch=w("child /d/tx"))
        a.get_children("/d/m", watch=w("child /d/m"))
        a.get("/d/m/n", watch=w("data /d/m/n"))
        a.get_children("/d/m/n", watch=w("child /d/m/n"))
        b.set("/d/p", b"by-b")
        b.set("/d/p", b"by-b-again")
        b.create("/d/later", b"")
        b.set("/d/c2", b"x")
        b.create("/d/tx/new", b"")
        b.delete("/d/m/n/o")
        b.delete("/d/m/n")
        self.take_events("events after B's changes", a, b)
        # A's own changes fire A's own watches; delete fires data + child + parent watches
        a.get("/d/later", watch=w("data /d/later"))
        a.get_children("/d/later", watch=w("child /d/later"))
        a.get_children("/d", watch=w("child /d"))
        a.delete("/d/later")
        self.take_events("events after A deletes /d/later", a, b)
        # a multi fires its watches together
        a.get("/d/p", watch=w("data /d/p #2"))
        a.get_children("/d/tx", watch=w("child /d/tx #2"))
        t = b.transaction()
        t.set_data("/d/p", b"multi")
        t.create("/d/tx/m", b"")
        do("multi by B", t.commit)
        self.take_events("events after B's multi", a, b)

        # raw protocol: what kazoo cannot send
        raw = zkproto.connect(servers.HOST, self.srv.port, timeout_ms=10000)
        self.n.sessions[raw.session_id] = "session:raw"
        try:
            for p in ("/d/", "/d/.", "/d/..", "/d//x", "/d/./x", "noslash", "", "/d/a\x00b",
                      "/d/a\x01b", "/d/\ufff0", "/zookeeper/"):
                do(f"raw create {p!r}", raw.create, p, b"")
            for flags in (0, 1, 2, 3, 4, 5, 6, 7, -1):
                do(f"raw create flags {flags}", raw.create2, f"/d/flags{flags}-", b"", flags)
            do("raw create empty acl", raw.create, "/d/noacl", b"", 0, [])
            do("raw create bad scheme", raw.create, "/d/badacl", b"", 0, [(31, "nope", "x")])
            do("raw exists ''", raw.exists, "")
            do("raw get '/d//p'", raw.get_data, "/d//p")
            do("raw get null data", raw.get_data, "/d/null")
            do("raw children /d", lambda: (lambda r: (r[0], sorted(r[1])))(
                raw.get_children("/d")))
            rep = raw.call(zkproto.OP_SYNC, zkproto.p_string("/d"))
            do("raw sync", lambda: (rep.err, self.n.zxid(rep.zxid),
                                    zkproto.Reader(rep.body).string()))
            rep = raw.ping()
            do("raw ping", lambda: (rep.xid, rep.err, self.n.zxid(rep.zxid), rep.body))
            rep = raw.call(zkproto.OP_EXISTS, b"")
            do("raw truncated exists", lambda: (rep.err, self.n.zxid(rep.zxid), rep.body))
            body = zkproto.setwatches_body(0, data=["/d/p", "/d/gone"], exist=["/d/c2", "/d/x"],
                                           child=["/d", "/d/gone2"])
            rep = raw.call(zkproto.OP_SETWATCHES, body)
            do("raw setWatches", lambda: (rep.err, rep.body, raw.events))
            raw.events.clear()
            rep = raw.call(zkproto.OP_CLOSE, b"")
            do("raw closeSession", lambda: (rep.err, rep.body))
        finally:
            raw.close()
        bad = zkproto.RawClient(servers.HOST, self.srv.port)
        try:
            bad.connect(timeout_ms=10000)
            xid = bad.send_request(9999, b"")
            rep = bad.read_reply()
            do("raw unknown opcode", lambda: (rep.xid == xid, rep.err, self.n.zxid(rep.zxid),
                                              rep.body, bad.wait_closed(5)))
        finally:
            bad.close()
        for requested in (1, 5000, 10**6):
            x = zkproto.RawClient(servers.HOST, self.srv.port)
            try:
                r = x.connect(timeout_ms=requested)
                do(f"raw negotiate {requested}", lambda: (r.protocol_version, r.timeout,
                                                           len(r.passwd), r.read_only))
                x.close_session()
            finally:
                x.close()

        # sessions: closing A removes its ephemerals; B sees the events
        b.exists("/d/e", watch=w("exists /d/e"))
        b.get(es, watch=w("data " + es))
        b.get_children("/d", watch=w("child /d (B)"))
        a.stop()
        a.close()
        self.clients.remove(a)
        # (sorted: ZooKeeper deletes a closed session's ephemerals in Java HashSet order,
        # which no client can rely on; which events fire, and each once, is what matters)
        self.take_events("events after A closes", b, b, ordered=False)
        do("children /d at end", lambda: sorted(b.get_children("/d")))
        do("stat /d at end", b.exists, "/d")
        do("stat / at end", b.exists, "/")
        do("children / at end", lambda: sorted(b.get_children("/")))
        srvr = self.srv.four_letter("srvr")
        do("srvr node count", lambda: [l for l in srvr.splitlines()
                                       if l.startswith(("Node count", "Mode"))])
        return self.lines


def run_script(srv):
    s = Script(srv)
    try:
        return s.run()
    finally:
        s.close()


def _compare(left_name, left, right_name, right, tmp_path):
    (tmp_path / f"{left_name}.txt").write_text("\n".join(left) + "\n")
    (tmp_path / f"{right_name}.txt").write_text("\n".join(right) + "\n")
    if left != right:
        diff = "\n".join(difflib.unified_diff(left, right, left_name, right_name, lineterm="",
                                              n=2))
        pytest.fail(f"transcripts differ (full transcripts in {tmp_path}):\n{diff}")


@pytest.mark.deadline(150)
def test_zookeeper_and_paddock_transcripts_identical(make_server, tmp_path):
    for kind in ("zookeeper", "paddock"):
        reason = servers.unavailable_reason(kind)
        if reason:
            pytest.skip(f"differential needs both servers: {reason}")
    zk_lines = run_script(make_server("zookeeper"))
    pd_lines = run_script(make_server("paddock"))
    _compare("zookeeper", zk_lines, "paddock", pd_lines, tmp_path)


@pytest.mark.deadline(150)
def test_script_is_deterministic(make_server, tmp_path):
    reason = servers.unavailable_reason("zookeeper")
    if reason:
        pytest.skip(reason)
    first = run_script(make_server("zookeeper"))
    second = run_script(make_server("zookeeper"))
    assert len(first) > 100
    _compare("zookeeper-run1", first, "zookeeper-run2", second, tmp_path)
