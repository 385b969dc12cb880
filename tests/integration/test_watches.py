"""One-shot watches: which event fires for which change, exactly once, with the right type and
path; ZooKeeper's ordering guarantee (the event arrives before any reply reflecting the
change); and re-registration of watches (setWatches) when a client reconnects.
Runs against every target."""

import re
import threading
import time

import pytest
from kazoo.protocol.states import EventType, KazooState, KeeperState

import climt
import zkproto
from util import Recorder, StateTracker, TcpProxy, flush_events


def _one(rec, etype, path):
    assert rec.wait(1, 10.0), f"no {etype} event for {path}"
    assert len(rec.events) >= 1
    ev = rec.events[0]
    assert (ev.type, ev.path, ev.state) == (etype, path, KeeperState.CONNECTED)


@pytest.fixture
def writer(server, make_client):
    """A second client that makes the changes the watching client `zk` observes."""
    return make_client(server)


def test_data_watch_fires_once_on_set(zk, writer, base, sentinels):
    p = base + "/d"
    writer.create(p, b"0")
    rec = Recorder()
    assert zk.get(p, watch=rec)[0] == b"0"
    writer.set(p, b"1")
    _one(rec, EventType.CHANGED, p)
    writer.set(p, b"2")          # the watch was one-shot: no second event
    writer.delete(p)
    flush_events(zk, writer, sentinels)
    assert rec.summary() == [(EventType.CHANGED, p)]


def test_own_change_fires_own_watch(zk, base, sentinels):
    p = base + "/own"
    zk.create(p, b"0")
    rec = Recorder()
    zk.get(p, watch=rec)
    zk.set(p, b"1")
    _one(rec, EventType.CHANGED, p)
    zk.set(p, b"2")
    flush_events(zk, zk, sentinels)
    assert rec.summary() == [(EventType.CHANGED, p)]


def test_data_watch_fires_once_on_delete(zk, writer, base, sentinels):
    p = base + "/d"
    writer.create(p, b"0")
    rec = Recorder()
    zk.get(p, watch=rec)
    writer.delete(p)
    _one(rec, EventType.DELETED, p)
    writer.create(p, b"again")   # a data watch does not survive into a new incarnation
    flush_events(zk, writer, sentinels)
    assert rec.summary() == [(EventType.DELETED, p)]


def test_exists_watch_on_missing_node_fires_created(zk, writer, base, sentinels):
    p = base + "/later"
    rec = Recorder()
    assert zk.exists(p, watch=rec) is None
    writer.create(p, b"x")
    _one(rec, EventType.CREATED, p)
    writer.set(p, b"y")
    writer.delete(p)
    flush_events(zk, writer, sentinels)
    assert rec.summary() == [(EventType.CREATED, p)]


def test_exists_watch_on_existing_node(zk, writer, base, sentinels):
    p = base + "/e"
    writer.create(p, b"x")
    r1, r2 = Recorder(), Recorder()
    assert zk.exists(p, watch=r1) is not None
    writer.set(p, b"y")
    _one(r1, EventType.CHANGED, p)
    assert zk.exists(p, watch=r2) is not None
    writer.delete(p)
    _one(r2, EventType.DELETED, p)
    flush_events(zk, writer, sentinels)
    assert r1.summary() == [(EventType.CHANGED, p)]
    assert r2.summary() == [(EventType.DELETED, p)]


def test_child_watch_fires_on_child_create_and_delete(zk, writer, base, sentinels):
    p = base + "/parent"
    writer.create(p)
    r1 = Recorder()
    assert zk.get_children(p, watch=r1) == []
    writer.create(p + "/a", b"")
    _one(r1, EventType.CHILD, p)
    writer.create(p + "/b", b"")      # one-shot
    flush_events(zk, writer, sentinels)
    assert r1.summary() == [(EventType.CHILD, p)]

    r2 = Recorder()
    assert sorted(zk.get_children(p, watch=r2)) == ["a", "b"]
    writer.set(p + "/a", b"data")      # data changes of children and of the parent:
    writer.set(p, b"data")             # not child events
    writer.create(p + "/a/grandchild")  # grandchildren are not children
    flush_events(zk, writer, sentinels)
    assert r2.summary() == []
    writer.delete(p + "/a/grandchild")
    writer.delete(p + "/a")
    _one(r2, EventType.CHILD, p)
    flush_events(zk, writer, sentinels)
    assert r2.summary() == [(EventType.CHILD, p)]


def test_child_watch_fires_deleted_when_parent_deleted(zk, writer, base, sentinels):
    p = base + "/parent"
    writer.create(p)
    rec = Recorder()
    zk.get_children(p, watch=rec)
    writer.delete(p)
    _one(rec, EventType.DELETED, p)
    flush_events(zk, writer, sentinels)
    assert rec.summary() == [(EventType.DELETED, p)]


def test_every_watching_client_is_notified(server, make_client, writer, base):
    p = base + "/shared"
    writer.create(p, b"")
    clients = [make_client(server) for _ in range(3)]
    recs = [Recorder() for _ in clients]
    for c, r in zip(clients, recs):
        c.get(p, watch=r)
    writer.set(p, b"x")
    for r in recs:
        _one(r, EventType.CHANGED, p)


def _frames_until_reply(raw, xid, timeout=5.0):
    """Read frames until the reply with `xid`; return [('event', Event) | ('reply', Reply)]."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        rep = raw.read_reply(max(0.01, deadline - time.monotonic()))
        if rep.xid == zkproto.XID_NOTIFICATION:
            out.append(("event", zkproto.parse_event(rep.body)))
            continue
        out.append(("reply", rep))
        if rep.xid == xid:
            return out


def test_one_notification_per_connection_for_data_and_child_watch(server, writer, base, make_raw):
    """Raw view: data + exists + child watch on one path, path deleted: the connection gets
    a single NodeDeleted notification (ZooKeeper delivers one event per watcher)."""
    p = base + "/both"
    writer.create(p, b"")
    raw = make_raw(server)
    assert raw.get_data(p, watch=True)[0] == zkproto.OK
    assert raw.get_data(p, watch=True)[0] == zkproto.OK       # repeated registration collapses
    assert raw.get_children(p, watch=True)[0] == zkproto.OK
    assert raw.exists(p, watch=True)[0] == zkproto.OK
    writer.delete(p)
    # the delete has been applied (writer got its reply), so its notifications precede the
    # reply to anything this connection sends now
    xid = raw.send_request(zkproto.OP_EXISTS, zkproto.path_watch_body(p, False))
    frames = _frames_until_reply(raw, xid)
    events = [f[1] for f in frames if f[0] == "event"]
    assert events == [zkproto.Event(zkproto.EV_DELETED, 3, p)]
    assert frames[-1][1].err == zkproto.NONODE
    assert raw.events == []


def test_event_precedes_reply_on_same_connection(server, base, make_raw):
    """getData(watch) ; setData ; getData pipelined on one connection: the NodeDataChanged
    notification is written before the setData reply (and so before the second getData)."""
    p = base + "/order"
    raw = make_raw(server)
    assert raw.create(p, b"old")[0] == zkproto.OK
    x1 = raw.send_request(zkproto.OP_GETDATA, zkproto.path_watch_body(p, True))
    x2 = raw.send_request(zkproto.OP_SETDATA, zkproto.setdata_body(p, b"new"))
    x3 = raw.send_request(zkproto.OP_GETDATA, zkproto.path_watch_body(p, False))
    frames = _frames_until_reply(raw, x3)
    kinds = [("event", f[1].type, f[1].path) if f[0] == "event" else ("reply", f[1].xid)
             for f in frames]
    assert kinds == [("reply", x1), ("event", zkproto.EV_CHANGED, p), ("reply", x2),
                     ("reply", x3)]
    body = zkproto.Reader(frames[-1][1].body)
    assert body.buffer() == b"new"
    # replies carry increasing zxids; the notification carries zxid -1
    assert frames[0][1].zxid < frames[2][1].zxid


def test_event_precedes_reply_showing_other_clients_change(server, writer, base, make_raw):
    """Client A (raw) has a data watch and keeps reading the node; client B changes it.
    No reply to A may show the new data before A has received the notification."""
    p = base + "/race"
    writer.create(p, b"old")
    raw = make_raw(server)
    assert raw.get_data(p, watch=True)[0] == zkproto.OK
    started = threading.Event()

    def change():
        started.wait(5)
        writer.set(p, b"new")

    t = threading.Thread(target=change)
    t.start()
    seen_event_at = None
    seen_new_at = None
    index = 0
    deadline = time.monotonic() + 10
    try:
        while seen_new_at is None and time.monotonic() < deadline:
            xids = [raw.send_request(zkproto.OP_GETDATA, zkproto.path_watch_body(p, False))
                    for _ in range(4)]
            started.set()
            for f in _frames_until_reply(raw, xids[-1]):
                index += 1
                if f[0] == "event":
                    assert f[1] == zkproto.Event(zkproto.EV_CHANGED, 3, p)
                    assert seen_event_at is None, "second notification"
                    seen_event_at = index
                else:
                    data = zkproto.Reader(f[1].body).buffer()
                    if data == b"new" and seen_new_at is None:
                        seen_new_at = index
    finally:
        t.join(10)
    assert seen_new_at is not None, "never saw the new data"
    assert seen_event_at is not None and seen_event_at < seen_new_at


def test_kazoo_reads_new_data_after_event(zk, writer, base):
    p = base + "/k"
    writer.create(p, b"old")
    got = {}
    done = threading.Event()

    def watcher(ev):
        got["event"] = ev
        done.set()

    zk.get(p, watch=watcher)
    writer.set(p, b"new")
    assert done.wait(10)
    assert got["event"].type == EventType.CHANGED
    assert zk.get(p)[0] == b"new"


def _climt_or_skip():
    reason = climt.unavailable_reason()
    if reason:
        pytest.skip(reason)


# Note: kazoo 2.8 (Debian's python3-kazoo) never sends SetWatches; after a reconnect its
# watches are silently gone on the server. The C client (cli_mt) does re-register them
# (SetWatches with xid -8), so it is the watching client in the reconnect tests below.

def test_watches_restored_after_reconnect(server, writer, base):
    """cli_mt talks through a proxy. The proxy cuts the connection and refuses reconnects
    while another client changes the watched nodes; when the proxy lets cli_mt back in, its
    SetWatches must make the missed events fire; unfired watches stay registered."""
    _climt_or_skip()
    p = {k: f"{base}/{k}" for k in ("changed", "created", "parent", "deleted", "quiet")}
    for k in ("changed", "parent", "deleted", "quiet"):
        writer.create(p[k], b"v0")
    proxy = TcpProxy("127.0.0.1", server.port)
    cli = climt.CliMt(proxy.hosts)
    try:
        cli.wait_for(r"Got a new session id: 0x([0-9a-f]+)")
        _, m = cli.run("myid", r"session Id = ([0-9a-f]+)")
        sid = m.group(1)
        cli.run(f"get {p['changed']}", r"ephemeralOwner")
        cli.run(f"get {p['deleted']}", r"ephemeralOwner")
        cli.run(f"get {p['quiet']}", r"ephemeralOwner")
        cli.run(f"wexists {p['created']}", r"Error -101 for " + p["created"])
        cli.run(f"ls {p['parent']}", p["parent"] + r": rc = 0")

        mark = cli.mark()
        proxy.cut()
        cli.wait_for(r"SESSION_EVENT state = CONNECTING_STATE", 10, mark)
        writer.set(p["changed"], b"v1")
        writer.create(p["created"], b"")
        writer.create(p["parent"] + "/kid", b"")
        writer.delete(p["deleted"])
        proxy.resume()
        cli.wait_for(r"SESSION_EVENT state = CONNECTED_STATE", 20, mark)
        for etype, path in (("CHANGED", p["changed"]), ("CREATED", p["created"]),
                            ("CHILD", p["parent"]), ("DELETED", p["deleted"])):
            cli.wait_for(rf"Watcher {etype}_EVENT state = CONNECTED_STATE for path {path}$",
                         10, mark)
        _, m = cli.run("myid", r"session Id = ([0-9a-f]+)")
        assert m.group(1) == sid, "session must survive a short disconnection"
        # the unchanged node's watch was registered again: it fires on the next change
        writer.set(p["quiet"], b"v1")
        cli.wait_for(rf"Watcher CHANGED_EVENT state = CONNECTED_STATE for path {p['quiet']}$",
                     10, mark)
        events = [l for l in cli.output(mark) if re.match(r"Watcher \w+_EVENT .* for path", l)]
        assert sorted(events) == sorted(
            f"Watcher {t}_EVENT state = CONNECTED_STATE for path {path}" for t, path in
            (("CHANGED", p["changed"]), ("CREATED", p["created"]), ("CHILD", p["parent"]),
             ("DELETED", p["deleted"]), ("CHANGED", p["quiet"])))
    finally:
        cli.close()
        proxy.close()


@pytest.mark.deadline(120)
def test_watches_and_session_survive_server_restart(target, make_server, make_client):
    """Restart the server process (SIGTERM, same dataDir) while sessions are valid: kazoo
    reconnects to the same session and its ephemeral is still there; cli_mt reconnects to its
    session and its watches (re-registered by SetWatches) fire for changes made after.

    The clients reach the server through a proxy that refuses connections until the restarted
    server is ready: ZooKeeper 3.8.0 leaves a connection that arrives while it is still
    loading its database hanging (NPE in NIOServerCnxn.close, the socket is never closed), and
    the client then waits out its whole connect timeout."""
    _climt_or_skip()
    srv = make_server(target)
    proxy = TcpProxy("127.0.0.1", srv.port)
    cli = None
    try:
        a = make_client(proxy.hosts, timeout=30.0)
        states = StateTracker(a)
        sid = a.client_id[0]
        a.create("/r", b"v0")
        a.create("/r/eph", b"", ephemeral=True)
        cli = climt.CliMt(proxy.hosts)
        cli.wait_for(r"Got a new session id")
        _, m = cli.run("myid", r"session Id = ([0-9a-f]+)")
        cli_sid = m.group(1)
        cli.run("get /r", r"ephemeralOwner")
        cli.run("ls /r", r"/r: rc = 0")
        cli.run("wexists /r/new", r"Error -101 for /r/new")

        mark = states.mark()
        cmark = cli.mark()
        proxy.cut()
        srv.stop()
        assert states.wait_for(KazooState.SUSPENDED, 10, after=mark)
        srv.start()
        proxy.resume()
        assert states.wait_for(KazooState.CONNECTED, 20, after=mark)
        assert a.client_id[0] == sid
        assert a.exists("/r/eph").ephemeralOwner == sid
        cli.wait_for(r"SESSION_EVENT state = CONNECTED_STATE", 20, cmark)
        _, m = cli.run("myid", r"session Id = ([0-9a-f]+)")
        assert m.group(1) == cli_sid

        b = make_client(srv)
        b.set("/r", b"v1")
        b.create("/r/new", b"")
        for etype, path in (("CHANGED", "/r"), ("CHILD", "/r"), ("CREATED", "/r/new")):
            cli.wait_for(rf"Watcher {etype}_EVENT state = CONNECTED_STATE for path {path}$",
                         10, cmark)
    finally:
        if cli is not None:
            cli.close()
        proxy.close()


def test_setwatches_raw(server, writer, base, make_raw):
    """setWatches (101) with a relative zxid: changes after that zxid fire at once (data
    watches first, then exist, then child watches, each list in order); unchanged nodes get
    their watch registered and fire later."""
    p = {k: f"{base}/{k}" for k in ("same", "changed", "gone", "born", "kids", "nokids")}
    for k in ("same", "changed", "gone", "kids", "nokids"):
        writer.create(p[k], b"")
    raw = make_raw(server)
    # learn the current zxid from a reply, then make the changes
    rep = raw.call(zkproto.OP_EXISTS, zkproto.path_watch_body(base, False))
    rel = rep.zxid
    assert rel > 0
    writer.set(p["changed"], b"x")
    writer.delete(p["gone"])
    writer.create(p["born"], b"")
    writer.create(p["kids"] + "/k", b"")
    body = zkproto.setwatches_body(
        rel,
        data=[p["same"], p["changed"], p["gone"]],
        exist=[p["born"], base + "/never"],
        child=[p["kids"], p["nokids"]])
    rep = raw.call(zkproto.OP_SETWATCHES, body)
    assert rep.err == zkproto.OK and rep.body == b""
    assert raw.events == [
        zkproto.Event(zkproto.EV_CHANGED, 3, p["changed"]),
        zkproto.Event(zkproto.EV_DELETED, 3, p["gone"]),
        zkproto.Event(zkproto.EV_CREATED, 3, p["born"]),
        zkproto.Event(zkproto.EV_CHILD, 3, p["kids"]),
    ]
    raw.events.clear()
    # the others were registered: change them and they fire
    writer.set(p["same"], b"y")
    writer.create(base + "/never", b"")
    writer.create(p["nokids"] + "/k", b"")
    raw.ping()
    assert raw.events == [
        zkproto.Event(zkproto.EV_CHANGED, 3, p["same"]),
        zkproto.Event(zkproto.EV_CREATED, 3, base + "/never"),
        zkproto.Event(zkproto.EV_CHILD, 3, p["nokids"]),
    ]
