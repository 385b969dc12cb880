"""Start and stop coordination servers (Apache ZooKeeper 3.8 or Paddock) for the integration tests.

Every server runs on 127.0.0.1 on a free port, with its own dataDir and generated zoo.cfg in a
work directory the caller owns (pytest's tmp_path), and its stdout/stderr appended to
<workdir>/server.log. Only processes started here are ever signalled, always by PID.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import zkproto

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
ALL_TARGETS = ("zookeeper", "paddock")

ZK_CLASSPATH = ":".join([
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/zookeeper-jute.jar",
    # log4j binding so ZooKeeper's log reaches server.log (without it slf4j logs nothing)
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
    # the servlet API, without which ZooKeeper cannot load Jetty for its AdminServer
    # (tests that enable admin.enableServer need it; Debian's zookeeper does not list it)
    "/usr/share/java/servlet-api.jar",
    "/etc/zookeeper/conf",
])
ZK_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"

READY_TIMEOUT = {"zookeeper": 20.0, "paddock": 10.0}
STOP_TIMEOUT = 10.0

# Every server process started by this module that may still be alive, by PID.
_live = {}
_live_lock = threading.Lock()


def build_dir():
    return Path(os.environ.get("PADDOCK_BUILD_DIR") or (REPO / "build"))


def paddock_binary():
    return build_dir() / "bin" / "paddock"


def selected_targets():
    env = os.environ.get("PADDOCK_TEST_TARGETS", "").strip()
    if not env:
        return list(ALL_TARGETS)
    return [t.strip() for t in env.split(",") if t.strip()]


def unavailable_reason(kind):
    """None if servers of this kind can be started here, else why not (used as skip reason)."""
    if kind not in selected_targets():
        return f"target {kind!r} not selected by PADDOCK_TEST_TARGETS={os.environ.get('PADDOCK_TEST_TARGETS')!r}"
    if kind == "zookeeper":
        if shutil.which("java") is None:
            return "java not found on PATH (Debian default-jre-headless needed for ZooKeeper)"
        for jar in ZK_CLASSPATH.split(":")[:2]:
            if not os.path.exists(jar):
                return f"{jar} missing (Debian package 'zookeeper' needed)"
        return None
    if kind == "paddock":
        b = paddock_binary()
        if not b.exists():
            return f"paddock binary {b} does not exist yet (build it, or set PADDOCK_BUILD_DIR)"
        if not os.access(b, os.X_OK):
            return f"paddock binary {b} is not executable"
        return None
    return f"unknown target {kind!r}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def kill_all_live():
    """Last resort (watchdog / exit): SIGKILL every server process we started and still track."""
    with _live_lock:
        procs = list(_live.values())
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass


class ServerStartError(Exception):
    pass


class Server:
    """One server process. kind is "zookeeper" or "paddock".

    `storage` names Paddock's storage plugin (paddock.storage); `data_dir` replaces the
    default <workdir>/data (two servers may then share one dataDir, one at a time).

    Config keys: tickTime (default 2000), and anything in `extra` (dict, written in order,
    a value of None drops the key). `fourlw` is the 4lw.commands.whitelist value (None = omit).
    `jvm_flags` (ZooKeeper only) are added to the java command line; `settings()` below turns
    one dict of ZooKeeper settings into both forms.
    """

    def __init__(self, kind, workdir, tick_time=2000, extra=None, fourlw="*", port=None,
                 log_level=None, config_text=None, storage=None, data_dir=None, jvm_flags=None):
        if kind not in ALL_TARGETS:
            raise ValueError(kind)
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.storage = storage           # paddock.storage (Paddock only; None = the default)
        self.cfg_path = self.workdir / "zoo.cfg"
        self.log_path = self.workdir / "server.log"
        self.port = port or free_port()
        self.tick_time = tick_time
        self.extra = dict(extra or {})
        self.fourlw = fourlw
        self.log_level = log_level or os.environ.get("PADDOCK_TEST_LOG_LEVEL", "info")
        self.proc = None
        self.starts = 0
        self.config_text = config_text   # if given, written verbatim instead of generated
        # ZooKeeper only: extra JVM options, e.g. "-Dzookeeper.extendedTypesEnabled=true" (many
        # of ZooKeeper's settings are system properties read before or apart from zoo.cfg)
        self.jvm_flags = list(jvm_flags or [])
        self.write_config()

    # ------------------------------------------------------------ config
    def config_lines(self):
        keys = {
            "tickTime": str(self.tick_time),
            "dataDir": str(self.data_dir),
            "clientPort": str(self.port),
            "clientPortAddress": HOST,
            "admin.enableServer": "false",
        }
        if self.fourlw is not None:
            keys["4lw.commands.whitelist"] = self.fourlw
        if self.kind == "paddock":
            keys["paddock.logLevel"] = self.log_level
            if self.storage is not None:
                keys["paddock.storage"] = self.storage
        keys.update(self.extra)
        return [f"{k}={v}" for k, v in keys.items() if v is not None]

    def write_config(self):
        if self.config_text is not None:
            self.cfg_path.write_text(self.config_text)
            return
        self.cfg_path.write_text("# generated by tests/integration/servers.py\n"
                                 + "\n".join(self.config_lines()) + "\n")

    @property
    def hosts(self):
        return f"{HOST}:{self.port}"

    def command(self):
        if self.kind == "zookeeper":
            return ["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "-Dzookeeper.log.dir=" + str(self.workdir), *self.jvm_flags,
                    "-cp", ZK_CLASSPATH, ZK_MAIN, str(self.cfg_path)]
        return [str(paddock_binary()), str(self.cfg_path)]

    # ------------------------------------------------------------ lifecycle
    def start(self, wait=True, ready_timeout=None):
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("already running")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)
        with _live_lock:
            _live[self.proc.pid] = self.proc
        if wait:
            self.wait_ready(READY_TIMEOUT[self.kind] if ready_timeout is None else ready_timeout)
        return self

    def ready_probe(self):
        """True when the server answers like a serving server."""
        if self.fourlw is not None and ("*" in self.fourlw or "ruok" in self.fourlw):
            if zkproto.four_letter(HOST, self.port, "ruok", timeout=1.0) != "imok":
                return False
        if self.fourlw is None or "*" in self.fourlw or "srvr" in self.fourlw:
            return "Mode:" in zkproto.four_letter(HOST, self.port, "srvr", timeout=1.0)
        return True

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._forget()
                raise ServerStartError(
                    f"{self.kind} exited with code {rc} before becoming ready\n--- log tail:\n"
                    + self.log_tail())
            try:
                if self.ready_probe():
                    return
            except OSError as e:
                last_err = e
            time.sleep(0.05)  # polling interval for readiness; nothing to wait on instead
        self.stop()
        raise ServerStartError(f"{self.kind} on {self.hosts} not ready within {timeout}s "
                               f"(last error: {last_err!r})\n--- log tail:\n" + self.log_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _forget(self):
        if self.proc is not None:
            with _live_lock:
                _live.pop(self.proc.pid, None)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after `timeout` s. Returns the exit code."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
        self._forget()
        return p.returncode

    def kill9(self):
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=STOP_TIMEOUT)
        self._forget()
        return p.returncode

    def restart(self, kill=False):
        (self.kill9 if kill else self.stop)()
        return self.start()

    def cleanup_data(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # ------------------------------------------------------------ diagnostics
    def log_tail(self, lines=60):
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        text = data.decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])

    def four_letter(self, word, timeout=5.0):
        return zkproto.four_letter(HOST, self.port, word, timeout=timeout)

    def __repr__(self):
        return f"<{self.kind} {self.hosts} {self.workdir}>"


# ZooKeeper settings that Apache ZooKeeper reads as Java system properties under these names
# (zoo.cfg cannot set them reliably: some are read before the file, or without the
# "zookeeper." prefix its parser adds), with the zoo.cfg key Paddock reads for each.
_JVM_PROPERTY = {
    "extendedTypesEnabled": "zookeeper.extendedTypesEnabled",
    "enforceQuota": "zookeeper.enforceQuota",
    "DigestAuthenticationProvider.superDigest": "zookeeper.DigestAuthenticationProvider.superDigest",
    "X509AuthenticationProvider.superUser": "zookeeper.X509AuthenticationProvider.superUser",
    "skipACL": "zookeeper.skipACL",
    "znode.container.checkIntervalMs": "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute": "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs": "znode.container.maxNeverUsedIntervalMs",
    "jute.maxbuffer": "jute.maxbuffer",
    "readonlymode.enabled": "readonlymode.enabled",
}


def settings(kind, values):
    """Server keyword arguments giving a server of `kind` the ZooKeeper settings `values`
    (dict of setting -> value): JVM -D flags for ZooKeeper where it reads a system property,
    zoo.cfg keys otherwise (and always, for Paddock)."""
    extra, flags = {}, []
    for key, value in values.items():
        if kind == "zookeeper" and key in _JVM_PROPERTY:
            flags.append(f"-D{_JVM_PROPERTY[key]}={value}")
        else:
            extra[key] = value
    return {"extra": extra, "jvm_flags": flags} if kind == "zookeeper" else {"extra": extra}
