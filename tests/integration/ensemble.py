"""Multi-process ensembles for the integration tests: N members (Paddock, Apache ZooKeeper
3.8's QuorumPeerMain, or a mix) with generated zoo.cfg files, their own dataDirs and myid
files, on 127.0.0.1 -- or each in its own network namespace (see netns.py).

Every member is a servers.Server, so the suite's watchdog and exit handler know its PID and
only processes started here are ever signalled.

    ens = make_ensemble(3)               # fixture below; tickTime 200, initLimit 10, syncLimit 5
    ens.start()                          # every member, processes up (not yet elected)
    leader = ens.wait_leader(expect=3)   # one leader, every running member serving
    zk = ens.client()                    # kazoo connected to every member
"""

import itertools
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from kazoo.client import KazooClient

import servers
import zkproto
from util import CONNECTION_RETRY

TICK = 200
INIT_LIMIT = 10
SYNC_LIMIT = 5

ZK_QUORUM_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
SERVING_MODES = ("leader", "follower", "observer")


def alloc_ports(n, host="127.0.0.1"):
    """n distinct free TCP ports (held open together while choosing, so no duplicates)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Member(servers.Server):
    """One ensemble member. `peer_host` is the address in the server.N lines (quorum and
    election ports); `client_host` is where its client port listens; `netns` (optional) is the
    network namespace it runs in."""

    def __init__(self, ens, sid, kind, workdir, client_port, quorum_port, election_port,
                 peer_host="127.0.0.1", client_host="127.0.0.1", netns=None, extra=None):
        self.ens = ens
        self.sid = sid
        self.quorum_port = quorum_port
        self.election_port = election_port
        self.peer_host = peer_host
        self.client_host = client_host
        self.netns = netns
        super().__init__(kind, workdir, tick_time=ens.tick, extra=extra, port=client_port)
        (self.data_dir / "myid").write_text(f"{sid}\n")

    # ------------------------------------------------------------ config
    def config_lines(self):
        keys = {
            "tickTime": str(self.ens.tick),
            "initLimit": str(self.ens.init_limit),
            "syncLimit": str(self.ens.sync_limit),
            "dataDir": str(self.data_dir),
            "clientPort": str(self.port),
            "clientPortAddress": self.client_host,
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
        }
        if self.kind == "paddock":
            keys["paddock.logLevel"] = self.log_level
        if self.sid in self.ens.observers:
            keys["peerType"] = "observer"
        for m in self.ens.server_lines():
            keys[m[0]] = m[1]
        keys.update(self.ens.extra)
        keys.update(self.extra)
        return [f"{k}={v}" for k, v in keys.items() if v is not None]

    def command(self):
        if self.kind == "zookeeper":
            cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                   "-Dzookeeper.root.logger=INFO,CONSOLE",
                   "-Dzookeeper.log.dir=" + str(self.workdir),
                   *self.ens.java_props,
                   "-cp", servers.ZK_CLASSPATH, ZK_QUORUM_MAIN, str(self.cfg_path)]
        else:
            cmd = [str(servers.paddock_binary()), str(self.cfg_path)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd  # ip execs the command: same PID
        return cmd

    @property
    def hosts(self):
        return f"{self.client_host}:{self.port}"

    def four_letter(self, word, timeout=2.0):
        return zkproto.four_letter(self.client_host, self.port, word, timeout=timeout)

    def ready_probe(self):
        # Up = answering on the client port; electing a leader is the ensemble's business.
        return zkproto.four_letter(self.client_host, self.port, "ruok", timeout=1.0) == "imok"

    # ------------------------------------------------------------ state
    def srvr(self):
        """The srvr answer, or None if nothing answers."""
        if not self.alive():
            return None
        try:
            return self.four_letter("srvr", timeout=1.0)
        except OSError:
            return None

    def mode(self):
        """'leader' / 'follower' / 'observer' when serving, 'looking' when up but not serving,
        None when down or silent."""
        out = self.srvr()
        if not out:
            return None
        if "not currently serving" in out:
            return "looking"
        m = re.search(r"^Mode: (\S+)", out, re.M)
        return m.group(1) if m else None

    def zxid(self):
        out = self.srvr()
        m = re.search(r"^Zxid: (0x[0-9a-fA-F]+)", out or "", re.M)
        return int(m.group(1), 16) if m else None

    # ------------------------------------------------------------ logs
    def log_mark(self):
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_text(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10.0, since=0):
        """Wait for a regex in the log (after byte offset `since`); returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(since))
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError(f"node {self.sid}: /{pattern}/ not in its log within "
                                     f"{timeout}s; tail:\n{self.log_tail(30)}")
            time.sleep(0.05)

    def sync_kind(self, since=0, timeout=15.0):
        """How this member was last synchronised with a leader (after byte offset `since` of
        its log): "DIFF", "TRUNC" or "SNAP" -- from Paddock's or ZooKeeper's own log line."""
        if self.kind == "paddock":
            m = self.wait_log(r"synchronising with the leader by (\w+)", timeout, since)
            return m.group(1)
        m = self.wait_log(r"Getting a (diff|snapshot) from (?:the )?leader|(Truncating) log",
                          timeout, since)
        return {"diff": "DIFF", "snapshot": "SNAP", None: "TRUNC"}[m.group(1)]

    def sigstop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)

    def sigcont(self):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)

    def __repr__(self):
        return f"<member {self.sid} {self.kind} {self.hosts} {self.workdir}>"


class Ensemble:
    """N members. kinds: one kind for all, or {sid: kind}. netns: optional
    {sid: (namespace, peer_host, client_host)} to run members in network namespaces.
    java_props: extra -D options for ZooKeeper members. sids: explicit server ids (default
    1..n); observers: the ids that are observers (`:observer` lines, peerType=observer)."""

    def __init__(self, workdir, n=3, kind="paddock", tick=TICK, init_limit=INIT_LIMIT,
                 sync_limit=SYNC_LIMIT, extra=None, member_extra=None, netns=None,
                 java_props=(), observers=(), sids=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # sids: the members' server ids (default 1..n); any positive ids, in any order
        self.sids = list(sids) if sids else list(range(1, n + 1))
        self.n = n = len(self.sids)
        self.tick = tick
        self.init_limit = init_limit
        self.sync_limit = sync_limit
        self.extra = dict(extra or {})
        self.java_props = list(java_props)
        self.netns = netns or {}
        self.observers = set(observers)
        kinds = kind if isinstance(kind, dict) else {sid: kind for sid in self.sids}
        ports = alloc_ports(3 * n)
        self._ports = {sid: ports[3 * i:3 * i + 3] for i, sid in enumerate(self.sids)}
        self.members = {}
        for sid in self.sids:
            ns, peer, client = self.netns.get(sid, (None, "127.0.0.1", "127.0.0.1"))
            cp, qp, ep = self._ports[sid]
            self.members[sid] = Member(self, sid, kinds[sid], self.workdir / f"node{sid}", cp, qp,
                                       ep, peer_host=peer, client_host=client, netns=ns,
                                       extra=(member_extra or {}).get(sid))

    def server_lines(self):
        out = []
        for sid in self.sids:
            ns, peer, _ = self.netns.get(sid, (None, "127.0.0.1", "127.0.0.1"))
            _, qp, ep = self._ports[sid]
            role = "observer" if sid in self.observers else "participant"
            out.append((f"server.{sid}", f"{peer}:{qp}:{ep}:{role}"))
        return out

    def __getitem__(self, sid):
        return self.members[sid]

    def __iter__(self):
        return iter(self.members.values())

    # ------------------------------------------------------------ lifecycle
    def start(self, *sids, pause=0.0, wait_up=True):
        """Start members (all if none named) in the given order; `pause` seconds between
        them. wait_up: wait until each answers ruok (not until an election ends)."""
        chosen = sids or self.sids
        for i, sid in enumerate(chosen):
            if i and pause:
                time.sleep(pause)
            m = self.members[sid]
            m.write_config()
            m.start(wait=False)
        if wait_up:
            for sid in chosen:
                m = self.members[sid]
                m.wait_ready(servers.READY_TIMEOUT[m.kind])
        return self

    def kill(self, sid):
        return self.members[sid].kill9()

    def stop(self, sid):
        return self.members[sid].stop()

    def restart(self, sid, kill=False):
        m = self.members[sid]
        (m.kill9 if kill else m.stop)()
        m.start(wait=False)
        m.wait_ready(servers.READY_TIMEOUT[m.kind])

    def running(self):
        return [sid for sid, m in self.members.items() if m.alive()]

    def close(self):
        for m in self.members.values():
            if m.alive():
                m.sigcont()
            m.stop(timeout=5.0)

    # ------------------------------------------------------------ state
    def modes(self, sids=None):
        return {sid: self.members[sid].mode() for sid in (sids or self.sids)}

    def leader(self, sids=None):
        """The sid that says leader among `sids` (running members), if exactly one does."""
        ls = [sid for sid, mode in self.modes(sids or self.running()).items() if mode == "leader"]
        return ls[0] if len(ls) == 1 else None

    def wait_leader(self, timeout=20.0, sids=None, expect=None):
        """Until exactly one of `sids` (default: the running members) leads and every other
        one follows; returns the leader's sid. `expect`: the leader must be this one."""
        deadline = time.monotonic() + timeout
        modes = {}
        while time.monotonic() < deadline:
            chosen = sids or self.running()
            modes = self.modes(chosen)
            leaders = [s for s, mo in modes.items() if mo == "leader"]
            if len(leaders) == 1 and all(mo in SERVING_MODES for mo in modes.values()):
                if expect is not None and leaders[0] != expect:
                    raise AssertionError(f"node {leaders[0]} leads, expected node {expect}; "
                                         f"modes {modes}")
                return leaders[0]
            time.sleep(0.05)
        raise AssertionError(f"no single serving leader within {timeout}s; modes {modes}")

    def wait_mode(self, sid, modes, timeout=10.0):
        if isinstance(modes, str):
            modes = (modes,)
        deadline = time.monotonic() + timeout
        mode = None
        while time.monotonic() < deadline:
            mode = self.members[sid].mode()
            if mode in modes:
                return mode
            time.sleep(0.02)
        raise AssertionError(f"node {sid} mode {mode!r}, expected {modes} within {timeout}s")

    def hosts(self, sids=None):
        return ",".join(self.members[s].hosts for s in (sids or self.sids))

    # ------------------------------------------------------------ clients
    def client(self, sids=None, timeout=4.0, start_timeout=20.0, **kw):
        """A started kazoo client on the given members (all by default). Closed by close_clients()."""
        kw.setdefault("connection_retry", dict(CONNECTION_RETRY))
        kw.setdefault("command_retry", None)
        c = KazooClient(hosts=self.hosts(sids), timeout=timeout, **kw)
        self._clients.append(c)
        c.start(timeout=start_timeout)
        return c

    _clients = None

    def close_clients(self):
        for c in self._clients or []:
            try:
                c.stop()
                c.close()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        self._clients = []


def _init_clients(ens):
    ens._clients = []
    return ens


# ---------------------------------------------------------------------------- tree checks

def dump_tree(client, root="/", skip=("/zookeeper",)):
    """{path: (data, version, czxid, mzxid, numChildren)} of every znode under root."""
    out = {}

    def walk(path):
        if path in skip:
            return
        data, st = client.get(path)
        out[path] = (data, st.version, st.czxid, st.mzxid, st.numChildren)
        for child in client.get_children(path):
            walk(("" if path == "/" else path) + "/" + child)

    walk(root)
    return out


def member_trees(ens, sids=None, root="/", timeout=20.0):
    """Each member's tree (through a kazoo client on that member alone, after sync())."""
    out = {}
    for sid in sids or ens.running():
        c = KazooClient(hosts=ens[sid].hosts, timeout=4.0,
                        connection_retry=dict(CONNECTION_RETRY))
        try:
            c.start(timeout=timeout)
            c.sync(root)
            out[sid] = dump_tree(c, root)
        finally:
            c.stop()
            c.close()
    return out


def assert_converged(ens, sids=None, root="/", timeout=20.0):
    """Every member holds the same tree; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        trees = member_trees(ens, sids, root)
        first = next(iter(trees.values()))
        if all(t == first for t in trees.values()):
            return first
        if time.monotonic() >= deadline:
            diffs = []
            base_sid = next(iter(trees))
            for sid, t in trees.items():
                missing = sorted(set(first) - set(t))[:5]
                extra = sorted(set(t) - set(first))[:5]
                changed = sorted(p for p in set(t) & set(first) if t[p] != first[p])[:5]
                diffs.append(f"node {sid} vs node {base_sid}: missing {missing} extra {extra} "
                             f"differing {changed}")
            raise AssertionError("members did not converge:\n" + "\n".join(diffs))
        time.sleep(0.2)


# ---------------------------------------------------------------------------- fixture

@pytest.fixture
def make_ensemble(tmp_path, request):
    """make_ensemble(n=3, kind="paddock", **Ensemble kw) -> Ensemble (not started).
    Members are stopped (SIGCONT first, in case a test stopped one) at teardown; their log
    tails are attached to a failure report."""
    made = []
    counter = itertools.count()

    def factory(n=3, kind="paddock", **kw):
        kinds = set(kind.values()) if isinstance(kind, dict) else {kind}
        for k in kinds:
            reason = servers.unavailable_reason(k)
            if reason:
                pytest.skip(reason)
        ens = _init_clients(Ensemble(tmp_path / f"ensemble{next(counter)}", n, kind, **kw))
        made.append(ens)
        lst = getattr(request.node, "_paddock_servers", None)
        if lst is None:
            lst = request.node._paddock_servers = []
        lst.extend(ens.members.values())
        return ens

    yield factory
    for ens in made:
        ens.close_clients()
        ens.close()


# ---------------------------------------------------------------------------- load

class Writer(threading.Thread):
    """Writes in a loop through its own kazoo client until stopped: creates
    <parent>/<name>-<n> (n = 0, 1, ...). Records acknowledged paths (with ack time) and the
    paths whose outcome is unknown (connection lost while in flight)."""

    def __init__(self, ens, parent, name, sids=None, interval=0.0):
        super().__init__(daemon=True, name=f"writer-{name}")
        self.client = ens.client(sids)
        self.parent = parent
        self.name_ = name
        self.interval = interval
        self.acked = []       # (path, monotonic time of ack, zxid)
        self.unknown = []     # paths whose create may or may not have happened
        self.errors = []
        self.stop_ev = threading.Event()

    def run(self):
        from kazoo.exceptions import ConnectionLoss, SessionExpiredError, KazooException
        from kazoo.handlers.threading import KazooTimeoutError
        n = 0
        while not self.stop_ev.is_set():
            path = f"{self.parent}/{self.name_}-{n:06d}"
            n += 1
            try:
                _, st = self.client.create_async(path, b"w", include_data=True).get(timeout=10)
                self.acked.append((path, time.monotonic(), st.czxid))
            except (ConnectionLoss, KazooTimeoutError):
                self.unknown.append(path)
                self.stop_ev.wait(0.02)
            except SessionExpiredError as e:
                self.errors.append(repr(e))
                self.unknown.append(path)
                self.stop_ev.wait(0.1)
            except KazooException as e:
                self.unknown.append(path)
                self.errors.append(repr(e))
                self.stop_ev.wait(0.02)
            if self.interval:
                self.stop_ev.wait(self.interval)

    def stop(self):
        self.stop_ev.set()
        self.join(15)

