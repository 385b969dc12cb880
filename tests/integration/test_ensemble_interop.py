"""Mixed ensembles: Apache ZooKeeper 3.8 (Debian's package, QuorumPeerMain) and Paddock
members in one ensemble (issue 5 acceptance, interop).

* two ZooKeeper servers and one Paddock server agree on one leader through
  FastLeaderElection (Paddock with the highest id, so it is the one elected);
* full replication with Paddock leading ZooKeeper followers: writes through any member are
  on every member, a ZooKeeper follower that was down catches up by DIFF, one with an empty
  dataDir by SNAP (Paddock's snapshot stream read by ZooKeeper), watches and ephemerals work
  across kinds;
* Paddock following a ZooKeeper leader: the Paddock leader is killed, the two ZooKeeper
  servers elect one of them, Paddock restarts and follows it (sync from ZooKeeper), writes
  through Paddock are forwarded to the ZooKeeper leader, and Paddock catches up by SNAP from
  ZooKeeper with an empty dataDir;
* a ZooKeeper leader killed while Paddock follows: Paddock takes part in the new election.

Every member ends with the same tree (compared through kazoo on each member after sync).
"""

import shutil
import threading
import time

import pytest

from ensemble import assert_converged, make_ensemble  # noqa: F401 (fixture)

pytestmark = [pytest.mark.deadline(180), pytest.mark.slow]

MIXED = {1: "zookeeper", 2: "zookeeper", 3: "paddock"}


def zk_sync_kind(member, since=0, timeout=20.0):
    """How a ZooKeeper follower was synchronised (its log: 'Getting a diff/snapshot/trunc')."""
    m = member.wait_log(r"Getting a (diff|snapshot) from (?:the )?leader|(Truncating) log",
                        timeout=timeout, since=since)
    return {"diff": "DIFF", "snapshot": "SNAP", None: "TRUNC"}[m.group(1)]


def write_batch(zk, prefix, n):
    zk.ensure_path(prefix)
    for r in [zk.create_async(f"{prefix}/n{i:04d}", b"v") for i in range(n)]:
        r.get(timeout=20)


def test_mixed_ensemble_agrees_on_paddock_leader(make_ensemble):
    ens = make_ensemble(3, kind=MIXED)
    ens.start()
    leader = ens.wait_leader(timeout=40)
    assert leader == 3, ens.modes()
    assert ens.modes() == {1: "follower", 2: "follower", 3: "leader"}
    # the ZooKeeper followers name Paddock's server 3 as their leader
    for sid in (1, 2):
        ens[sid].wait_log(r"FOLLOWING - LEADER ELECTION TOOK")
        ens[sid].wait_log(r"Successfully connected to leader, using address: /127\.0\.0\.1:%d"
                          % ens[3].quorum_port)
    ens[3].wait_log(r"election ended in \d+ ms: leader 3")


def test_paddock_leads_zookeeper_followers(make_ensemble):
    ens = make_ensemble(3, kind=MIXED)
    ens.start()
    assert ens.wait_leader(timeout=40) == 3
    clients = {sid: ens.client([sid]) for sid in (1, 2, 3)}
    for sid, c in clients.items():
        c.create(f"/via{sid}", f"{ens[sid].kind}".encode())
        write_batch(c, f"/batch{sid}", 50)
    tree = assert_converged(ens)
    for sid in (1, 2, 3):
        assert tree[f"/via{sid}"][0] == ens[sid].kind.encode()

    # watches and ephemerals across kinds
    fired = threading.Event()
    clients[1].exists("/eph3", watch=lambda e: fired.set())
    clients[3].create("/eph3", b"", ephemeral=True)
    assert fired.wait(10)
    clients[2].sync("/eph3")  # member 2 may not have applied it yet: reads are per-server
    assert clients[2].exists("/eph3").ephemeralOwner == clients[3].client_id[0]
    clients[3].stop()
    deadline = time.monotonic() + 10
    while clients[1].exists("/eph3") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert clients[1].exists("/eph3") is None

    # a ZooKeeper follower that was down catches up from the Paddock leader by DIFF
    ens.close_clients()
    ens.stop(1)
    zk = ens.client([2, 3])
    write_batch(zk, "/while-1-down", 100)
    mark = ens[1].log_mark()
    ens.start(1)
    assert ens.wait_leader(timeout=30) == 3
    assert zk_sync_kind(ens[1], since=mark) == "DIFF"
    ens[3].wait_log(r"syncing learner 1 with DIFF")

    # and one with an empty dataDir by SNAP: ZooKeeper reads Paddock's snapshot stream
    ens.stop(2)
    shutil.rmtree(ens[2].data_dir / "version-2")
    write_batch(zk, "/while-2-empty", 100)
    mark = ens[2].log_mark()
    ens.start(2)
    assert ens.wait_leader(timeout=30) == 3
    kind = zk_sync_kind(ens[2], since=mark)
    assert kind == "SNAP", kind
    tree = assert_converged(ens)
    assert len([p for p in tree if p.startswith("/while-2-empty/")]) == 100


def test_paddock_follows_zookeeper_leader(make_ensemble):
    ens = make_ensemble(3, kind=MIXED)
    ens.start()
    assert ens.wait_leader(timeout=40) == 3
    zk = ens.client()
    write_batch(zk, "/before", 50)
    ens.close_clients()

    # the Paddock leader dies: the ZooKeeper servers elect one of them
    ens.kill(3)
    new = ens.wait_leader(sids=[1, 2], timeout=30)
    assert new == 2
    zk = ens.client([1, 2])
    write_batch(zk, "/zk-led", 50)

    # Paddock restarts and follows the ZooKeeper leader
    mark = ens[3].log_mark()
    ens.start(3)
    assert ens.wait_leader(timeout=30) == 2
    m = ens[3].wait_log(r"synchronising with the leader by (\w+)", since=mark)
    print(f"Paddock synchronised from the ZooKeeper leader by {m.group(1)}")
    # writes through Paddock are forwarded to the ZooKeeper leader, and back
    pc = ens.client([3])
    pc.create("/via-paddock-follower", b"p")
    write_batch(pc, "/paddock-follower", 50)
    tree = assert_converged(ens)
    assert "/via-paddock-follower" in tree and "/zk-led/n0049" in tree

    # Paddock with an empty dataDir: SNAP from ZooKeeper
    ens.close_clients()
    ens.stop(3)
    shutil.rmtree(ens[3].data_dir / "version-2")
    write_batch(ens.client([1, 2]), "/zk-led-2", 50)
    mark = ens[3].log_mark()
    ens.start(3)
    assert ens.wait_leader(timeout=30) == 2
    m = ens[3].wait_log(r"synchronising with the leader by (\w+)", since=mark)
    assert m.group(1) == "SNAP", m.group(0)
    assert_converged(ens)


def test_zookeeper_leader_killed_paddock_takes_part(make_ensemble):
    """ZooKeeper 2 leads (Paddock 3 was started after 1 and 2 had elected); it is killed:
    Paddock and ZooKeeper 1 elect Paddock (higher id, same zxid); ZooKeeper 2 returns and
    follows Paddock."""
    ens = make_ensemble(3, kind=MIXED)
    ens.start(1, 2)
    assert ens.wait_leader(sids=[1, 2], timeout=40) == 2
    ens.start(3)
    assert ens.wait_leader(timeout=30) == 2
    zk = ens.client()
    write_batch(zk, "/pre", 50)
    ens.close_clients()
    ens.kill(2)
    new = ens.wait_leader(sids=[1, 3], timeout=30)
    zk = ens.client([1, 3])
    write_batch(zk, "/post", 50)
    mark = ens[2].log_mark()
    ens.start(2)
    assert ens.wait_leader(timeout=30) == new
    print(f"after the ZooKeeper leader died, node {new} ({ens[new].kind}) leads; ZooKeeper 2 "
          f"rejoined by {zk_sync_kind(ens[2], since=mark)}")
    tree = assert_converged(ens)
    assert "/post/n0049" in tree and "/pre/n0049" in tree


# ------------------------------------------------------------ crafted histories, mixed

def test_zookeeper_follower_truncated_by_paddock_leader(make_ensemble):
    """Nodes 2 (ZooKeeper) and 3 (Paddock) at 0x500000015 elect Paddock; ZooKeeper 1 joins
    with two more txns of that epoch (0x500000016, 0x500000017) that nobody else has: the
    Paddock leader sends TRUNC to 0x500000015 and ZooKeeper truncates its log."""
    import zkdisk
    ens = make_ensemble(3, kind=MIXED)
    for sid, last in ((1, 0x17), (2, 0x15), (3, 0x15)):
        zkdisk.write_history_datadir(ens[sid].data_dir, sid, 5, last)
    ens.start(2, 3)
    assert ens.wait_leader(sids=[2, 3], timeout=40) == 3
    mark = ens[1].log_mark()
    ens.start(1)
    assert ens.wait_leader(timeout=30) == 3
    ens[3].wait_log(r"syncing learner 1 with TRUNC 0x500000015")
    assert zk_sync_kind(ens[1], since=mark) == "TRUNC"
    tree = assert_converged(ens)
    assert {p: v[0] for p, v in tree.items() if p.startswith("/hist")} == \
        zkdisk.expected_history_tree(5, 0x15)


def test_zookeeper_follower_snap_from_paddock_leader(make_ensemble):
    """ZooKeeper 1 holds a history of epoch 4 that the others never saw; ZooKeeper 2 and
    Paddock 3 hold epoch 5 up to 0x500000015. Paddock leads and must send ZooKeeper 1 a
    SNAP (its zxid is older than the leader's logs and from another epoch): ZooKeeper reads
    Paddock's snapshot stream and ends with the leader's data."""
    import zkdisk
    ens = make_ensemble(3, kind=MIXED)
    zkdisk.write_history_datadir(ens[1].data_dir, 1, 4, 0x05)
    for sid in (2, 3):
        zkdisk.write_history_datadir(ens[sid].data_dir, sid, 5, 0x15)
    ens.start()
    assert ens.wait_leader(timeout=40) == 3
    ens[3].wait_log(r"syncing learner 1 with SNAP")
    assert zk_sync_kind(ens[1]) == "SNAP"
    tree = assert_converged(ens)
    assert {p: v[0] for p, v in tree.items() if p.startswith("/hist")} == \
        zkdisk.expected_history_tree(5, 0x15)
