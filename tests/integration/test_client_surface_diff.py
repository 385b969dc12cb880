"""Differential tests of ZooKeeper 3.8's wider client surface: ACLs and authentication (world,
auth, digest, ip with CIDR, super through superDigest, permission bits on every op, getACL's
digest masking, setACL's aversion, NOAUTH / INVALIDACL / AUTHFAILED, whoAmI), node types
(containers, TTL nodes and their removal, sequential variants, getEphemerals,
getAllChildrenNumber), watches (persistent and recursive addWatch, checkWatches /
removeWatches, setWatches2, ACL filtering of notifications, wchs) and limits (quotas with
enforceQuota, jute.maxbuffer, maxClientCnxns).

Each script runs against a fresh Apache ZooKeeper 3.8 and a fresh Paddock started with the same
settings (servers.settings: JVM properties for ZooKeeper, zoo.cfg keys for Paddock); the
transcripts must be identical after normalising zxids (order of first appearance), times, and
session ids. Asynchronous removals (containers, TTL nodes) are awaited within a bound and
recorded as "gone" or "still there"."""

import base64
import difflib
import hashlib
import socket
import time

import pytest

import servers
import zkproto
from zkproto import (ADMIN, ALL, CREATE, DELETE, OPEN_ACL, READ, WRITE, OP_GETCHILDREN,
                     OP_GETDATA, Reader, multi_body)


def digest(user_password):
    user = user_password.split(":", 1)[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_password.encode()).digest()).decode()


SUPER_DIGEST = digest("super:secret")
CHECK_MS = 300  # znode.container.checkIntervalMs for the node-type script

BASE_SETTINGS = {
    "extendedTypesEnabled": "true",
    "enforceQuota": "true",
    "DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
    "znode.container.checkIntervalMs": str(CHECK_MS),
}


class Transcript:
    def __init__(self, srv):
        self.srv = srv
        self.lines = []
        self.zxids = {}
        self.sessions = {}
        self.raws = []

    def zxid(self, z):
        if z in (0, -1):
            return str(z)
        return self.zxids.setdefault(z, f"Z{len(self.zxids) + 1}")

    def render(self, v):
        if isinstance(v, zkproto.Stat):
            owner = v.ephemeralOwner
            owner = "0" if owner == 0 else self.sessions.get(owner, "other")
            return (f"Stat(c={self.zxid(v.czxid)} m={self.zxid(v.mzxid)} p={self.zxid(v.pzxid)} "
                    f"v={v.version} cv={v.cversion} av={v.aversion} owner={owner} "
                    f"len={v.dataLength} n={v.numChildren})")
        if isinstance(v, zkproto.Event):
            return f"Event({v.type},{v.state},{v.path})"
        if isinstance(v, BaseException):
            return f"!{type(v).__name__}"
        if isinstance(v, (list, tuple)):
            inner = ", ".join(self.render(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        if isinstance(v, bytes):
            return "b" + repr(v)[1:] if len(v) <= 80 else f"<{len(v)} bytes>"
        return repr(v)

    def log(self, label, value):
        self.lines.append(f"{label}: {self.render(value)}")

    def do(self, label, fn, *args, **kw):
        try:
            result = fn(*args, **kw)
        except Exception as e:  # recorded as !ExceptionType
            result = e
        self.log(label, result)
        return result

    def raw(self, name, **kw):
        c = zkproto.connect(servers.HOST, self.srv.port, timeout_ms=15000, **kw)
        self.raws.append(c)
        self.sessions[c.session_id] = f"session:{name}"
        return c

    def events(self, label, client, settle=None):
        """Every notification `client` received so far (a ping round trip first, so that
        events the server sent before it are in)."""
        if settle:
            time.sleep(settle)
        client.ping()
        evs, client.events[:] = list(client.events), []
        self.log(label, evs)

    def wait_gone(self, label, client, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if client.exists(path)[0] == zkproto.NONODE:
                self.log(label, "gone")
                return
            time.sleep(0.05)
        self.log(label, "still there")

    def close(self):
        for c in self.raws:
            c.close()


def sorted_children(client, path, watch=False):
    # ZooKeeper lists children in Java HashSet order; the order is no part of the contract.
    err, names = client.get_children(path, watch)
    return err, (sorted(names) if names is not None else None)


def compare(name, make_server, tmp_path, script, settings=BASE_SETTINGS, min_lines=10,
            **server_kw):
    for kind in ("zookeeper", "paddock"):
        reason = servers.unavailable_reason(kind)
        if reason:
            pytest.skip(f"differential needs both servers: {reason}")
    out = {}
    for kind in ("zookeeper", "paddock"):
        srv = make_server(kind, **servers.settings(kind, settings), **server_kw)
        t = Transcript(srv)
        try:
            script(t)
        finally:
            t.close()
        out[kind] = t.lines
        (tmp_path / f"{name}-{kind}.txt").write_text("\n".join(t.lines) + "\n")
    if out["zookeeper"] != out["paddock"]:
        diff = "\n".join(difflib.unified_diff(out["zookeeper"], out["paddock"], "zookeeper",
                                              "paddock", lineterm="", n=2))
        pytest.fail(f"{name}: transcripts differ (full ones in {tmp_path}):\n{diff}")
    assert len(out["paddock"]) >= min_lines  # the script really ran


# ------------------------------------------------------------------ 1. ACLs and auth

def acl_script(t):
    a = t.raw("A")   # authenticated as u1
    b = t.raw("B")   # no credentials
    do = t.do
    do("A addauth digest u1:p1", a.add_auth, "digest", b"u1:p1")
    do("A addauth digest u1:p1 again", a.add_auth, "digest", b"u1:p1")
    do("A whoami", a.whoami)
    do("B whoami", b.whoami)
    do("create /acl", a.create, "/acl", b"")
    u1 = ("digest", digest("u1:p1"))
    # auth expands to the caller's authenticated ids; B has none
    do("A create auth-only", a.create, "/acl/own", b"secret", 0, [(ALL, "auth", "")])
    do("B create auth-only", b.create, "/acl/own2", b"", 0, [(ALL, "auth", "")])
    do("A getACL own", a.get_acl, "/acl/own")
    do("B getACL own", b.get_acl, "/acl/own")
    do("B exists own", b.exists, "/acl/own")
    do("B get own", b.get_data, "/acl/own")
    do("B children own", b.get_children, "/acl/own")
    do("B all-children own", b.get_all_children_number, "/acl/own")
    do("B set own", b.set_data, "/acl/own", b"x")
    do("B create under own", b.create, "/acl/own/k", b"")
    do("B delete own", b.delete, "/acl/own")
    do("B setACL own", b.set_acl, "/acl/own", OPEN_ACL)
    do("A get own", a.get_data, "/acl/own")
    # each permission bit alone for world, with digest u1 holding everything
    for name, bits in (("r", READ), ("w", WRITE), ("c", CREATE), ("d", DELETE), ("a", ADMIN)):
        p = f"/acl/{name}"
        do(f"create {p}", a.create, p, b"d", 0, [(bits, "world", "anyone"), (ALL,) + u1])
        do(f"A create {p}/kid", a.create, p + "/kid", b"")
        do(f"B exists {p}", b.exists, p)
        do(f"B get {p}", b.get_data, p)
        do(f"B getACL {p}", b.get_acl, p)
        do(f"B children {p}", b.get_children, p)
        do(f"B all-children {p}", b.get_all_children_number, p)
        do(f"B multiRead {p}", b.multi_read, [(OP_GETDATA, p), (OP_GETCHILDREN, p)])
        do(f"B create {p}/b", b.create, p + "/b", b"")
        do(f"B delete {p}/kid", b.delete, p + "/kid")
        do(f"B set {p}", b.set_data, p, b"by-b")
        rep = b.call(zkproto.OP_MULTI, multi_body([(zkproto.OP_CHECK, zkproto.check_body(p, -1))]))
        do(f"B multi check {p}", lambda: (rep.err, rep.body))
        do(f"B sync {p}", lambda: b.call(zkproto.OP_SYNC, zkproto.p_string(p)).err)
        do(f"B setACL {p}", b.set_acl, p, [(bits, "world", "anyone"), (ALL,) + u1])
        do(f"A getACL {p}", a.get_acl, p)
    # ip scheme with CIDR
    for pattern in ("127.0.0.1", "127.0.0.0/8", "127.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0",
                    "127.0.0.1/32", "127.0.0.3/31"):
        p = "/acl/ip-" + pattern.replace("/", "_")
        do(f"create ip {pattern}", a.create, p, b"", 0, [(ALL, "ip", pattern)])
        do(f"B get ip {pattern}", b.get_data, p)
    for pattern in ("300.1.1.1", "127.0.0.1/33", "127.0.0.1/", "::1", "1.2.3", "1.2.3.4.5",
                    "localhost", "127.0.0.1/-1", "", "+1.2.3.4", "01.2.3.4"):
        do(f"create invalid ip {pattern!r}", a.create, "/acl/badip", b"", 0, [(ALL, "ip", pattern)])
    for ident in ("nocolon", "a:b:c", "a:", ":b", "a:b:", "", "a::"):
        do(f"create digest id {ident!r}", a.create, "/acl/dg", b"", 0, [(ALL, "digest", ident)])
        a.delete("/acl/dg")
    for acl in ([(ALL, "world", "nobody")], [(ALL, "super", "x")], [(ALL, "nope", "x")],
                [(ALL, "x509", "CN=a")], [(ALL, "sasl", "u")], [],
                [(ALL, "world", "anyone"), (ALL, "world", "anyone")],
                [(READ, "world", "anyone"), (ALL, "auth", "ignored")]):
        do(f"A create acl {acl!r}", a.create, "/acl/x", b"", 0, acl)
        do("A getACL /acl/x", a.get_acl, "/acl/x")
        a.delete("/acl/x")
    # setACL and aversion
    do("A setACL v0", a.set_acl, "/acl/r", OPEN_ACL, 0)
    do("A setACL v0 again", a.set_acl, "/acl/r", OPEN_ACL, 0)
    do("A setACL any", a.set_acl, "/acl/r", [(READ, "world", "anyone")], -1)
    do("A setACL empty", a.set_acl, "/acl/r", [])
    do("A setACL missing", a.set_acl, "/acl/missing", OPEN_ACL)
    do("A stat /acl/r", a.exists, "/acl/r")
    # super
    s = t.raw("S")
    do("S addauth super", s.add_auth, "digest", b"super:secret")
    do("S whoami", s.whoami)
    do("S get own", s.get_data, "/acl/own")
    do("S setACL own", s.set_acl, "/acl/own", [(READ, "world", "anyone")])
    do("B get own after", b.get_data, "/acl/own")
    do("S create auth", s.create, "/acl/sup", b"", 0, [(ALL, "auth", "")])
    do("S getACL sup", s.get_acl, "/acl/sup")
    # more addauth: ip works with anything, unknown schemes fail and close the connection
    do("B addauth ip", b.add_auth, "ip", b"whatever")
    do("B whoami after ip", b.whoami)
    do("B addauth digest user without colon", b.add_auth, "digest", b"justuser")
    do("B whoami after", b.whoami)
    c = t.raw("C")
    do("C addauth world", c.add_auth, "world", b"anyone")
    do("C closed", lambda: c.wait_closed(5) == b"")
    c = t.raw("C2")
    do("C2 addauth x509", c.add_auth, "x509", b"")
    do("C2 closed", lambda: c.wait_closed(5) == b"")
    # getEphemerals and getAllChildrenNumber
    for p in ("/acl/e1", "/acl/own/e2", "/eph-top"):
        do(f"A create ephemeral {p}", a.create, p, b"", 1)
    do("B create ephemeral", b.create, "/acl/eb", b"", 1)
    for prefix in ("/", "", "/acl", "/acl/", "/acl/own", "/ac", "/none"):
        do(f"A getEphemerals {prefix!r}", a.get_ephemerals, prefix)
    do("B getEphemerals", b.get_ephemerals, "/")
    for p in ("/", "/acl", "/zookeeper", "/acl/own", "/missing"):
        do(f"all-children {p}", a.get_all_children_number, p)


@pytest.mark.deadline(180)
def test_acls_and_auth(make_server, tmp_path):
    compare("acl", make_server, tmp_path, acl_script)


# ------------------------------------------------------------------ 2. node types

def node_type_script(t):
    a = t.raw("A")
    w = t.raw("W")
    do = t.do
    do("create /nt", a.create, "/nt", b"")
    # containers
    do("createContainer /nt/c", a.create_container, "/nt/c", b"box")
    do("createContainer /nt/unused", a.create_container, "/nt/unused", b"")
    do("createContainer seq flags", a.create_container, "/nt/cs-", b"", flags=0)
    do("create with container flag (op create)", a.create, "/nt/cf", b"", 4)
    do("stat /nt/c", a.exists, "/nt/c")
    do("create /nt/c/k", a.create, "/nt/c/k", b"")
    do("create /nt/c/e ephemeral", a.create, "/nt/c/e", b"", 1)
    do("W watches /nt/c", w.exists, "/nt/c", True)
    do("W child watch /nt", sorted_children, w, "/nt", True)
    do("delete /nt/c/k", a.delete, "/nt/c/k")
    time.sleep(3 * CHECK_MS / 1000)
    do("container with a child stays", a.exists, "/nt/c")
    do("delete /nt/c/e", a.delete, "/nt/c/e")
    t.wait_gone("container after its last child", a, "/nt/c")
    t.events("W events after the container went", w)
    time.sleep(3 * CHECK_MS / 1000)
    do("unused container stays", a.exists, "/nt/unused")
    do("op create with container flag stays", a.exists, "/nt/cf")
    # TTL nodes
    for label, kw in (("ttl 0", dict(ttl=0)), ("ttl -5", dict(ttl=-5)),
                      ("ttl max+1", dict(ttl=0x10000000000)), ("ttl flags 0", dict(flags=0)),
                      ("ttl flags 1", dict(flags=1)), ("ttl flags 4", dict(flags=4)),
                      ("ttl flags 7", dict(flags=7))):
        do(f"createTTL {label}", a.create_ttl, "/nt/bad", b"", **kw)
    do("create flags 5 without ttl", a.create, "/nt/bad", b"", 5)
    do("create2 flags 6 without ttl", a.create2, "/nt/bad", b"", 6)
    do("createTTL max", a.create_ttl, "/nt/tmax", b"", ttl=0xFFFFFFFFFF)
    do("createTTL /nt/t", a.create_ttl, "/nt/t", b"ttl", ttl=400)
    seq = do("createTTL sequential", a.create_ttl, "/nt/ts-", b"", ttl=400, flags=6)
    do("createTTL with child", a.create_ttl, "/nt/tp", b"", ttl=200)
    do("child of ttl node", a.create, "/nt/tp/k", b"")
    do("stat /nt/t", a.exists, "/nt/t")
    do("W watches /nt/t", w.exists, "/nt/t", True)
    t.wait_gone("ttl node after its ttl", a, "/nt/t")
    if seq[0] == zkproto.OK:
        t.wait_gone("sequential ttl node", a, seq[1][0])
    t.events("W events after the ttl node went", w)
    do("ttl node with a child stays", a.exists, "/nt/tp")
    do("ttl node max stays", a.exists, "/nt/tmax")
    do("delete ttl child", a.delete, "/nt/tp/k")
    t.wait_gone("ttl node once childless", a, "/nt/tp")
    # sequential variants and the parent's cversion
    for flags in (2, 3):
        do(f"sequential flags {flags}", a.create2, "/nt/s-", b"", flags)
    do("multi create container", lambda: a.call(zkproto.OP_MULTI, multi_body(
        [(zkproto.OP_CREATECONTAINER, zkproto.create_body("/nt/mc", b"", OPEN_ACL, 4))])).body)
    do("stat /nt/mc", a.exists, "/nt/mc")
    do("children /nt", lambda: sorted(a.get_children("/nt")[1]))
    do("stat /nt", a.exists, "/nt")
    do("all-children /", a.get_all_children_number, "/")


@pytest.mark.deadline(180)
def test_node_types(make_server, tmp_path):
    compare("nodetypes", make_server, tmp_path, node_type_script)


def no_extended_types_script(t):
    a = t.raw("A")
    t.do("createTTL disabled", a.create_ttl, "/x", b"", ttl=1000)
    t.do("create flags 5 disabled", a.create, "/x", b"", 5)
    t.do("createTTL bad ttl disabled", a.create_ttl, "/x", b"", ttl=0)
    t.do("createTTL flags 0 disabled", a.create_ttl, "/x", b"", flags=0)
    t.do("exists /x", a.exists, "/x")
    t.do("createContainer", a.create_container, "/c", b"")
    for i in range(11):
        a.ping()


@pytest.mark.deadline(120)
def test_ttl_unimplemented_without_extended_types(make_server, tmp_path):
    compare("noext", make_server, tmp_path, no_extended_types_script, settings={}, min_lines=6)


# ------------------------------------------------------------------ 3. watches

def watch_script(t):
    a = t.raw("A")   # watches
    b = t.raw("B")   # writes
    do = t.do
    do("create /wt", b.create, "/wt", b"")
    # persistent on a node that does not exist yet
    do("A addWatch persistent /wt/p", a.add_watch, "/wt/p", 0)
    do("B create /wt/p", b.create, "/wt/p", b"")
    do("B set /wt/p", b.set_data, "/wt/p", b"1")
    do("B set /wt/p again", b.set_data, "/wt/p", b"2")
    do("B create /wt/p/k", b.create, "/wt/p/k", b"")
    do("B create /wt/p/k/deep", b.create, "/wt/p/k/deep", b"")
    do("B delete /wt/p/k/deep", b.delete, "/wt/p/k/deep")
    do("B delete /wt/p/k", b.delete, "/wt/p/k")
    do("B delete /wt/p", b.delete, "/wt/p")
    do("B create /wt/p again", b.create, "/wt/p", b"")
    t.events("A events (persistent)", a)
    # recursive
    do("A addWatch recursive /wt/r", a.add_watch, "/wt/r", 1)
    do("B create /wt/r", b.create, "/wt/r", b"")
    do("B create /wt/r/a", b.create, "/wt/r/a", b"")
    do("B create /wt/r/a/b", b.create, "/wt/r/a/b", b"")
    do("B set /wt/r/a/b", b.set_data, "/wt/r/a/b", b"x")
    do("B create /wt/rx (sibling prefix)", b.create, "/wt/rx", b"")
    do("B delete /wt/r/a/b", b.delete, "/wt/r/a/b")
    do("B multi", lambda: b.call(zkproto.OP_MULTI, multi_body(
        [(zkproto.OP_CREATE, zkproto.create_body("/wt/r/m", b"")),
         (zkproto.OP_SETDATA, zkproto.setdata_body("/wt/r", b"multi"))])).err)
    t.events("A events (recursive)", a)
    # a standard watch on top of a recursive one at a child path: one event per change
    do("A get /wt/r/a with watch", a.get_data, "/wt/r/a", True)
    do("B set /wt/r/a", b.set_data, "/wt/r/a", b"y")
    do("B set /wt/r/a again", b.set_data, "/wt/r/a", b"z")
    t.events("A events (standard under recursive)", a)
    # a standard registration on a persistent watch's own path
    do("A get /wt/p with watch", a.get_data, "/wt/p", True)
    do("B set /wt/p #1", b.set_data, "/wt/p", b"a")
    do("B set /wt/p #2", b.set_data, "/wt/p", b"b")
    t.events("A events (standard over persistent)", a)
    # checkWatches / removeWatches: 1 children, 2 data, 3 any
    do("A children /wt with watch", sorted_children, a, "/wt", True)
    do("A exists /wt/none with watch", a.exists, "/wt/none", True)
    for path, kind in (("/wt", 1), ("/wt", 2), ("/wt", 3), ("/wt/none", 1), ("/wt/none", 2),
                       ("/wt/r", 1), ("/wt/r", 2), ("/wt/r", 3), ("/wt/p", 3), ("/nowhere", 3)):
        do(f"A checkWatches {path} {kind}", a.check_watches, path, kind)
    do("wchs", lambda: t.srv.four_letter("wchs"))
    do("wchp lines", lambda: len(t.srv.four_letter("wchp").splitlines()))
    do("A removeWatches /wt/r data", a.remove_watches, "/wt/r", 2)
    do("A checkWatches /wt/r any after", a.check_watches, "/wt/r", 3)
    do("B create /wt/r/after-data-removed", b.create, "/wt/r/c", b"")
    t.events("A events (recursive, child table only)", a)
    do("A removeWatches /wt/r any", a.remove_watches, "/wt/r", 3)
    do("A removeWatches /wt/r again", a.remove_watches, "/wt/r", 3)
    do("A removeWatches /wt/none children", a.remove_watches, "/wt/none", 1)
    do("A removeWatches /wt/none data", a.remove_watches, "/wt/none", 2)
    do("A removeWatches /wt children", a.remove_watches, "/wt", 1)
    do("A removeWatches /wt/p any", a.remove_watches, "/wt/p", 3)
    do("B set /wt/r after removal", b.set_data, "/wt/r", b"q")
    do("B create /wt/none", b.create, "/wt/none", b"")
    do("B delete /wt/p", b.delete, "/wt/p")
    t.events("A events after removals", a)
    do("wchs after removals", lambda: t.srv.four_letter("wchs"))
    # setWatches2 from a fresh session: every kind restored
    c = t.raw("C")
    body = zkproto.setwatches2_body(
        b.last_zxid, data=["/wt/r", "/wt/gone"], exist=["/wt/later", "/wt/none"],
        child=["/wt", "/wt/gone2"], persistent=["/wt/pp"], recursive=["/wt/rr"])
    rep = c.call(zkproto.OP_SETWATCHES2, body)
    do("C setWatches2", lambda: (rep.err, rep.body, list(c.events)))
    c.events.clear()
    do("C checkWatches /wt/pp", c.check_watches, "/wt/pp", 3)
    do("C checkWatches /wt/rr", c.check_watches, "/wt/rr", 1)
    do("B create /wt/pp", b.create, "/wt/pp", b"")
    do("B create /wt/rr", b.create, "/wt/rr", b"")
    do("B create /wt/rr/x", b.create, "/wt/rr/x", b"")
    do("B set /wt/r", b.set_data, "/wt/r", b"r2")
    do("B create /wt/later", b.create, "/wt/later", b"")
    do("B set /wt/pp", b.set_data, "/wt/pp", b"p")
    t.events("C events", c)
    rep = c.call(zkproto.OP_SETWATCHES2, zkproto.setwatches2_body(0, data=["/wt/r"]))
    do("C setWatches2 with zxid 0", lambda: (rep.err, list(c.events)))
    c.events.clear()
    # notifications of nodes the watcher may not read are dropped
    do("B addauth", b.add_auth, "digest", b"u1:p1")
    do("A addWatch recursive /sec", a.add_watch, "/sec", 1)
    do("A addWatch persistent /sec", a.add_watch, "/sec", 0)
    do("B create /sec", b.create, "/sec", b"")
    do("B create /sec/hidden", b.create, "/sec/hidden", b"", 0, [(ALL, "auth", "")])
    do("B set /sec/hidden", b.set_data, "/sec/hidden", b"s")
    do("B create /sec/open", b.create, "/sec/open", b"")
    do("B delete /sec/hidden", b.delete, "/sec/hidden")
    do("B setACL /sec to auth only", b.set_acl, "/sec", [(ALL, "auth", "")])
    do("B create /sec/k2", b.create, "/sec/k2", b"")
    do("B set /sec", b.set_data, "/sec", b"x")
    t.events("A events (ACL-filtered)", a)
    do("A exists /sec/hidden2 watch", a.exists, "/sec/hidden2", True)
    do("B create /sec/hidden2 auth-only", b.create, "/sec/hidden2", b"", 0, [(ALL, "auth", "")])
    t.events("A events (exists watch on unreadable)", a)
    do("wchs at end", lambda: t.srv.four_letter("wchs"))


@pytest.mark.deadline(180)
def test_watches(make_server, tmp_path):
    compare("watches", make_server, tmp_path, watch_script)


# ------------------------------------------------------------------ 4. limits

def quota_script(t):
    a = t.raw("A")
    do = t.do
    stats = "/zookeeper/quota/q/zookeeper_stats"
    do("create /q", a.create, "/q", b"12345")
    do("create /q/a", a.create, "/q/a", b"abc")
    do("create /zookeeper/quota/q", a.create, "/zookeeper/quota/q", b"")
    do("create limits", a.create, "/zookeeper/quota/q/zookeeper_limits",
       b"count=-1,bytes=-1,countHardLimit=4")
    do("create stats", a.create, stats, b"count=0,bytes=0")
    do("stats after creation", a.get_data, stats)
    do("create /q/b", a.create, "/q/b", b"")
    do("create /q/c (count 4)", a.create, "/q/c", b"")
    do("create /q/d over the hard count", a.create, "/q/d", b"")
    do("create /q/a/deep over the hard count", a.create, "/q/a/deep", b"")
    do("stats", a.get_data, stats)
    do("delete /q/c", a.delete, "/q/c")
    do("create /q/e", a.create, "/q/e", b"")
    do("set /q/a bigger", a.set_data, "/q/a", b"abcdefgh")
    do("stats after set", a.get_data, stats)
    do("set limits to bytes", a.set_data, "/zookeeper/quota/q/zookeeper_limits",
       b"count=-1,bytes=-1,byteHardLimit=20")
    do("set /q/a within bytes", a.set_data, "/q/a", b"abcdefghij")
    do("set /q/a over bytes", a.set_data, "/q/a", b"x" * 30)
    do("create /q/f with data over bytes", a.create, "/q/f", b"y" * 30)
    do("create /q/g empty", a.create, "/q/g", b"")
    do("multi with an over-quota op", lambda: a.call(zkproto.OP_MULTI, multi_body(
        [(zkproto.OP_CREATE, zkproto.create_body("/q/h", b"")),
         (zkproto.OP_SETDATA, zkproto.setdata_body("/q/b", b"z" * 40))])).body)
    do("stats", a.get_data, stats)
    do("soft limits only", a.set_data, "/zookeeper/quota/q/zookeeper_limits", b"count=2,bytes=5")
    do("create over soft count", a.create, "/q/s", b"123456")
    do("set over soft bytes", a.set_data, "/q/s", b"1234567")
    do("stats after soft", a.get_data, stats)
    do("delete limits", a.delete, "/zookeeper/quota/q/zookeeper_limits")
    do("create after limits gone", a.create, "/q/t", b"x" * 40)
    do("stats not updated without limits", a.get_data, stats)
    # a quota on a nested path: the longest prefix counts
    do("create /q/n", a.create, "/q/n", b"")
    do("create /zookeeper/quota/q/n", a.create, "/zookeeper/quota/q/n", b"")
    do("create nested limits", a.create, "/zookeeper/quota/q/n/zookeeper_limits",
       b"countHardLimit=2")
    do("create nested stats", a.create, "/zookeeper/quota/q/n/zookeeper_stats", b"")
    do("create /q/n/1", a.create, "/q/n/1", b"")
    do("create /q/n/2", a.create, "/q/n/2", b"")
    do("nested stats", a.get_data, "/zookeeper/quota/q/n/zookeeper_stats")
    do("outer stats", a.get_data, stats)


@pytest.mark.deadline(120)
def test_quotas(make_server, tmp_path):
    compare("quota", make_server, tmp_path, quota_script)


JUTE_MAX = 4096


def jute_script(t):
    a = t.raw("A")
    do = t.do
    do("create /j", a.create, "/j", b"")
    do("create data just fitting", a.create, "/j/fits", b"x" * (JUTE_MAX - 200))
    do("get it", lambda: len(a.get_data("/j/fits")[1][0]))
    for i in range(150):
        a.create(f"/j/child-with-a-long-name-{i:04d}", b"")
    rep = a.call(zkproto.OP_GETCHILDREN, zkproto.path_watch_body("/j"))
    do("getChildren larger than jute.maxbuffer", lambda: (rep.err, len(rep.body) > JUTE_MAX,
                                                          len(Reader(rep.body).strings())))
    big = t.raw("B")
    try:
        big.send_request(zkproto.OP_SETDATA, zkproto.setdata_body("/j/fits", b"y" * JUTE_MAX))
        do("setData with a frame over jute.maxbuffer: closed", lambda: big.wait_closed(10))
    finally:
        big.close()
    time.sleep(0.5)  # the server notices B's close
    do("the others go on", a.get_data, "/j")
    # maxClientCnxns=6 from one address: A and these five
    held = [t.raw(f"H{i}") for i in range(5)]
    extra = None
    try:
        try:
            # The refusal may come so fast that even the TCP connect sees it (EPIPE, reset).
            extra = zkproto.RawClient(servers.HOST, t.srv.port)
            extra.send_raw(zkproto.frame(zkproto.connect_body(10000)))
            r = extra.read_frame(5)
            result = ("answered", len(r))
        except (zkproto.Closed, ConnectionError, socket.timeout) as e:
            result = ("closed", type(e).__name__ == "Closed" or isinstance(e, ConnectionError))
        do("connection over maxClientCnxns", lambda: result)
    finally:
        if extra is not None:
            extra.close()
    held[0].close()
    time.sleep(0.5)
    do("a connection again after one closed", lambda: t.raw("H-again").session_id is not None)


@pytest.mark.deadline(120)
def test_jute_maxbuffer_and_connection_limit(make_server, tmp_path):
    compare("jute", make_server, tmp_path, jute_script, min_lines=8,
            settings={"jute.maxbuffer": str(JUTE_MAX), "maxClientCnxns": "6"})
