"""Ensemble elections (issue 5 acceptance): who leads when members start together or one by
one, and with different histories (crafted ZooKeeper dataDirs in epoch 5, and real ones).

Members are Paddock processes on 127.0.0.1 with tickTime 200, initLimit 10, syncLimit 5.
"""

import itertools
import time

import pytest

import zkdisk
from ensemble import assert_converged, make_ensemble  # noqa: F401 (fixture)

pytestmark = pytest.mark.deadline(120)


def test_three_started_together_elect_node_3(make_ensemble):
    ens = make_ensemble(3)
    ens.start()
    assert ens.wait_leader(expect=3) == 3
    assert ens.modes() == {1: "follower", 2: "follower", 3: "leader"}
    m = ens[3].wait_log(r"election ended in (\d+) ms: leader 3")
    assert int(m.group(1)) < 5000
    for sid in (1, 2):
        ens[sid].wait_log(r"peer state: LOOKING -> FOLLOWING")
    ens[3].wait_log(r"peer state: LOOKING -> LEADING")


def test_three_started_one_by_one_elect_node_2(make_ensemble):
    ens = make_ensemble(3)
    ens.start(1)
    time.sleep(1.0)  # node 1 alone: no quorum, stays LOOKING
    assert ens[1].mode() == "looking"
    ens.start(2)
    assert ens.wait_leader(sids=[1, 2], expect=2) == 2
    time.sleep(0.5)
    ens.start(3)
    # node 3 has the highest id but joins the established leader instead of a new round
    assert ens.wait_leader(expect=2) == 2
    assert ens.modes() == {1: "follower", 2: "leader", 3: "follower"}
    ens[3].wait_log(r"election ended in \d+ ms: leader 2")
    assert "LEADING" not in ens[3].log_text()
    # the established leader did not restart its epoch for the late joiner
    assert ens[2].log_text().count("peer state: LOOKING -> LEADING") == 1


def test_five_started_one_by_one_elect_node_3(make_ensemble):
    ens = make_ensemble(5)
    ens.start(1)
    time.sleep(0.5)
    ens.start(2)
    time.sleep(1.0)  # two of five: no quorum yet
    assert ens.modes([1, 2]) == {1: "looking", 2: "looking"}
    ens.start(3)
    assert ens.wait_leader(sids=[1, 2, 3], expect=3) == 3
    time.sleep(0.5)
    ens.start(4)
    ens.wait_mode(4, "follower")
    time.sleep(0.5)
    ens.start(5)
    assert ens.wait_leader(expect=3) == 3
    assert ens.modes() == {1: "follower", 2: "follower", 3: "leader", 4: "follower",
                           5: "follower"}
    for sid in (4, 5):
        assert "LEADING" not in ens[sid].log_text()


@pytest.mark.parametrize("kind", ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)])
def test_writes_replicate_and_late_joiner_catches_up(make_ensemble, kind):
    ens = make_ensemble(3, kind=kind)
    ens.start(1, 2)
    ens.wait_leader(sids=[1, 2], expect=2, timeout=40)
    zk = ens.client([1, 2])
    zk.create("/joined", b"before 3")
    for i in range(20):
        zk.create(f"/joined/n{i}", str(i).encode())
    ens.start(3)
    ens.wait_leader(expect=2, timeout=30)
    print(f"late joiner synchronised by {ens[3].sync_kind()}")
    tree = assert_converged(ens)
    assert len([p for p in tree if p.startswith("/joined/")]) == 20


# --------------------------------------------------------------- crafted histories

EPOCH = 5
LAST = {1: 0x12, 2: 0x15, 3: 0x10}   # last zxid counters in epoch 5, as in the issue


def craft(ens):
    for sid, last in LAST.items():
        zkdisk.write_history_datadir(ens[sid].data_dir, sid, EPOCH, last)
        assert zkdisk.last_zxid_in_logs(ens[sid].data_dir / "version-2") == \
            zkdisk.make_zxid(EPOCH, last)


def hist_tree(tree):
    return {p: v[0] for p, v in tree.items() if p == "/hist" or p.startswith("/hist/")}


def check_history_outcome(ens, leader):
    tree = assert_converged(ens)
    expected = zkdisk.expected_history_tree(EPOCH, LAST[leader])
    assert hist_tree(tree) == expected
    # zxids of the crafted txns survive as they were (same czxid on every member)
    assert tree["/hist"][2] == zkdisk.make_zxid(EPOCH, 1)
    # the new epoch is above 5, and new writes go on in it
    zk = ens.client()
    zk.create("/after", b"x")
    _, st = zk.get("/after")
    assert st.czxid >> 32 > EPOCH
    return tree


def test_crafted_histories_load_as_written(make_ensemble):
    """Each crafted dataDir is served with the zxid the issue names (srvr: Zxid)."""
    ens = make_ensemble(3)
    craft(ens)
    ens.start()
    leader = ens.wait_leader(expect=2)
    assert leader == 2
    for sid in (1, 3):
        ens[sid].wait_log(r"synchronising with the leader by DIFF")
    for sid in (1, 3):
        m = ens[2].wait_log(rf"syncing learner {sid} with (\w+)")
        assert m.group(1) == "DIFF", m.group(0)
    m = ens[2].wait_log(r"election ended in \d+ ms: leader 2 \(zxid (0x[0-9a-f]+)")
    assert int(m.group(1), 16) == 0x500000015
    check_history_outcome(ens, 2)


@pytest.mark.parametrize("order", list(itertools.permutations((1, 2, 3))),
                         ids=lambda o: "".join(map(str, o)))
def test_crafted_histories_started_together_any_order(make_ensemble, order):
    """Nodes at 0x500000012 (1), 0x500000015 (2), 0x500000010 (3) started together, in
    every order: node 2 leads and everyone ends with node 2's data."""
    ens = make_ensemble(3)
    craft(ens)
    ens.start(*order)
    assert ens.wait_leader(expect=2) == 2
    check_history_outcome(ens, 2)


@pytest.mark.parametrize("order", list(itertools.permutations((1, 2, 3))),
                         ids=lambda o: "".join(map(str, o)))
def test_crafted_histories_started_one_by_one(make_ensemble, order):
    """Started one by one (the third after the first two have elected): the member of the
    first two with the higher (epoch, zxid) leads; the third follows it, and every member
    converges to the leader's data -- for node 2 started last that means TRUNC of its
    three unreplicated txns (0x500000013..15)."""
    ens = make_ensemble(3)
    craft(ens)
    first_two, last = order[:2], order[2]
    expected = max(first_two, key=lambda s: LAST[s])
    ens.start(order[0])
    time.sleep(0.3)
    ens.start(order[1])
    assert ens.wait_leader(sids=list(first_two), expect=expected) == expected
    mark = ens[last].log_mark()
    ens.start(last)
    assert ens.wait_leader(expect=expected) == expected
    m = ens[last].wait_log(r"synchronising with the leader by (\w+)(?: to (0x[0-9a-f]+))?",
                           since=mark)
    # as ZooKeeper: the leader's committed log reaches back to the joiner's zxid, in the same
    # epoch, so an exact TRUNC (to the leader's last zxid) or DIFF, never a SNAP
    if LAST[last] > LAST[expected]:
        assert m.group(1) == "TRUNC", m.group(0)
        assert int(m.group(2), 16) == zkdisk.make_zxid(EPOCH, LAST[expected]), m.group(0)
    else:
        assert m.group(1) == "DIFF", m.group(0)
    check_history_outcome(ens, expected)


def test_real_histories_highest_leads(make_ensemble):
    """Histories made by the ensemble itself: stop 3, write; stop 1, write; stop 2. Node 2
    has the most, then 1, then 3. Restarted together, node 2 leads; all converge to it."""
    ens = make_ensemble(3)
    ens.start()
    ens.wait_leader(expect=3)
    zk = ens.client()
    zk.create("/real", b"")
    for i in range(5):
        zk.create(f"/real/a{i}", b"all three")
    ens.close_clients()
    ens.stop(3)
    ens.wait_leader(sids=[1, 2])
    zk = ens.client([1, 2])
    for i in range(5):
        zk.create(f"/real/b{i}", b"1 and 2")
    ens.close_clients()
    ens.stop(1)   # node 2 alone now: it stops serving; nothing more can commit
    ens.wait_mode(2, "looking")
    ens.stop(2)
    z = {sid: zkdisk.last_zxid_in_logs(ens[sid].data_dir / "version-2") for sid in (1, 2, 3)}
    assert z[2] >= z[1] > z[3], {k: hex(v) for k, v in z.items()}
    ens.start(3, 1, 2)
    leader = ens.wait_leader()
    tree = assert_converged(ens)
    assert sorted(p for p in tree if p.startswith("/real/")) == \
        [f"/real/a{i}" for i in range(5)] + [f"/real/b{i}" for i in range(5)]
    # the leader is a node holding the highest (epoch, zxid): node 2, or node 1 when
    # stopping 1 left both at the same zxid (2 has the higher id then, so 2 again)
    assert leader == 2, f"node {leader} leads; last zxids {({k: hex(v) for k, v in z.items()})}"


@pytest.mark.slow
def test_crafted_histories_reference_zookeeper(make_ensemble):
    """The same crafted dataDirs under Apache ZooKeeper 3.8 (the reference): node 2 leads,
    nodes 1 and 3 get a DIFF, everyone ends with node 2's data -- what Paddock must do."""
    ens = make_ensemble(3, kind="zookeeper")
    craft(ens)
    # JVMs come up a second or more apart, so "together" would let 1 and 3 elect 1 before 2
    # exists (ZooKeeper then TRUNCs node 2 to 0x500000012): node 2 first, then the others
    ens.start(2)
    ens[2].wait_log(r"New election. My id = 2, proposed zxid=0x500000015")
    ens.start(1, 3)
    assert ens.wait_leader(timeout=40, expect=2) == 2
    for sid in (1, 3):
        ens[sid].wait_log(r"Getting a diff from the leader 0x500000015")
    tree = assert_converged(ens)
    assert hist_tree(tree) == zkdisk.expected_history_tree(EPOCH, LAST[2])


def mntr(member):
    return dict(line.split("\t", 1) for line in member.four_letter("mntr").splitlines()
                if "\t" in line)


@pytest.mark.parametrize("kind", ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)])
def test_mntr_reports_the_ensemble(make_ensemble, kind):
    """srvr / mntr name each member's role; the leader counts its (synced) followers."""
    ens = make_ensemble(3, kind=kind)
    ens.start()
    leader = ens.wait_leader(timeout=40)
    followers = [s for s in (1, 2, 3) if s != leader]
    m = mntr(ens[leader])
    assert m["zk_server_state"] == "leader"
    assert m["zk_peer_state"] == "leading - broadcast"
    assert m["zk_quorum_size"] == "3"
    assert m["zk_learners"] == "2" and m["zk_synced_followers"] == "2"
    assert m["zk_synced_observers"] == "0"
    for sid in followers:
        f = mntr(ens[sid])
        assert f["zk_server_state"] == "follower"
        assert f["zk_peer_state"] == "following - broadcast"
        assert "zk_synced_followers" not in f
    ens.kill(followers[0])
    deadline = time.monotonic() + 10
    while mntr(ens[leader])["zk_synced_followers"] != "1" and time.monotonic() < deadline:
        time.sleep(0.1)
    m = mntr(ens[leader])
    assert m["zk_synced_followers"] == "1" and m["zk_learners"] == "1"


@pytest.mark.parametrize("kind", ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)])
def test_observer_follows_but_never_votes(make_ensemble, kind):
    """3 participants and observer 4: the observer serves (reads, forwarded writes) in mode
    observer, never leads (despite the highest id), and does not count for a quorum."""
    ens = make_ensemble(4, kind=kind, observers=[4])
    ens.start()
    leader = ens.wait_leader(timeout=40)
    assert leader != 4
    assert ens[4].mode() == "observer"
    obs = ens.client([4])
    obs.create("/via-observer", b"o")
    tree = assert_converged(ens)
    assert tree["/via-observer"][0] == b"o"
    # two participants gone: the remaining one and the observer are no quorum
    others = [s for s in (1, 2, 3) if s != leader]
    ens.kill(leader)
    ens.kill(others[0])
    ens.wait_mode(others[1], "looking", timeout=10)
    time.sleep(ens.sync_limit * ens.tick / 1000 + 1.0)
    assert ens[others[1]].mode() == "looking"
    assert ens[4].mode() in ("looking", None)
    ens.start(others[0])
    new = ens.wait_leader(timeout=30)
    assert new in others and ens[4].mode() == "observer"
