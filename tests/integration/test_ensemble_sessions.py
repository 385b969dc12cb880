"""Sessions and watches across a leader failover (issue 5 acceptance): kazoo connected to all
three members keeps its session (same id, ephemerals kept) through a SIGKILL of the leader,
and its DataWatch / ChildrenWatch recipes keep delivering (kazoo 2.8 does not resend raw
watches on reconnect; its recipes re-register). A raw client that does send SetWatches on
reconnecting elsewhere gets its watch restored, and fired at once for a change it missed.
"""

import threading
import time

import pytest
from kazoo.protocol.states import KazooState
from kazoo.recipe.watchers import ChildrenWatch, DataWatch

import zkproto
from ensemble import make_ensemble  # noqa: F401 (fixture)
from util import StateTracker, wait_until

pytestmark = pytest.mark.deadline(120)


def connected_member(ens, client):
    """sid of the member holding `client`'s connection (from `cons`)."""
    sid_hex = f"0x{client.client_id[0]:x}"
    for m in ens:
        out = m.four_letter("cons") if m.alive() else ""
        if sid_hex in out:
            return m.sid
    return None


@pytest.mark.parametrize("connected_to", ["leader", "follower"])
def test_kazoo_session_and_recipes_survive_leader_kill(make_ensemble, connected_to):
    ens = make_ensemble(3)
    ens.start()
    leader = ens.wait_leader(expect=3)
    first = leader if connected_to == "leader" else 1
    order = [first] + [s for s in (1, 2, 3) if s != first]
    zk = ens.client(order, randomize_hosts=False, timeout=4.0)
    assert connected_member(ens, zk) == first
    tracker = StateTracker(zk)
    session = zk.client_id

    zk.create("/eph", b"mine", ephemeral=True)
    zk.create("/dw", b"0")
    zk.create("/cw")
    data_seen, children_seen = [], []
    cond = threading.Condition()

    def on_data(data, stat):
        with cond:
            data_seen.append(data)
            cond.notify_all()

    def on_children(children):
        with cond:
            children_seen.append(sorted(children))
            cond.notify_all()

    DataWatch(zk, "/dw", on_data)
    ChildrenWatch(zk, "/cw", on_children)
    with cond:
        assert cond.wait_for(lambda: data_seen and children_seen, 10)

    mark = tracker.mark()
    t = time.monotonic()
    ens.kill(leader)
    if first == leader:
        assert tracker.wait_for(KazooState.SUSPENDED, 5, after=mark)
    ens.wait_leader(sids=[1, 2], timeout=15)
    # the client is connected again (it may never have noticed if its member kept serving
    # throughout -- it cannot: a follower that loses its leader drops its clients)
    assert tracker.wait_for(KazooState.CONNECTED, 15, after=mark)
    took = time.monotonic() - t
    assert KazooState.LOST not in tracker.states[mark:]
    assert zk.client_id == session, "the session changed"
    other = ens.client([1, 2])
    assert other.exists("/eph") is not None
    assert other.exists("/eph").ephemeralOwner == session[0]
    assert zk.get("/eph")[0] == b"mine"

    other.set("/dw", b"after failover")
    other.create("/cw/child")
    with cond:
        assert cond.wait_for(lambda: b"after failover" in data_seen, 10), data_seen
        assert cond.wait_for(lambda: ["child"] in children_seen, 10), children_seen
    print(f"client reconnected with its session {took:.3f}s after the leader kill")

    # the ephemeral goes when the session closes, on every member
    zk.stop()
    wait_until(lambda: other.exists("/eph") is None, 10, message="ephemeral removed")


def test_raw_setwatches_restored_on_another_member(make_ensemble):
    """A raw client on follower 1 sets a data watch and an exists watch, loses the
    connection when the leader dies, resumes its session on follower 2 with SetWatches:
    the change it missed fires at once, the other watch fires on the next change."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    zk = ens.client([1, 2])
    zk.create("/rw-missed", b"0")
    zk.create("/rw-later", b"0")
    zk.sync("/")

    raw = zkproto.RawClient(ens[1].client_host, ens[1].port, timeout=5)
    resp = raw.connect(timeout_ms=4000)
    assert resp.timeout > 0
    assert raw.get_data("/rw-missed", watch=True)[0] == zkproto.OK
    assert raw.get_data("/rw-later", watch=True)[0] == zkproto.OK
    last_zxid = raw.last_zxid

    ens.kill(3)
    raw.wait_closed(timeout=5)   # follower 1 lost its leader: clients dropped
    raw.close()
    ens.wait_leader(sids=[1, 2], timeout=15)
    zk.set("/rw-missed", b"changed while away")

    raw2 = zkproto.RawClient(ens[2].client_host, ens[2].port, timeout=5)
    resp2 = raw2.connect(timeout_ms=4000, session_id=resp.session_id, passwd=resp.passwd,
                         last_zxid=last_zxid)
    assert resp2.session_id == resp.session_id and resp2.timeout > 0
    rep = raw2.call(zkproto.OP_SETWATCHES,
                    zkproto.setwatches_body(last_zxid, data=["/rw-missed", "/rw-later"]))
    assert rep.err == zkproto.OK
    ev = wait_event(raw2, "/rw-missed")
    assert ev.type == zkproto.EV_CHANGED
    zk.set("/rw-later", b"now")
    ev = wait_event(raw2, "/rw-later")
    assert ev.type == zkproto.EV_CHANGED
    raw2.close()


def wait_event(raw, path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in raw.events:
            if e.path == path:
                raw.events.remove(e)
                return e
        try:
            raw.ping()
        except Exception:  # noqa: BLE001 - the reply loop collects events meanwhile
            pass
        time.sleep(0.05)
    raise AssertionError(f"no watch event for {path} within {timeout}s; got {raw.events}")


def test_session_expiry_on_a_follower_removes_ephemerals_everywhere(make_ensemble):
    """A client of follower 1 vanishes without closing its session: the leader expires it
    (session activity reaches the leader only through follower pings) and its ephemeral
    goes from every member; a client that stays keeps its session meanwhile."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    keeper = ens.client([1], timeout=1.0)   # negotiated like the raw one, but it pings
    keeper.create("/kept", b"", ephemeral=True)
    raw = zkproto.RawClient(ens[1].client_host, ens[1].port, timeout=5)
    resp = raw.connect(timeout_ms=1000)
    assert 400 <= resp.timeout <= 1000
    assert raw.create("/gone", b"", flags=1)[0] == zkproto.OK   # ephemeral
    other = ens.client([2, 3])
    assert other.exists("/gone") is not None
    t = time.monotonic()
    raw.close()   # no closeSession: only expiry can remove it
    wait_until(lambda: other.exists("/gone") is None, 10, message="expired ephemeral removed")
    took = time.monotonic() - t
    print(f"session of a vanished client expired after {took:.3f}s (timeout {resp.timeout} ms)")
    assert took >= resp.timeout / 1000 * 0.9
    for sid in (1, 2, 3):
        c = ens.client([sid])
        c.sync("/")
        assert c.exists("/gone") is None, f"node {sid} still has the expired ephemeral"
        assert c.exists("/kept") is not None, f"node {sid} lost a live session's ephemeral"


def test_session_moves_between_members(make_ensemble):
    """A session opened on follower 1 is resumed on follower 2 (same id and password): the
    new connection works, and the old one can no longer write (SESSIONMOVED or closed)."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    a = zkproto.RawClient(ens[1].client_host, ens[1].port, timeout=5)
    resp = a.connect(timeout_ms=4000)
    assert a.create("/moved", b"1")[0] == zkproto.OK
    # Member 2 refuses the session (closes the connection) while it has not applied the
    # client's last seen zxid yet, as ZooKeeper does; a client then tries again.
    deadline = time.monotonic() + 5
    while True:
        b = zkproto.RawClient(ens[2].client_host, ens[2].port, timeout=5)
        try:
            resp2 = b.connect(timeout_ms=4000, session_id=resp.session_id, passwd=resp.passwd,
                              last_zxid=a.last_zxid)
            break
        except zkproto.Closed:
            b.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    assert resp2.session_id == resp.session_id and resp2.timeout > 0
    err, _ = b.set_data("/moved", b"2")
    assert err == zkproto.OK
    try:
        err, _ = a.set_data("/moved", b"from the old connection")
        assert err == -118, f"old connection wrote after the session moved (err {err})"
    except (zkproto.Closed, OSError):
        pass
    a.close()
    b.close()


def test_sessions_expire_after_a_failover(make_ensemble):
    """A client that vanished just before the leader died is expired by the new leader
    (which starts the session clocks afresh): its ephemeral goes everywhere."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    raw = zkproto.RawClient(ens[1].client_host, ens[1].port, timeout=5)
    resp = raw.connect(timeout_ms=1000)
    assert raw.create("/orphan", b"", flags=1)[0] == zkproto.OK
    raw.close()
    ens.kill(3)
    ens.wait_leader(sids=[1, 2], timeout=15)
    t = time.monotonic()
    other = ens.client([1, 2])
    wait_until(lambda: other.exists("/orphan") is None, 15, message="orphan ephemeral expired")
    print(f"orphan session expired {time.monotonic() - t:.3f}s after the new leader served "
          f"(timeout {resp.timeout} ms)")
    ens.start(3)
    ens.wait_leader(timeout=20)
    c = ens.client([3])
    c.sync("/")
    assert c.exists("/orphan") is None
