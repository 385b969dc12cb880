"""Small helpers shared by the test modules: bounded waiting and watch-event recording."""

import itertools
import threading
import time

_sentinel_ids = itertools.count()

# kazoo reconnection policy for tests: retry forever, quickly (servers restart in seconds)
CONNECTION_RETRY = dict(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5)


def wait_until(predicate, timeout, interval=0.02, message="condition"):
    """Poll `predicate` until true or `timeout` seconds pass (then AssertionError).
    Used only where no event can be awaited (e.g. server-side state seen by another client)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Recorder:
    """A kazoo watch callback that records WatchedEvents; wait(n) blocks (bounded) until at
    least n events arrived. kazoo also calls watch callbacks with connection-state
    pseudo-events (type NONE, path None) when the connection drops; those are kept apart in
    `state_events` since they do not come from the server."""

    def __init__(self):
        self.events = []
        self.state_events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            if event.type == "NONE":
                self.state_events.append(event)
            else:
                self.events.append(event)
            self.cond.notify_all()

    def wait(self, n=1, timeout=10.0):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.events) >= n, timeout)

    def summary(self):
        with self.cond:
            return [(e.type, e.path) for e in self.events]


def flush_events(watcher, writer, parent, timeout=10.0):
    """Make sure every watch event the server sent to `watcher` for changes made so far has
    been delivered to its callbacks: `watcher` sets an exists-watch on a new sentinel path,
    `writer` creates it. The server sends notifications in zxid order on one connection and
    kazoo runs callbacks on one thread in arrival order, so when the sentinel's callback has
    run, any earlier event has been delivered too. The sentinel is created under `parent`
    (choose one whose child watches do not matter) and deleted again."""
    path = f"{parent}/sentinel-{next(_sentinel_ids)}"
    rec = Recorder()
    assert watcher.exists(path, watch=rec) is None
    writer.create(path, b"")
    ok = rec.wait(1, timeout)
    writer.delete(path)
    if not ok:
        raise AssertionError(f"sentinel event for {path} not delivered within {timeout}s")


class StateTracker:
    """A kazoo connection-state listener that records states; wait_for(state) is bounded."""

    def __init__(self, client):
        self.states = []
        self.cond = threading.Condition()
        client.add_listener(self)

    def __call__(self, state):
        with self.cond:
            self.states.append(state)
            self.cond.notify_all()

    def wait_for(self, state, timeout=10.0, after=0):
        """Wait until `state` appears among the states recorded at index >= `after`."""
        with self.cond:
            return self.cond.wait_for(lambda: state in self.states[after:], timeout)

    def mark(self):
        with self.cond:
            return len(self.states)


class TcpProxy:
    """A loopback TCP proxy in front of a server, so a test can cut a client's connection
    and keep it from reconnecting for a while without touching the server.

    cut(): close every proxied connection and refuse (accept-and-close) new ones.
    resume(): proxy new connections again."""

    def __init__(self, target_host, target_port):
        import socket
        self._socket = socket
        self.target = (target_host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.hosts = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.conns = []
        self.refusing = False
        self.accepted = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True, name="tcp-proxy")
        self.thread.start()

    def _accept_loop(self):
        socket = self._socket
        while not self.stopped.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                if self.refusing or self.stopped.is_set():
                    c.close()
                    continue
                self.accepted += 1
                try:
                    u = socket.create_connection(self.target, timeout=5)
                except OSError:
                    c.close()
                    continue
                c.settimeout(None)
                u.settimeout(None)
                self.conns.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.refusing = True
            conns, self.conns = self.conns, []
        for c, u in conns:
            for s in (c, u):
                try:
                    s.shutdown(self._socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def resume(self):
        with self.lock:
            self.refusing = False

    def close(self):
        self.stopped.set()
        self.cut()
        self.lsock.close()
        self.thread.join(5)
