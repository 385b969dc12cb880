"""The ZooKeeper recipes, unchanged, through kazoo's implementations, each with several
concurrent clients (one kazoo client per thread): configuration publish/subscribe, naming with
sequential nodes, group membership through ephemerals, leader election, a lock (mutual exclusion
and no herd effect: each waiter watches only its predecessor), a FIFO queue, a barrier and a
double barrier, and a counter. Run against Paddock and, for reference, Apache ZooKeeper."""

import re
import threading
import time

import pytest
from kazoo.recipe.barrier import Barrier, DoubleBarrier
from kazoo.recipe.counter import Counter
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock
from kazoo.recipe.party import Party
from kazoo.recipe.queue import Queue
from kazoo.recipe.watchers import DataWatch

from util import wait_until

pytestmark = pytest.mark.deadline(120)


def run_threads(n, fn):
    """Runs fn(i) on n threads; re-raises the first failure."""
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # collected for the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
        assert not th.is_alive(), "a recipe thread did not finish within 60 s"
    if errors:
        raise errors[0]


def test_config_publish_subscribe(server, make_client, base):
    path = base + "/config"
    publisher = make_client(server)
    publisher.create(path, b"v0")
    subscribers = [make_client(server) for _ in range(5)]
    seen = [[] for _ in subscribers]
    cond = threading.Condition()
    for i, c in enumerate(subscribers):
        def on_change(data, stat, i=i):
            with cond:
                seen[i].append(data)
                cond.notify_all()
        DataWatch(c, path, on_change)
    for v in range(1, 21):
        publisher.set(path, f"v{v}".encode())
    with cond:
        assert cond.wait_for(lambda: all(s and s[-1] == b"v20" for s in seen), 15), seen
    for s in seen:
        # watches are one-shot, so a subscriber may miss intermediate values, never the order
        numbers = [int(d[1:]) for d in s]
        assert numbers == sorted(numbers)


def test_naming_unique_sequential_ids(server, make_client, base):
    parent = base + "/names"
    make_client(server).create(parent, b"")
    clients = [make_client(server) for _ in range(6)]
    names = [[] for _ in clients]

    def work(i):
        for _ in range(25):
            names[i].append(clients[i].create(parent + "/id-", b"", sequence=True))

    run_threads(len(clients), work)
    every = [n for per in names for n in per]
    assert len(every) == len(set(every)) == 150
    for per in names:
        assert per == sorted(per)  # each client's ids increase
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in every)
    assert numbers == list(range(150))


def test_group_membership_member_vanishes_with_its_session(server, make_client, base):
    group = base + "/group"
    members = [make_client(server) for _ in range(4)]
    parties = [Party(c, group, identifier=f"member-{i}") for i, c in enumerate(members)]
    run_threads(4, lambda i: parties[i].join())
    observer = make_client(server)
    view = Party(observer, group)
    assert sorted(view) == [f"member-{i}" for i in range(4)]
    changed = threading.Event()
    observer.get_children(group, watch=lambda ev: changed.set())
    members[2].stop()  # its session ends: its ephemeral membership node goes
    assert changed.wait(10)
    assert sorted(view) == ["member-0", "member-1", "member-3"]


def test_leader_election(server, make_client, base):
    path = base + "/election"
    clients = [make_client(server) for _ in range(4)]
    leaders = []
    lock = threading.Lock()
    current = [0]
    release = [threading.Event() for _ in clients]

    def lead(i):
        with lock:
            current[0] += 1
            assert current[0] == 1, "two leaders at once"
            leaders.append(i)
        release[i].wait(30)
        with lock:
            current[0] -= 1

    elections = [Election(c, path, identifier=f"c{i}") for i, c in enumerate(clients)]
    threads = [threading.Thread(target=elections[i].run, args=(lead, i), daemon=True)
               for i in range(len(clients))]
    for th in threads:
        th.start()
    try:
        for round_ in range(len(clients)):
            wait_until(lambda: len(leaders) > round_, 15, message=f"leader #{round_ + 1}")
            # the first leader may be chosen before every contender has enrolled
            wait_until(lambda: len(elections[0].contenders()) == len(clients) - round_, 15,
                       message=f"{len(clients) - round_} contenders in round {round_ + 1}")
            assert len(leaders) == round_ + 1, "a new leader before the last one resigned"
            release[leaders[round_]].set()
    finally:
        for ev in release:  # no leader is left waiting when the clients close
            ev.set()
    for th in threads:
        th.join(15)
    assert sorted(leaders) == list(range(len(clients)))


def test_lock_mutual_exclusion_and_no_herd(server, make_client, base):
    path = base + "/lock"
    n = 5
    clients = [make_client(server) for _ in range(n)]
    locks = [Lock(c, path, identifier=f"w{i}") for i, c in enumerate(clients)]
    inside = [0]
    max_inside = [0]
    guard = threading.Lock()
    counter = [0]

    # First: one holder, n-1 waiters queued behind it; look at who watches what.
    locks[0].acquire(timeout=10)
    waiting = [threading.Thread(target=locks[i].acquire, kwargs={"timeout": 30}, daemon=True)
               for i in range(1, n)]
    for th in waiting:
        th.start()
    wait_until(lambda: len(clients[0].get_children(path)) == n, 10, message="all contenders queued")
    time.sleep(0.3)  # each waiter sets its watch right after queueing
    wchp = server.four_letter("wchp")
    nodes = sorted(clients[0].get_children(path), key=lambda c: c[-10:])
    watchers_of = {}
    current = None
    for line in wchp.splitlines():
        if line.startswith("/"):
            current = line.strip()
            watchers_of[current] = 0
        elif line.strip().startswith("0x") and current is not None:
            watchers_of[current] += 1
    lock_watches = {p: k for p, k in watchers_of.items() if p.startswith(path + "/")}
    # every node but the last is watched by exactly one waiter: its successor
    assert sorted(lock_watches) == sorted(f"{path}/{c}" for c in nodes[:-1]), wchp
    assert all(k == 1 for k in lock_watches.values()), wchp
    assert watchers_of.get(path, 0) == 0, "a waiter watches the lock's parent: herd effect"
    locks[0].release()
    # Waiters get it one after another; release each in turn.
    acquired_order = []
    deadline = time.monotonic() + 30
    while len(acquired_order) < n - 1 and time.monotonic() < deadline:
        for i in range(1, n):
            if i not in acquired_order and locks[i].is_acquired:
                acquired_order.append(i)
                locks[i].release()
        time.sleep(0.02)
    assert sorted(acquired_order) == list(range(1, n))
    for th in waiting:
        th.join(10)

    # Then: mutual exclusion under contention.
    def work(i):
        for _ in range(10):
            with locks[i]:
                with guard:
                    inside[0] += 1
                    max_inside[0] = max(max_inside[0], inside[0])
                value = counter[0]
                time.sleep(0.001)
                counter[0] = value + 1
                with guard:
                    inside[0] -= 1

    run_threads(n, work)
    assert max_inside[0] == 1
    assert counter[0] == 10 * n


def test_fifo_queue(server, make_client, base):
    path = base + "/queue"
    producers = [make_client(server) for _ in range(3)]
    consumers = [make_client(server) for _ in range(3)]
    for i, c in enumerate(producers):
        q = Queue(c, path)
        for k in range(20):
            q.put(f"p{i}-{k:02d}".encode())
    got = [[] for _ in consumers]

    def consume(i):
        q = Queue(consumers[i], path)
        while True:
            item = q.get()
            if item is None:
                return
            got[i].append(item.decode())

    run_threads(len(consumers), consume)
    every = [x for per in got for x in per]
    assert sorted(every) == sorted(f"p{i}-{k:02d}" for i in range(3) for k in range(20))
    # FIFO: what one producer put, every consumer takes in the order it was put
    for per in got:
        for i in range(3):
            mine = [x for x in per if x.startswith(f"p{i}-")]
            assert mine == sorted(mine)


def test_barrier(server, make_client, base):
    path = base + "/barrier"
    owner = make_client(server)
    Barrier(owner, path).create()
    waiters = [make_client(server) for _ in range(4)]
    passed = []
    lock = threading.Lock()

    def wait(i):
        assert Barrier(waiters[i], path).wait(timeout=20)
        with lock:
            passed.append(i)

    threads = [threading.Thread(target=wait, args=(i,), daemon=True) for i in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    assert passed == []  # held while the barrier stands
    Barrier(owner, path).remove()
    for th in threads:
        th.join(20)
    assert sorted(passed) == [0, 1, 2, 3]


def test_double_barrier(server, make_client, base):
    path = base + "/double"
    n = 4
    clients = [make_client(server) for _ in range(n)]
    entered, left = [], []
    lock = threading.Lock()

    def work(i):
        b = DoubleBarrier(clients[i], path, n)
        b.enter()
        with lock:
            entered.append(i)
            # nobody leaves before everyone entered
            assert left == []
        b.leave()
        with lock:
            left.append(i)

    run_threads(n, work)
    assert sorted(entered) == sorted(left) == list(range(n))


def test_counter(server, make_client, base):
    path = base + "/counter"
    clients = [make_client(server) for _ in range(5)]

    def work(i):
        c = Counter(clients[i], path)
        for _ in range(20):
            c += 1

    run_threads(5, work)
    assert Counter(clients[0], path).value == 100
    assert re.fullmatch(rb"\d+", clients[0].get(path)[0])
