"""Observers (the role-observer plugin) in the ensemble of ZooKeeper's observer design notes:
participants 69, 56 and 49 vote; observers 1 and 2 learn every commit, serve reads, forward
writes and never vote. conf/ensemble/observers ships the same ensemble for the launcher.

Run with:  /usr/bin/python3 -m pytest -q tests/integration/test_observers.py
"""

import os
import subprocess
import threading
import time

import pytest
from kazoo.exceptions import ConnectionLoss, KazooException
from kazoo.handlers.threading import KazooTimeoutError

import servers
from ensemble import Writer, alloc_ports, assert_converged, make_ensemble  # noqa: F401 (fixture)
from util import wait_until

pytestmark = pytest.mark.deadline(180)

PARTICIPANTS = (69, 56, 49)
OBSERVERS = (1, 2)
IDS = PARTICIPANTS + OBSERVERS


def design_notes(make_ensemble, kind="paddock"):
    ens = make_ensemble(kind=kind, sids=IDS, observers=OBSERVERS)
    # 69 first, so that it leads however slowly the others come up (whoever joins it finds
    # its vote the best one); started all at once, a slow 69 could miss a quorum of 56 and 49
    ens.start(69)
    ens.start(*IDS[1:])
    return ens


def mntr(member):
    return dict(line.split("\t", 1) for line in member.four_letter("mntr").splitlines()
                if "\t" in line)


def start_observers(ens):
    """Starts both observers and waits until each observes again."""
    ens.start(*OBSERVERS)
    for sid in OBSERVERS:
        ens.wait_mode(sid, "observer", timeout=20)


def write_fails(client, path, within=6.0):
    """True if a create through `client` does not succeed within `within` seconds."""
    try:
        client.create_async(path, b"x").get(timeout=within)
    except (ConnectionLoss, KazooTimeoutError, KazooException):
        return True
    return False


@pytest.mark.parametrize("kind", ["paddock", pytest.param("zookeeper", marks=pytest.mark.slow)])
def test_node_69_leads_and_observers_observe(make_ensemble, kind):
    """69 leads (the highest participant id; observers' votes never count although 1 and 2
    vote for themselves); 1 and 2 are OBSERVING and say so in srvr and mntr; a write through
    an observer is visible on every member."""
    ens = design_notes(make_ensemble, kind)
    assert ens.wait_leader(timeout=40, expect=69) == 69
    for sid in OBSERVERS:
        assert ens[sid].mode() == "observer"
        assert mntr(ens[sid])["zk_server_state"] == "observer"
    for sid in (56, 49):
        assert ens[sid].mode() == "follower"
    m = mntr(ens[69])
    # the leader's quorum is the participants only
    assert m["zk_synced_followers"] == "2"
    assert m["zk_synced_observers"] == "2"
    obs = ens.client([1])
    obs.create("/via-observer", b"written on 1")
    obs.set("/via-observer", b"changed on 1")
    tree = assert_converged(ens)
    assert tree["/via-observer"][0] == b"changed on 1"
    assert tree["/via-observer"][1] == 1


def test_recipes_through_an_observer_only(make_ensemble):
    """kazoo clients connected only to observers run the lock and queue recipes: mutual
    exclusion holds, every queued item comes out exactly once, in order."""
    ens = design_notes(make_ensemble)
    ens.wait_leader(timeout=40, expect=69)
    clients = [ens.client([OBSERVERS[i % 2]]) for i in range(4)]

    holders = []
    inside = []
    overlap = []
    guard = threading.Lock()

    def contend(c, name):
        lock = c.Lock("/recipes/lock", name)
        for _ in range(5):
            with lock:
                with guard:
                    inside.append(name)
                    if len(inside) > 1:
                        overlap.append(list(inside))
                holders.append(name)
                time.sleep(0.01)
                with guard:
                    inside.remove(name)

    threads = [threading.Thread(target=contend, args=(c, f"c{i}"), daemon=True)
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "lock contenders did not finish in 60 s"
    assert not overlap, f"two holders at once: {overlap[:3]}"
    assert sorted(holders) == sorted([f"c{i}" for i in range(4)] * 5)

    producer, consumer = clients[0], clients[1]
    q_in = producer.Queue("/recipes/queue")
    for i in range(20):
        q_in.put(f"item-{i:02d}".encode())
    q_out = consumer.Queue("/recipes/queue")
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 20 and time.monotonic() < deadline:
        item = q_out.get()
        if item is None:
            time.sleep(0.05)
            continue
        got.append(item.decode())
    assert got == [f"item-{i:02d}" for i in range(20)]
    # the participants see the same (now empty) queue
    assert assert_converged(ens, root="/recipes")["/recipes/queue"][4] == 0


def test_observers_are_never_part_of_a_quorum(make_ensemble):
    """Killing both observers does not interrupt writes; killing two participants stops
    writes although both observers are up."""
    ens = design_notes(make_ensemble)
    ens.wait_leader(timeout=40, expect=69)
    w = Writer(ens, "/obs", "w", sids=list(PARTICIPANTS))
    w.client.ensure_path("/obs")
    w.start()
    try:
        wait_until(lambda: len(w.acked) >= 20, 15, message="writes before the observers die")
        for sid in OBSERVERS:
            ens.kill(sid)
        t = time.monotonic()
        before_unknown = len(w.unknown)
        wait_until(lambda: sum(1 for _, at, _ in w.acked if at > t) >= 50, 10,
                   message="writes continue without the observers")
        assert len(w.unknown) == before_unknown, "a write was lost in flight when observers died"
        assert ens.leader() == 69
    finally:
        w.stop()
    start_observers(ens)
    obs = ens.client([1])
    obs.create("/obs/before", b"")
    ens.kill(56)
    ens.kill(49)
    ens.wait_mode(69, "looking", timeout=10)
    assert write_fails(obs, "/obs/without-quorum"), "a write succeeded without a quorum"
    for sid in OBSERVERS:
        assert ens[sid].mode() in ("looking", None)
    ens.start(56)
    assert ens.wait_leader(timeout=30, sids=[69, 56, 1, 2]) in (69, 56)
    c = ens.client([2])
    c.sync("/")
    assert c.exists("/obs/without-quorum") is None
    assert c.exists("/obs/before") is not None


def test_restarted_observer_catches_up(make_ensemble):
    """An observer killed and restarted while writes continue catches up and serves every
    committed write, reading locally."""
    ens = design_notes(make_ensemble)
    ens.wait_leader(timeout=40, expect=69)
    ws = [Writer(ens, "/catchup", f"w{i}", sids=[PARTICIPANTS[i]]) for i in range(2)]
    ws[0].client.ensure_path("/catchup")
    for w in ws:
        w.start()
    try:
        wait_until(lambda: min(len(w.acked) for w in ws) >= 20, 15, message="first writes")
        ens.kill(2)
        time.sleep(1.0)
        ens.start(2)
        ens.wait_mode(2, "observer", timeout=20)
        t = time.monotonic()
        wait_until(lambda: min(sum(1 for _, at, _ in w.acked if at > t) for w in ws) >= 20, 15,
                   message="writes after the observer came back")
    finally:
        for w in ws:
            w.stop()
    acked = {p for w in ws for p, _, _ in w.acked}
    tree = assert_converged(ens)
    have = {p for p in tree if p.startswith("/catchup/")}
    assert acked <= have, f"observer 2 misses {sorted(acked - have)[:5]}"
    # a read on the observer alone, without sync, once its zxid reached the leader's
    wait_until(lambda: ens[2].zxid() == ens[69].zxid(), 10,
               message="observer 2 at the leader's zxid")
    obs = ens.client([2])
    assert acked <= {"/catchup/" + c for c in obs.get_children("/catchup")}


def test_leader_change_does_not_need_observers(make_ensemble):
    """With both observers down the participants still elect a new leader when 69 dies; the
    observers, started afterwards, follow the new leader and serve writes through it."""
    ens = design_notes(make_ensemble)
    ens.wait_leader(timeout=40, expect=69)
    ens.client([56]).create("/epoch1", b"")
    for sid in OBSERVERS:
        ens.kill(sid)
    ens.kill(69)
    new = ens.wait_leader(timeout=30, sids=[56, 49])
    assert new == 56
    start_observers(ens)
    obs = ens.client([1])
    obs.create("/epoch2", b"after the change")
    tree = assert_converged(ens)
    assert "/epoch1" in tree and tree["/epoch2"][0] == b"after the change"
    # and when the old leader returns it follows: the observers' leader stays 56
    ens.start(69)
    ens.wait_mode(69, "follower", timeout=30)
    assert ens.leader() == 56


def test_observer_config_without_its_plugin_stops_startup(tmp_path):
    """A config naming observers, with a plugin directory lacking role-observer, stops
    start-up with one line that says so."""
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    binary = servers.paddock_binary()
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    src = servers.build_dir() / "lib" / "paddock" / "plugins"
    for so in src.glob("*.so"):
        if "role-observer" not in so.name:
            os.symlink(so, plugins / so.name)
    data = tmp_path / "data"
    data.mkdir()
    (data / "myid").write_text("1\n")
    p = alloc_ports(6)
    cfg = tmp_path / "obs.cfg"
    cfg.write_text("\n".join([
        "tickTime=200", "initLimit=10", "syncLimit=5", f"dataDir={data}",
        f"clientPort={p[0]}", "clientPortAddress=127.0.0.1", "peerType=observer",
        f"paddock.pluginDir={plugins}",
        f"server.1=127.0.0.1:{p[1]}:{p[2]}:observer",
        f"server.2=127.0.0.1:{p[3]}:{p[4]}:participant",
        f"server.3=127.0.0.1:{p[5]}:{p[0] + 1}:participant",
    ]) + "\n")
    r = subprocess.run([str(binary), str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert err, "no message on stderr"
    assert any("observer" in line and "role" in line and "plugin" in line for line in err), err
