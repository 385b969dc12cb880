"""Fixtures for the integration suite: servers under test (Apache ZooKeeper 3.8 and Paddock),
kazoo clients, unique znode paths, a per-test watchdog, and server log tails on failure.

Targets: a test that takes the `target` fixture runs once per server kind ("zookeeper",
"paddock"); `@pytest.mark.targets("paddock")` narrows that. A kind that is not selected
(PADDOCK_TEST_TARGETS=zookeeper,paddock) or cannot run here (no paddock binary yet) is SKIPPED
with the reason, never silently passed.
"""

import atexit
import faulthandler
import itertools
import os
import re
import sys
import threading

import pytest
from kazoo.client import KazooClient

import servers
from util import CONNECTION_RETRY

DEFAULT_DEADLINE = 90.0   # seconds per test (setup + call + teardown); @pytest.mark.deadline(s)
WATCHDOG_GRACE = 15.0     # after the deadline: servers killed, then this long before hard exit

atexit.register(servers.kill_all_live)


def pytest_configure(config):
    config.addinivalue_line("markers", "targets(*kinds): server kinds this test applies to")
    config.addinivalue_line("markers", "deadline(seconds): per-test watchdog deadline")
    config.addinivalue_line("markers", "slow: takes tens of seconds (deselect with -m 'not slow')")


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        m = metafunc.definition.get_closest_marker("targets")
        kinds = list(m.args) if m else list(servers.ALL_TARGETS)
        metafunc.parametrize("target", kinds, indirect=True)


@pytest.fixture
def target(request):
    kind = request.param
    reason = servers.unavailable_reason(kind)
    if reason:
        pytest.skip(reason)
    return kind


# ------------------------------------------------------------------ watchdog

class _Watchdog(threading.Thread):
    def __init__(self, limit, nodeid):
        super().__init__(daemon=True, name="test-watchdog")
        self.limit = limit
        self.nodeid = nodeid
        self.done = threading.Event()

    def run(self):
        if self.done.wait(self.limit):
            return
        err = sys.__stderr__
        err.write(f"\n*** WATCHDOG: {self.nodeid} exceeded {self.limit}s; thread dump follows; "
                  f"killing the servers this run started\n")
        faulthandler.dump_traceback(file=err, all_threads=True)
        err.flush()
        servers.kill_all_live()
        if self.done.wait(WATCHDOG_GRACE):
            return
        err.write(f"*** WATCHDOG: {self.nodeid} still running {WATCHDOG_GRACE}s later; exiting\n")
        err.flush()
        os._exit(3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    m = item.get_closest_marker("deadline")
    wd = _Watchdog(float(m.args[0]) if m else DEFAULT_DEADLINE, item.nodeid)
    wd.start()
    try:
        yield
    finally:
        wd.done.set()


# ------------------------------------------------------------------ log tails on failure

def _note_server(request, srv):
    node = request.node
    lst = getattr(node, "_paddock_servers", None)
    if lst is None:
        lst = []
        node._paddock_servers = lst
    if srv not in lst:
        lst.append(srv)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in getattr(item, "_paddock_servers", []):
            rep.sections.append((f"server log tail: {srv!r}", srv.log_tail(80)))


# ------------------------------------------------------------------ servers

class ServerPool:
    """Session-wide shared servers, one per (kind, config variant), started on first use and
    replaced if one has died (its log tail is printed so the death is not hidden)."""

    def __init__(self, tmp_factory):
        self.tmp_factory = tmp_factory
        self.servers = {}

    def get(self, kind, tick_time=2000):
        key = (kind, tick_time)
        srv = self.servers.get(key)
        if srv is not None and not srv.alive():
            sys.__stderr__.write(f"\n*** shared {srv!r} died (rc={srv.proc.returncode}); "
                                 f"starting a new one. Log tail:\n{srv.log_tail(40)}\n")
            srv = None
        if srv is None:
            workdir = self.tmp_factory.mktemp(f"shared-{kind}-tick{tick_time}")
            srv = servers.Server(kind, workdir, tick_time=tick_time)
            srv.start()
            self.servers[key] = srv
        return srv

    def close(self):
        for srv in self.servers.values():
            srv.stop()
            srv.cleanup_data()


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory):
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture
def server(target, server_pool, request):
    """The shared server of this target kind (tickTime 2000). Use unique paths (`base`)."""
    srv = server_pool.get(target)
    _note_server(request, srv)
    return srv


@pytest.fixture
def fast_server(target, server_pool, request):
    """A shared server with tickTime=200: session timeouts clamp to [400, 4000] ms."""
    srv = server_pool.get(target, tick_time=200)
    _note_server(request, srv)
    return srv


@pytest.fixture
def make_server(tmp_path, request):
    """Factory for fresh servers owned by this test: make_server(kind, start=True, **Server kw)."""
    made = []
    counter = itertools.count()

    def factory(kind, start=True, **kw):
        reason = servers.unavailable_reason(kind)
        if reason:
            pytest.skip(reason)
        srv = servers.Server(kind, tmp_path / f"{kind}-{next(counter)}", **kw)
        made.append(srv)
        _note_server(request, srv)
        if start:
            srv.start()
        return srv

    yield factory
    for srv in made:
        srv.stop()
        srv.cleanup_data()


# ------------------------------------------------------------------ clients



@pytest.fixture
def make_client():
    """Factory for started kazoo clients; all are stopped and closed at teardown."""
    made = []

    def factory(hosts, timeout=10.0, start_timeout=15.0, **kw):
        if not isinstance(hosts, str):
            hosts = hosts.hosts
        kw.setdefault("connection_retry", dict(CONNECTION_RETRY))
        c = KazooClient(hosts=hosts, timeout=timeout, **kw)
        made.append(c)
        c.start(timeout=start_timeout)
        return c

    yield factory
    for c in made:
        try:
            c.stop()
        finally:
            c.close()


@pytest.fixture
def zk(server, make_client):
    """A kazoo client connected to the shared server."""
    return make_client(server)


_path_counter = itertools.count()


@pytest.fixture
def base(zk, request):
    """A unique, freshly created persistent znode for this test on the shared server."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)[:60]
    path = f"/t{os.getpid()}-{next(_path_counter)}-{name}"
    zk.create(path, b"")
    return path


@pytest.fixture
def sentinels(zk, base):
    """A persistent znode (sibling of `base`) under which util.flush_events creates its
    sentinels, so that they do not disturb `base`'s children, cversion or child watches."""
    path = base + "-sentinels"
    zk.create(path, b"")
    return path


@pytest.fixture
def make_raw():
    """Factory for raw protocol connections (zkproto.RawClient); closed at teardown.
    make_raw(server, session=True, timeout_ms=10000, **connect kw) performs the handshake."""
    import zkproto
    made = []

    def factory(srv, session=True, timeout_ms=10000, io_timeout=5.0, **kw):
        c = zkproto.RawClient(servers.HOST, srv.port, timeout=io_timeout)
        made.append(c)
        if session:
            resp = c.connect(timeout_ms=timeout_ms, **kw)
            assert resp.timeout > 0, f"session refused: {resp}"
        return c

    yield factory
    for c in made:
        c.close()
