"""Durability: a writer pipelines sequential creates and setData calls and records every
acknowledged write; the server is SIGKILLed in mid-stream and restarted on the same dataDir.
Every acknowledged write must be there with its data; writes that were not acknowledged are
either fully there or absent, and what survived is a prefix of what the (single, FIFO)
session sent. Repeated for a few kill/restart cycles, plus a kill while idle.
Runs against every target (ZooKeeper is durable too), and against Paddock with each storage
plugin (file, sqlite)."""

import threading

import pytest

PARENT = "/dur"
SETNODE = "/dur/s"
ACKS_BEFORE_KILL = 300
KILL_CYCLES = 3
WINDOW = 16   # writes in flight at once (exercises group commit)


def _payload(cycle, i):
    tag = f"c{cycle}-op{i}-".encode()
    if i % 50 == 49:
        return tag + b"L" * 60000          # now and then a large record
    return tag + bytes((i * 7 + k) % 251 for k in range(180))


class Writer(threading.Thread):
    """Issues ops for one cycle through one kazoo session: every 4th op is a setData on
    SETNODE, the others sequential creates under PARENT. Stops at the first failure."""

    def __init__(self, client, cycle, max_ops=20000):
        super().__init__(daemon=True, name=f"writer-{cycle}")
        self.client = client
        self.cycle = cycle
        self.max_ops = max_ops
        self.ops = []          # (kind, data) in send order
        self.acked = {}        # op index -> result (path for create, Stat for set)
        self.failed = threading.Event()
        self.stop_flag = threading.Event()
        self.cond = threading.Condition()
        self.window = threading.Semaphore(WINDOW)

    def run(self):
        for i in range(self.max_ops):
            while not self.window.acquire(timeout=0.2):
                if self.failed.is_set() or self.stop_flag.is_set():
                    return
            if self.failed.is_set() or self.stop_flag.is_set():
                return
            data = _payload(self.cycle, i)
            kind = "set" if i % 4 == 3 else "create"
            self.ops.append((kind, data))
            try:
                if kind == "create":
                    ar = self.client.create_async(f"{PARENT}/c{self.cycle}-", data,
                                                  sequence=True)
                else:
                    ar = self.client.set_async(SETNODE, data)
            except Exception:
                self.failed.set()
                return
            ar.rawlink(lambda r, i=i: self._done(i, r))

    def _done(self, i, result):
        try:
            value = result.get(timeout=0)
        except Exception:
            self.failed.set()
        else:
            with self.cond:
                self.acked[i] = value
                self.cond.notify_all()
        self.window.release()

    def wait_acks(self, n, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.acked) >= n or self.failed.is_set(),
                                      timeout) and len(self.acked) >= n


def _verify(reader, history, s_before):
    """Check the tree against every cycle's writer; the last cycle is the one just killed.
    s_before = (version, data) of SETNODE before the last cycle started.
    Returns (version, data) of SETNODE now."""
    present = {}
    for name in reader.get_children(PARENT):
        if name != "s":
            present[name] = reader.get(f"{PARENT}/{name}")[0]
    by_data = {}
    for name, data in present.items():
        assert data not in by_data, f"{name} and {by_data[data]} carry the same write"
        by_data[data] = name
    s_data, s_stat = reader.get(SETNODE)

    for w in history:
        creates = [(i, d) for i, (k, d) in enumerate(w.ops) if k == "create"]
        # every acknowledged create is there, with its data
        for i, d in creates:
            if i in w.acked:
                name = w.acked[i].rsplit("/", 1)[1]
                assert present.get(name) == d, \
                    f"cycle {w.cycle}: acknowledged create #{i} ({name}) lost or altered"
        # nothing half-written: a node of this cycle holds exactly one write it sent
        sent = {d for _, d in creates}
        for name, data in present.items():
            if name.startswith(f"c{w.cycle}-"):
                assert data in sent, f"{name} holds data that no create of cycle {w.cycle} sent"
        # what survived is a prefix of what the session sent
        survived = [i for i, d in creates if d in by_data]
        assert survived == [i for i, _ in creates[:len(survived)]], \
            f"cycle {w.cycle}: surviving creates are not a prefix of those sent"
        w.survived = survived
        w.first_lost_create = creates[len(survived)][0] if len(survived) < len(creates) else None

    # setData of the last cycle: the version says how many of its sets were applied, the data
    # must be the last of those; acknowledged sets are among them; FIFO with the creates
    w = history[-1]
    sets = [(i, d) for i, (k, d) in enumerate(w.ops) if k == "set"]
    applied = s_stat.version - s_before[0]
    assert 0 <= applied <= len(sets), f"SETNODE version {s_stat.version} impossible"
    if applied == 0:
        assert s_data == s_before[1]
    else:
        assert s_data == sets[applied - 1][1], "SETNODE data does not match its version"
    acked_sets = [n for n, (i, _) in enumerate(sets) if i in w.acked]
    assert all(n < applied for n in acked_sets), "an acknowledged setData was lost"
    last_set = sets[applied - 1][0] if applied else -1
    first_unapplied_set = sets[applied][0] if applied < len(sets) else None
    if w.first_lost_create is not None:
        assert last_set < w.first_lost_create, "a set survived but an earlier create did not"
    if first_unapplied_set is not None and w.survived:
        assert w.survived[-1] < first_unapplied_set, \
            "a create survived but an earlier set did not"
    return s_stat.version, s_data


@pytest.mark.deadline(240)
def test_acknowledged_writes_survive_sigkill(target, make_server, make_client):
    """ZooKeeper, and Paddock with its default storage plugin named explicitly (file)."""
    kw = {"storage": "file"} if target == "paddock" else {}
    _kill_cycles(make_server(target, **kw), make_client)


@pytest.mark.deadline(240)
def test_acknowledged_writes_survive_sigkill_sqlite(make_server, make_client):
    """The same on Paddock with the sqlite storage plugin."""
    _kill_cycles(make_server("paddock", storage="sqlite"), make_client)


def _kill_cycles(srv, make_client):
    setup = make_client(srv)
    setup.create(PARENT, b"")
    setup.create(SETNODE, b"initial")
    setup.stop()

    history = []
    s_state = (0, b"initial")
    for cycle in range(KILL_CYCLES):
        client = make_client(srv)
        w = Writer(client, cycle)
        history.append(w)
        w.start()
        assert w.wait_acks(ACKS_BEFORE_KILL, 60), \
            f"cycle {cycle}: only {len(w.acked)} acks (writer failed={w.failed.is_set()})"
        srv.kill9()                      # mid-stream: writes are in flight
        w.stop_flag.set()
        client.stop()                    # nothing queued in kazoo may reach the new server
        w.join(20)
        assert not w.is_alive()
        srv.start()
        reader = make_client(srv)
        s_state = _verify(reader, history, s_state)
        reader.stop()
        creates = sum(1 for k, _ in w.ops if k == "create")
        print(f"cycle {cycle}: sent {len(w.ops)} ops ({creates} creates), acked {len(w.acked)}, "
              f"creates surviving {len(w.survived)}, SETNODE version {s_state[0]}")

    # kill while idle: everything written and acknowledged beforehand is there
    client = make_client(srv)
    idle = [client.create(f"{PARENT}/idle-", _payload(99, i), sequence=True) for i in range(50)]
    st = client.set(SETNODE, b"idle-final")
    srv.kill9()
    client.stop()
    srv.start()
    reader = make_client(srv)
    for i, path in enumerate(idle):
        assert reader.get(path)[0] == _payload(99, i)
    data, st2 = reader.get(SETNODE)
    assert data == b"idle-final" and st2.version == st.version == s_state[0] + 1
    # and the killed cycles are still intact after one more restart
    for w in history:
        for i, (kind, d) in enumerate(w.ops):
            if kind == "create" and i in w.acked:
                assert reader.get(w.acked[i])[0] == d
