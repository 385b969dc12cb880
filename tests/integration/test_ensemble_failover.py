"""Ensemble failures (issue 5 acceptance): the leader SIGKILLed under a steady write load, a
follower killed (DIFF on return, SNAP when far behind), two of three killed.

Paddock members on 127.0.0.1, tickTime 200, initLimit 10, syncLimit 5 (a lost peer is noticed
within about 1 s). Writers are kazoo clients connected to every member; every acknowledged
write must be on every member at the end.
"""

import shutil
import time

import pytest
from kazoo.exceptions import ConnectionLoss, KazooException
from kazoo.protocol.states import KazooState

import zkdisk
from ensemble import Writer, assert_converged, make_ensemble, member_trees  # noqa: F401
from util import StateTracker, wait_until

pytestmark = pytest.mark.deadline(150)


def start_writers(ens, parent, n=3, sids=None):
    ws = [Writer(ens, parent, f"c{i}", sids=sids) for i in range(n)]
    for w in ws:
        w.start()
    return ws


def acks_after(ws, t):
    return min(sum(1 for _, at, _ in w.acked if at > t) for w in ws)


def stop_writers(ws):
    for w in ws:
        w.stop()
    acked = [p for w in ws for p, _, _ in w.acked]
    unknown = [p for w in ws for p in w.unknown]
    return acked, unknown


def assert_all_present(trees, acked, unknown, parent):
    attempted = set(acked) | set(unknown)
    for sid, tree in trees.items():
        have = {p for p in tree if p.startswith(parent + "/")}
        missing = sorted(set(acked) - have)
        assert not missing, f"node {sid} lost {len(missing)} acknowledged writes: {missing[:5]}"
        phantom = sorted(have - attempted)
        assert not phantom, f"node {sid} has znodes nobody wrote: {phantom[:5]}"


def sync_kind(member, since=0, timeout=15.0):
    return member.sync_kind(since, timeout)


# ZooKeeper runs of the same tests (slow: JVMs) show the expectations are ZooKeeper's own.
KINDS = ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)]


# ------------------------------------------------------------------------- leader killed

@pytest.mark.parametrize("kind", KINDS)
def test_leader_sigkill_under_write_load(make_ensemble, kind):
    ens = make_ensemble(3, kind=kind)
    ens.start()
    old = ens.wait_leader(timeout=40)   # 3, unless a JVM came up late
    ens.client().create("/load")
    ws = start_writers(ens, "/load", n=3)
    wait_until(lambda: acks_after(ws, 0) >= 20, 20, message="writers acknowledged")
    old_epoch = max(z for w in ws for _, _, z in w.acked) >> 32

    t_kill = time.monotonic()
    ens.kill(old)
    others = [s for s in (1, 2, 3) if s != old]
    new = ens.wait_leader(sids=others, timeout=15)
    t_elected = time.monotonic()
    wait_until(lambda: acks_after(ws, t_kill) >= 20, 20, message="writes resumed on every writer")
    first_ack = min(at for w in ws for _, at, z in w.acked if z >> 32 > old_epoch)
    acked, unknown = stop_writers(ws)
    print(f"SIGKILL -> leader elected {t_elected - t_kill:.3f}s, -> first acknowledged "
          f"write of the new epoch {first_ack - t_kill:.3f}s; {len(acked)} acked, "
          f"{len(unknown)} unknown")
    new_epoch = max(z for w in ws for _, _, z in w.acked) >> 32
    assert new_epoch > old_epoch
    for w in ws:
        assert not any("SessionExpired" in e for e in w.errors), w.errors

    assert_all_present(member_trees(ens, others), acked, unknown, "/load")

    # the old leader returns, follows, and ends with the same tree
    mark = ens[old].log_mark()
    ens.start(old)
    assert ens.wait_leader(expect=new) == new
    kind = sync_kind(ens[old], since=mark)
    print(f"old leader resynchronised by {kind}")
    tree = assert_converged(ens)
    assert_all_present({0: tree}, acked, unknown, "/load")


def test_writes_after_failover_keep_order_and_sessions(make_ensemble):
    """Two leader kills in a row; the ensemble serves in between and after, every ack kept."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    zk = ens.client()
    zk.create("/seq")
    ws = start_writers(ens, "/seq", n=2)
    for _ in range(2):
        wait_until(lambda: acks_after(ws, 0) >= 10, 20, message="writes")
        leader = ens.wait_leader(sids=ens.running())
        t = time.monotonic()
        ens.kill(leader)
        ens.wait_leader(sids=ens.running(), timeout=15)
        wait_until(lambda: acks_after(ws, t) >= 10, 20, message="writes resumed")
        ens.start(leader)
        ens.wait_leader(timeout=15)
    acked, unknown = stop_writers(ws)
    tree = assert_converged(ens)
    assert_all_present({0: tree}, acked, unknown, "/seq")
    # each writer's acknowledged creates got increasing zxids (one session, in order)
    for w in ws:
        zx = [z for _, _, z in w.acked]
        assert zx == sorted(zx)


# ------------------------------------------------------------------------- follower killed

def test_follower_killed_no_election_then_diff(make_ensemble):
    ens = make_ensemble(3)
    ens.start()
    leader = ens.wait_leader(expect=3)
    ens.client().create("/fk")
    ws = start_writers(ens, "/fk", n=3)
    wait_until(lambda: acks_after(ws, 0) >= 10, 20, message="writes")
    epoch = ens[leader].zxid() >> 32
    lead_mark = ens[leader].log_mark()

    t = time.monotonic()
    ens.kill(1)
    # the leader keeps leading (no election), node 2 keeps following, writes continue
    seen = set()
    while time.monotonic() - t < 2.0:
        seen.add((ens[3].mode(), ens[2].mode()))
        time.sleep(0.05)
    assert seen == {("leader", "follower")}, seen
    wait_until(lambda: acks_after(ws, t) >= 20, 20, message="writes continue")
    assert ens[leader].zxid() >> 32 == epoch
    assert "LOOKING" not in ens[leader].log_text(lead_mark)
    assert "LOOKING" not in ens[2].log_text(lead_mark)

    mark = ens[1].log_mark()
    ens.start(1)
    ens.wait_leader(expect=3)
    assert sync_kind(ens[1], since=mark) == "DIFF"
    ens[leader].wait_log(r"syncing learner 1 with DIFF", since=lead_mark)
    wait_until(lambda: acks_after(ws, t) >= 40, 20, message="writes after the return")
    acked, unknown = stop_writers(ws)
    assert all(z >> 32 == epoch for w in ws for _, _, z in w.acked)
    tree = assert_converged(ens)
    assert_all_present({0: tree}, acked, unknown, "/fk")


def write_many(zk, parent, n, batch=200):
    zk.ensure_path(parent)
    for start in range(0, n, batch):
        rs = [zk.create_async(f"{parent}/n{i:05d}", b"x" * 32) for i in range(start, min(n, start + batch))]
        for r in rs:
            r.get(timeout=30)


@pytest.mark.parametrize("kind", KINDS)
def test_follower_with_empty_datadir_gets_snap(make_ensemble, kind):
    ens = make_ensemble(3, kind=kind)
    ens.start()
    leader = ens.wait_leader(timeout=40)
    f = 1 if leader != 1 else 2
    ens.kill(f)
    shutil.rmtree(ens[f].data_dir / "version-2")
    zk = ens.client([s for s in (1, 2, 3) if s != f])
    write_many(zk, "/snap", 1200)
    mark, lmark = ens[f].log_mark(), ens[leader].log_mark()
    ens.start(f)
    ens.wait_leader(expect=leader, timeout=30)
    assert sync_kind(ens[f], since=mark) == "SNAP"
    if kind == "paddock":
        ens[leader].wait_log(rf"syncing learner {f} with SNAP", since=lmark)
    tree = assert_converged(ens, root="/snap")
    assert len(tree) == 1201


def test_follower_far_behind_catches_up(make_ensemble):
    """A follower that missed more than the leader's in-memory committed log (500 txns):
    DIFF from the leader's on-disk log or SNAP, either way it converges."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    zk = ens.client()
    zk.create("/behind")
    ens.kill(1)
    write_many(ens.client([2, 3]), "/behind", 1200)
    mark = ens[1].log_mark()
    ens.start(1)
    ens.wait_leader(expect=3)
    kind = sync_kind(ens[1], since=mark)
    print(f"follower 1200 txns behind synchronised by {kind}")
    assert kind in ("DIFF", "SNAP")
    tree = assert_converged(ens, root="/behind")
    assert len(tree) == 1201


# ------------------------------------------------------------------------- two of three

def _check_survivor_stops(ens, survivor, client_on_survivor, tracker, mark_state, t):
    # the survivor goes LOOKING: 4lw "not serving", its clients are disconnected,
    # a new connection is closed at connect, and a write fails
    ens.wait_mode(survivor, "looking", timeout=5)
    took = time.monotonic() - t
    assert tracker.wait_for(KazooState.SUSPENDED, timeout=5, after=mark_state)
    with pytest.raises((ConnectionLoss, KazooException, Exception)):
        client_on_survivor.create_async("/two/while-alone", b"").get(timeout=2)
    import zkproto
    import socket
    try:
        raw = zkproto.RawClient(ens[survivor].client_host, ens[survivor].port, timeout=3)
        try:
            raw.send_raw(zkproto.frame(zkproto.connect_body(4000)))
            raw.wait_closed(timeout=3)
        finally:
            raw.close()
    except (ConnectionRefusedError, socket.timeout) as e:
        pytest.fail(f"survivor neither served nor closed a new connection: {e!r}")
    return took


@pytest.mark.parametrize("killed", ["followers", "leader-and-follower"])
def test_two_of_three_killed(make_ensemble, killed):
    ens = make_ensemble(3)
    ens.start()
    leader = ens.wait_leader(expect=3)
    zk = ens.client()
    zk.create("/two")
    acked = []
    for i in range(30):
        zk.create(f"/two/n{i}")
        acked.append(f"/two/n{i}")
    survivor = 3 if killed == "followers" else 2
    victims = [s for s in (1, 2, 3) if s != survivor]
    single = ens.client([survivor])
    tracker = StateTracker(single)
    mark_state = tracker.mark()

    t = time.monotonic()
    for v in victims:
        ens.kill(v)
    took = _check_survivor_stops(ens, survivor, single, tracker, mark_state, t)
    print(f"survivor {survivor} stopped serving {took:.3f}s after the kills")
    if survivor == leader:
        # a leader that has not heard from a quorum for syncLimit ticks steps down
        assert took < ens.sync_limit * ens.tick / 1000 + 1.5
        ens[survivor].wait_log(r"leadership ended")
    assert ens[survivor].mode() == "looking"

    # one node back: an election completes and service resumes with all acked data
    back = victims[0]
    ens.start(back)
    new = ens.wait_leader(sids=[survivor, back], timeout=15)
    assert tracker.wait_for(KazooState.CONNECTED, timeout=15, after=mark_state)
    single.create("/two/after", b"resumed")
    trees = member_trees(ens, [survivor, back], root="/two")
    for sid, tree in trees.items():
        for p in acked + ["/two/after"]:
            assert p in tree, f"node {sid} lacks {p}"
    print(f"after {killed} killed: node {new} leads {survivor} and {back}")


@pytest.mark.slow
def test_rolling_restart_under_load(make_ensemble):
    """Every member restarted in turn (SIGTERM, start, wait until it serves again), the
    leader last, while 3 writers go on: every acknowledged write on every member."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    ens.client().create("/roll")
    ws = start_writers(ens, "/roll", n=3)
    wait_until(lambda: acks_after(ws, 0) >= 10, 20, message="writes")
    for sid in (1, 2, 3):
        t = time.monotonic()
        ens.stop(sid)
        ens.start(sid)
        ens.wait_leader(timeout=20)
        wait_until(lambda: acks_after(ws, t) >= 10, 20, message=f"writes after restarting {sid}")
    acked, unknown = stop_writers(ws)
    tree = assert_converged(ens)
    assert_all_present({0: tree}, acked, unknown, "/roll")


def test_five_members_survive_two_failures(make_ensemble):
    ens = make_ensemble(5)
    ens.start()
    leader = ens.wait_leader(expect=5)
    zk = ens.client()
    zk.create("/five")
    ens.kill(leader)
    ens.kill(1)
    new = ens.wait_leader(sids=[2, 3, 4], timeout=15)
    assert new == 4
    for i in range(20):
        zk.create(f"/five/n{i}")
    ens.kill(new)     # two of five left: no quorum
    for sid in (2, 3):
        ens.wait_mode(sid, "looking", timeout=5)
    ens.start(1)
    assert ens.wait_leader(sids=[1, 2, 3], timeout=15) == 3
    tree = assert_converged(ens, sids=[1, 2, 3], root="/five")
    assert len(tree) == 21


# ------------------------------------------------------------------------- frozen members

def test_frozen_leader_is_replaced_and_rejoins(make_ensemble):
    """The leader stops (SIGSTOP: a long GC pause, a hung disk) -- its connections stay
    open, so only the followers' syncLimit timeout can notice. They elect a new leader; the
    old one, resumed, finds it has lost its quorum and follows the new one."""
    ens = make_ensemble(3)
    ens.start()
    old = ens.wait_leader(expect=3)
    zk = ens.client()
    zk.create("/frozen", b"0")
    t = time.monotonic()
    ens[old].sigstop()
    new = ens.wait_leader(sids=[1, 2], timeout=15)
    took = time.monotonic() - t
    limit = ens.sync_limit * ens.tick / 1000
    print(f"frozen leader replaced after {took:.3f}s (syncLimit {limit:.1f}s)")
    assert took >= limit * 0.8, "followers gave up on a live leader before syncLimit"
    zk.retry(zk.set, "/frozen", b"new leader")
    mark = ens[old].log_mark()
    ens[old].sigcont()
    assert ens.wait_leader(timeout=20) == new
    ens[old].wait_log(r"leadership ended", since=mark)
    tree = assert_converged(ens, root="/frozen")
    assert tree["/frozen"][0] == b"new leader"


def test_frozen_follower_is_dropped_and_rejoins(make_ensemble):
    ens = make_ensemble(3)
    ens.start()
    leader = ens.wait_leader(expect=3)
    zk = ens.client([2, 3])
    zk.create("/ff")
    mark = ens[leader].log_mark()
    ens[1].sigstop()
    # writes go on with the other follower; the leader drops the silent one after syncLimit
    for i in range(20):
        zk.create(f"/ff/n{i}")
    ens[leader].wait_log(r"learner 1 silent for more than syncLimit", since=mark, timeout=5)
    assert ens[leader].mode() == "leader"
    ens[1].sigcont()
    assert ens.wait_leader(timeout=20) == leader
    tree = assert_converged(ens, root="/ff")
    assert len(tree) == 21


@pytest.mark.parametrize("kind", ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)])
def test_zxid_counter_rollover_forces_a_new_epoch(make_ensemble, kind):
    """A leader whose zxid counter is about to wrap steps down and a new election starts a new
    epoch (zookeeper.testingonly.initialZxid puts the counter 12 writes from its end). Every
    acknowledged write survives, no zxid has the counter 0xffffffff, and writes go on."""
    start = 0xffffffff - 12
    if kind == "paddock":
        ens = make_ensemble(3, kind=kind, extra={"zookeeper.testingonly.initialZxid": str(start)})
    else:
        ens = make_ensemble(3, kind=kind,
                            java_props=[f"-Dzookeeper.testingonly.initialZxid={start}"])
    ens.start()
    ens.wait_leader(timeout=40)
    w = Writer(ens, "/roll", "w")
    w.client.ensure_path("/roll")
    w.start()
    try:
        wait_until(lambda: len({z >> 32 for _, _, z in w.acked}) >= 3, 60,
                   message="writes in three epochs")
    finally:
        w.stop()
    epochs = sorted({z >> 32 for _, _, z in w.acked})
    assert len(epochs) >= 3, epochs
    assert all(z & 0xffffffff != 0xffffffff for _, _, z in w.acked)
    assert all(z & 0xffffffff > start for _, _, z in w.acked), "a leader started below the property"
    ens.wait_leader(timeout=30)
    tree = assert_converged(ens)
    have = {p for p in tree if p.startswith("/roll/")}
    assert {p for p, _, _ in w.acked} <= have
