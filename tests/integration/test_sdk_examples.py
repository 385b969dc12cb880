"""Paddock-only: the installed SDK and third-party processors.

`cmake --install` of the build under test goes into a temporary prefix. The two example
processors (examples/audit-log, examples/guard) and a test-only project
(tests/integration/processors: a processor that throws or answers garbage, and the same
claiming another SDK ABI version) are then configured, built and installed against that
prefix alone, as a third party would (find_package(Paddock) with CMAKE_PREFIX_PATH, no path
into the source tree), and the INSTALLED bin/paddock serves them from its own
lib/paddock/plugins, found by its default rule. Through kazoo: the audit log has one JSON line
per write with the right fields; the guard refuses writes under its paths and above its rate
with the configured error code while allowed writes pass; a throwing or garbage-answering
processor fails only that request, logged; a processor of another ABI version stops start-up
with one line."""

import datetime
import json
import os
import re
import shutil
import subprocess
import threading
import time

import pytest
from kazoo.exceptions import (BadArgumentsError, NodeExistsError, NoNodeError,
                              SystemZookeeperError)

import servers
from util import wait_until

pytestmark = pytest.mark.targets("paddock")

EXTERNAL_PROJECTS = {
    "audit": servers.REPO / "examples" / "audit-log",
    "guard": servers.REPO / "examples" / "guard",
    "test-processors": servers.REPO / "tests" / "integration" / "processors",
}
BUILD_TIMEOUT = 240.0


def _run(cmd, what, timeout=BUILD_TIMEOUT, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    assert r.returncode == 0, f"{what} failed ({' '.join(map(str, cmd))}):\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """A Paddock installation (SDK, server, shipped plugins) plus the external processors,
    built against it and installed into it."""
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    if shutil.which("cmake") is None:
        pytest.skip("cmake not found")
    root = tmp_path_factory.mktemp("sdk")
    prefix = root / "prefix"
    _run(["cmake", "--install", servers.build_dir(), "--prefix", prefix], "installing Paddock")

    def build(name, source):
        build_dir = root / f"build-{name}"
        _run(["cmake", "-S", source, "-B", build_dir, f"-DCMAKE_PREFIX_PATH={prefix}",
              "-DCMAKE_BUILD_TYPE=Release"], f"configuring {name}")
        _run(["cmake", "--build", build_dir], f"building {name}")
        _run(["cmake", "--install", build_dir, "--prefix", prefix], f"installing {name}")

    # Three small projects; configured and built side by side (each compiles one or two files).
    errors = {}

    def guarded(name, source):
        try:
            build(name, source)
        except BaseException as e:  # reported below, on the test's thread
            errors[name] = e

    threads = [threading.Thread(target=guarded, args=item) for item in EXTERNAL_PROJECTS.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, e in errors.items():
        raise AssertionError(f"{name}: {e}")
    return prefix


def plugin_dir(prefix):
    return prefix / "lib" / "paddock" / "plugins"


class InstalledServer(servers.Server):
    """A Paddock server run from the installation under test rather than the build tree."""

    def __init__(self, prefix, *args, **kw):
        self.prefix = prefix
        super().__init__("paddock", *args, **kw)

    def command(self):
        return [str(self.prefix / "bin" / "paddock"), str(self.cfg_path)]


@pytest.fixture
def installed_server(prefix, tmp_path, request):
    made = []
    counter = iter(range(100))

    def factory(extra):
        srv = InstalledServer(prefix, tmp_path / f"installed-{next(counter)}", extra=extra)
        made.append(srv)
        # conftest prints the log tail of a failing test's servers
        lst = getattr(request.node, "_paddock_servers", [])
        lst.append(srv)
        request.node._paddock_servers = lst
        srv.start()
        return srv

    yield factory
    for srv in made:
        srv.stop()
        srv.cleanup_data()


# ---------------------------------------------------------------- the installation

def test_install_puts_sdk_server_and_plugins_under_the_prefix(prefix):
    headers = sorted(p.name for p in (prefix / "include" / "paddock" / "sdk").glob("*.hpp"))
    for h in ("plugin.hpp", "processor.hpp", "transport.hpp", "storage.hpp", "auth.hpp",
              "election.hpp", "role.hpp", "status.hpp", "types.hpp", "jute.hpp"):
        assert h in headers
    # Nothing of the core is installed.
    assert sorted(p.name for p in (prefix / "include").iterdir()) == ["paddock"]
    assert sorted(p.name for p in (prefix / "include" / "paddock").iterdir()) == ["sdk"]
    cmake_dir = prefix / "lib" / "cmake" / "Paddock"
    for f in ("PaddockConfig.cmake", "PaddockConfigVersion.cmake", "PaddockTargets.cmake",
              "PaddockPlugin.cmake"):
        assert (cmake_dir / f).is_file(), f
    targets = (cmake_dir / "PaddockTargets.cmake").read_text()
    assert "Paddock::sdk" in targets
    assert str(servers.REPO) not in targets, "the exported target points into the source tree"
    assert os.access(prefix / "bin" / "paddock", os.X_OK)
    shipped = {p.name for p in plugin_dir(prefix).glob("*.so")}
    for so in ("paddock-storage-file.so", "paddock-transport-tcp.so"):
        assert so in shipped
    # The external processors landed beside them.
    for so in ("paddock-processor-audit.so", "paddock-processor-guard.so",
               "paddock-processor-faulty.so", "paddock-processor-otherabi.so"):
        assert so in shipped


def test_examples_were_built_against_the_installed_sdk_only(prefix):
    root = prefix.parent
    for name in EXTERNAL_PROJECTS:
        flags = "".join(p.read_text() for p in (root / f"build-{name}").rglob("flags.make"))
        assert str(prefix / "include") in flags, name
        assert str(servers.REPO / "sdk") not in flags, f"{name} compiled against the source tree"


def test_plugins_export_only_the_two_aliases(prefix):
    if shutil.which("nm") is None:
        pytest.skip("nm not found")
    for so in ("paddock-processor-audit.so", "paddock-processor-guard.so"):
        r = _run(["nm", "-D", "--defined-only", plugin_dir(prefix) / so], f"nm {so}")
        exported = {line.split()[-1] for line in r.stdout.splitlines()
                    if line.split() and line.split()[-2] in ("T", "D", "R", "B", "V", "W")}
        assert {"paddock_plugin_descriptor", "paddock_plugin_create"} <= exported, exported
        ours = {s for s in exported if "audit" in s.lower() or "guard" in s.lower()}
        assert not ours, f"{so} exports more than its aliases: {ours}"


# ---------------------------------------------------------------- audit and guard

def _audit_lines(path, session_hex):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)  # every line is one JSON object
        if entry["session"] == session_hex:
            out.append(entry)
    return out


def test_audit_logs_each_write_and_guard_refuses_with_its_code(installed_server, make_client,
                                                               tmp_path):
    audit_file = tmp_path / "audit.jsonl"
    srv = installed_server({
        "paddock.processors": "beforePrep:guard,afterFinal:audit",
        "audit.file": audit_file,
        "guard.readOnlyPaths": "/ro, /frozen/",
        "guard.maxWritesPerSecond": "1000",
        "guard.errorCode": "BADARGUMENTS",
    })
    assert "plugin processor 'audit'" in srv.log_tail(200)
    # The processors came from the default plugin directory of the installed binary.
    assert str(plugin_dir(srv.prefix) / "paddock-processor-guard.so") in srv.log_tail(200)

    zk = make_client(srv)
    session = "0x%x" % zk.client_id[0]

    # Writes that pass: one audit line each, in order, with the zxid they were given.
    zk.create("/app", b"v0")
    zk.set("/app", b"v1")
    with pytest.raises(NodeExistsError):
        zk.create("/app", b"again")
    with pytest.raises(NoNodeError):
        zk.delete("/app/none")
    zk.create("/app/child", b"")
    tx = zk.transaction()
    tx.create("/app/t1", b"")
    tx.set_data("/app", b"v2")
    tx.commit()
    stat_app = zk.exists("/app")
    stat_child = zk.exists("/app/child")
    zk.delete("/app/child")
    # Reads are not audited.
    zk.get("/app")
    zk.get_children("/app")
    zk.exists("/nowhere")

    # Writes the guard refuses: with BADARGUMENTS, never reaching the tree or the audit log.
    for attempt in (lambda: zk.create("/ro", b""),
                    lambda: zk.create("/ro/x", b"", makepath=False),
                    lambda: zk.create("/frozen", b""),
                    lambda: zk.delete("/ro"),
                    lambda: zk.set("/frozen", b"")):
        with pytest.raises(BadArgumentsError):
            attempt()
    assert zk.exists("/ro") is None and zk.exists("/frozen") is None
    zk.create("/rox", b"")  # a sibling, not under /ro
    zk.create("/ro2/a", b"", makepath=True)

    expected = [("create", "/app", 0), ("setData", "/app", 0), ("create", "/app", -110),
                ("delete", "/app/none", -101), ("create", "/app/child", 0),
                ("multi", "/app/t1", 0), ("delete", "/app/child", 0), ("create", "/rox", 0),
                # makepath: kazoo tries the node first, then makes the parent
                ("create", "/ro2/a", -101), ("create", "/ro2", 0), ("create", "/ro2/a", 0)]

    def audited():
        return [e for e in _audit_lines(audit_file, session) if e["op"] != "createSession"]

    wait_until(lambda: len(audited()) >= len(expected), 10.0, message="audit lines")
    lines = audited()
    assert [(e["op"], e["path"], e["err"]) for e in lines] == expected, lines
    results = {0: "OK", -110: "NODEEXISTS", -101: "NONODE"}
    zxids = [int(e["zxid"], 16) for e in lines]
    assert all(z > 0 for z in zxids) and zxids == sorted(zxids) and len(set(zxids)) == len(zxids)
    for e in lines:
        assert e["result"] == results[e["err"]]
        assert e["client"].startswith("127.0.0.1:")
        t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 120
    assert int(lines[0]["zxid"], 16) == stat_app.czxid
    assert int(lines[5]["zxid"], 16) == stat_app.mzxid  # the multi set /app last
    assert int(lines[4]["zxid"], 16) == stat_child.czxid

    # Session creation and closing are writes too.
    assert [e["op"] for e in _audit_lines(audit_file, session)][0] == "createSession"
    zk.stop()
    wait_until(lambda: any(e["op"] == "closeSession" for e in _audit_lines(audit_file, session)),
               10.0, message="closeSession audit line")


def test_guard_limits_each_sessions_write_rate(installed_server, make_client, tmp_path):
    srv = installed_server({
        "paddock.processors": "beforePrep:guard",
        "guard.maxWritesPerSecond": "20",
        "guard.errorCode": "-102",  # by number: NOAUTH
    })
    fast = make_client(srv)
    calm = make_client(srv)
    fast.create("/rate", b"")
    # 100 writes at once from one session: about the burst of 20 pass, the rest are refused.
    results = [fast.set_async("/rate", b"x") for _ in range(100)]
    passed = refused = 0
    for r in results:
        try:
            r.get(timeout=10)
            passed += 1
        except Exception as e:  # noqa: BLE001 - the exception class is what is checked
            assert type(e).__name__ == "NoAuthError", repr(e)
            refused += 1
    assert 15 <= passed <= 40 and refused == 100 - passed, (passed, refused)
    # Another session has its own budget, and reads are never limited.
    for i in range(10):
        calm.create(f"/calm-{i}", b"")
    for _ in range(50):
        fast.get("/rate")
    # The budget refills with time.
    time.sleep(1.0)
    fast.set("/rate", b"after a pause")
    assert srv.alive()
    assert re.search(r"session 0x[0-9a-f]+ exceeds 20 writes/s; refusing with NOAUTH",
                     srv.log_tail(300)), srv.log_tail(50)


def test_guard_rejects_a_bad_error_code_at_start_up(prefix, tmp_path):
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path / 'data'}\nclientPort={servers.free_port()}\n"
                   f"clientPortAddress=127.0.0.1\npaddock.processors=beforePrep:guard\n"
                   f"guard.errorCode=OOPS\n")
    r = subprocess.run([str(prefix / "bin" / "paddock"), str(cfg)], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert "guard.errorCode: expected a ZooKeeper error name" in r.stderr
    assert "'OOPS'" in r.stderr


# ---------------------------------------------------------------- misbehaving processors

def test_a_throwing_or_garbage_processor_fails_only_that_request(installed_server, make_client):
    srv = installed_server({"paddock.processors": "beforePrep:faulty"})
    zk = make_client(srv)
    for path in ("/faulty-throw", "/faulty-garbage", "/faulty-rejectok"):
        with pytest.raises(SystemZookeeperError):
            zk.create(path, b"")
        assert srv.alive()
    with pytest.raises(SystemZookeeperError):
        zk.get("/faulty-throw")  # reads pass the processor too
    # The session and the server carry on.
    zk.create("/fine", b"ok")
    assert zk.get("/fine")[0] == b"ok"
    assert not [c for c in zk.get_children("/") if c.startswith("faulty")]
    log = srv.log_tail(300)
    session = "0x%x" % zk.client_id[0]
    assert f"processor 'faulty' failed on create of session {session}: faulty asked to throw" in log
    assert f"processor 'faulty' returned an invalid decision (77) for create of session {session}" in log
    assert f"processor 'faulty' returned an invalid decision (1) for create of session {session}" in log


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_processor_claiming_to_have_answered_fails_the_request(installed_server, make_client):
    srv = installed_server({"paddock.processors": "beforePrep:faulty"})
    zk = make_client(srv)
    with pytest.raises(SystemZookeeperError):
        zk.create_async("/faulty-done", b"").get(timeout=3)
    zk.create("/after-done", b"")


def test_a_processor_failing_after_final_does_not_answer_twice(installed_server, make_client):
    srv = installed_server({"paddock.processors": "afterFinal:faulty"})
    zk = make_client(srv)
    # Applied and answered before the processor threw: the client sees the create succeed.
    assert zk.create_async("/faulty-throw", b"").get(timeout=5) == "/faulty-throw"
    zk.create("/after-throw", b"")
    assert {"faulty-throw", "after-throw"} <= set(zk.get_children("/"))


def test_a_processor_can_answer_a_read_itself(installed_server, make_client):
    srv = installed_server({"paddock.processors": "beforePrep:faulty"})
    zk = make_client(srv)
    zk.create("/before", b"")
    data, stat = zk.get("/faulty-answer")
    assert data == b"from-processor" and stat.version == 0
    # The session's order holds around it: a write then the processor's answer then a read.
    zk.create("/after", b"x")
    assert zk.get("/after")[0] == b"x"


def test_a_processor_of_another_abi_version_is_refused_in_one_line(prefix, tmp_path):
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path / 'data'}\nclientPort={servers.free_port()}\n"
                   f"clientPortAddress=127.0.0.1\npaddock.processors=beforePrep:otherabi\n")
    r = subprocess.run([str(prefix / "bin" / "paddock"), str(cfg)], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    so = plugin_dir(prefix) / "paddock-processor-otherabi.so"
    abi = int(re.search(r"kAbiVersion = (\d+);",
                        (prefix / "include" / "paddock" / "sdk" / "plugin.hpp").read_text())[1])
    assert r.stderr == (f"paddock: plugin {so}: SDK ABI version mismatch: expected {abi}, "
                        f"found {abi + 1}\n"), r.stderr
    assert r.stdout == ""
