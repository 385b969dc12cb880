"""tools/paddock-ensemble (the local-ensemble launcher) and conf/ensemble/ (the shipped configs).

The launcher is run as a user would, on a copy of the 3-node configs whose ports are replaced
by free ones (the shipped 2181.. may be in use on a shared machine), with --root in the
test's directory so relative dataDirs land there.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import servers
from ensemble import alloc_ports

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "paddock-ensemble"
CONF = REPO / "conf" / "ensemble"

pytestmark = pytest.mark.deadline(120)


def read_cfg(path):
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


@pytest.mark.parametrize("name,n", [("3-node", 3), ("5-node", 5)])
def test_shipped_configs_are_consistent(name, n):
    files = sorted((CONF / name).glob("*.cfg"))
    assert [f.name for f in files] == [f"node{i}.cfg" for i in range(1, n + 1)]
    cfgs = [read_cfg(f) for f in files]
    servers_lines = {k: v for k, v in cfgs[0].items() if k.startswith("server.")}
    assert sorted(servers_lines) == [f"server.{i}" for i in range(1, n + 1)]
    ports = []
    for i, cfg in enumerate(cfgs, 1):
        assert cfg["tickTime"] == "2000" and cfg["initLimit"] == "10" and cfg["syncLimit"] == "5"
        assert cfg["dataDir"] == f"./data/ensemble/{name}/node{i}"
        assert {k: v for k, v in cfg.items() if k.startswith("server.")} == servers_lines
    for v in servers_lines.values():
        m = re.fullmatch(r"127\.0\.0\.1:(\d+):(\d+):participant;127\.0\.0\.1:(\d+)", v)
        assert m, v
        ports += [int(p) for p in m.groups()]
    assert len(set(ports)) == len(ports)
    other = "5-node" if name == "3-node" else "3-node"
    other_ports = set()
    for v in read_cfg(CONF / other / "node1.cfg").values():
        other_ports |= {int(p) for p in re.findall(r":(\d+)", v)}
    assert not set(ports) & other_ports, "the 3- and 5-node ensembles must be able to run together"


def run(*args, root, timeout=90, check=True):
    r = subprocess.run([sys.executable, str(TOOL), *args, "--root", str(root),
                        "--binary", str(servers.paddock_binary())],
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"paddock-ensemble {' '.join(args)} -> {r.returncode}\n"
                             f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def copy_conf(name, tmp_path, nports):
    """A copy of conf/ensemble/<name> with free ports and tickTime 200; returns (conf, root)."""
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    dst = tmp_path / "conf"
    dst.mkdir()
    ports = iter(alloc_ports(nports))
    mapping = {}
    for src in sorted((CONF / name).glob("*.cfg")):
        text = src.read_text()
        for p in sorted(set(re.findall(r":(\d{4})\b", text))):
            if p not in mapping:
                mapping[p] = str(next(ports))
        text = re.sub(r":(\d{4})\b", lambda m: ":" + mapping[m.group(1)], text)
        text = text.replace("tickTime=2000", "tickTime=200")
        (dst / src.name).write_text(text + "paddock.logLevel=info\n")
    root = tmp_path / "root"
    root.mkdir()
    return dst, root


def stop_all(conf, root):
    run("stop", str(conf), root=root, check=False)
    run("kill", str(conf), "--all", root=root, check=False)


@pytest.fixture
def conf_copy(tmp_path):
    conf, root = copy_conf("3-node", tmp_path, 9)
    yield conf, root
    stop_all(conf, root)


def listing(conf, root):
    return json.loads(run("list", str(conf), "--json", root=root).stdout)


def test_launcher_start_list_kill_restart_stop(conf_copy):
    conf, root = conf_copy
    out = run("start", str(conf), "--wait", "--timeout", "30", root=root).stdout
    assert "leader: node 3" in out
    data = root / "data" / "ensemble" / "3-node"
    for i in (1, 2, 3):
        assert (data / f"node{i}" / "myid").read_text().strip() == str(i)
        assert (data / f"node{i}.log").exists()
    state = json.loads((data / "launcher-state.json").read_text())
    pids = {int(k): v["pid"] for k, v in state["nodes"].items()}
    assert sorted(pids) == [1, 2, 3]

    ls = listing(conf, root)
    assert ls["leader"] == 3
    assert [(n["id"], n["state"], n["pid"]) for n in ls["nodes"]] == \
        [(1, "FOLLOWING", pids[1]), (2, "FOLLOWING", pids[2]), (3, "LEADING", pids[3])]
    text = run("list", str(conf), root=root).stdout
    assert "leader: node 3" in text and re.search(r"^\s+3\s+%d\s+LEADING\s+0x" % pids[3], text, re.M)

    # kill the leader (SIGKILL): 1 and 2 elect 2
    out = run("kill", str(conf), "3", root=root).stdout
    assert "SIGKILL" in out
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ls = listing(conf, root)
        if ls["leader"] == 2:
            break
        time.sleep(0.2)
    assert ls["leader"] == 2, ls
    assert ls["nodes"][2]["state"] == "stopped" and ls["nodes"][2]["pid"] is None

    # restart it: it follows; the directory may be left out now (remembered)
    run("restart", "3", "--wait", "--timeout", "30", root=root)
    ls = listing(conf, root)
    assert ls["leader"] == 2 and ls["nodes"][2]["state"] == "FOLLOWING"
    new_pid = ls["nodes"][2]["pid"]
    assert new_pid != pids[3]

    out = run("stop", str(conf), root=root).stdout
    assert out.count("(SIGTERM)") == 3
    ls = listing(conf, root)
    assert all(n["state"] == "stopped" for n in ls["nodes"])
    for pid in list(pids.values())[:2] + [new_pid]:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_launcher_never_signals_a_pid_it_did_not_start(conf_copy):
    """A state file naming some other process (a recycled PID) is not acted upon."""
    conf, root = conf_copy
    data = root / "data" / "ensemble" / "3-node"
    data.mkdir(parents=True)
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (data / "launcher-state.json").write_text(json.dumps({"nodes": {
            "1": {"pid": victim.pid, "start_time": 1, "cmd": ["x"]}}}))
        out = run("kill", str(conf), "1", root=root).stdout
        assert "not running" in out
        assert victim.poll() is None, "the launcher signalled a process it did not start"
    finally:
        victim.kill()
        victim.wait()


def test_launcher_reports_a_member_that_cannot_start(conf_copy):
    conf, root = conf_copy
    cfg = conf / "node2.cfg"
    cfg.write_text(cfg.read_text() + "noSuchKey=1\n")
    r = run("start", str(conf), root=root, check=False)
    assert r.returncode == 1
    assert "node 2: exited right after start" in r.stderr
    assert "noSuchKey" in r.stderr


def test_shipped_observer_ensemble(tmp_path):
    """conf/ensemble/observers: participants 69, 56, 49 and observers 1, 2 (peerType=observer
    on the observers, ':observer' on their lines everywhere); the launcher starts it and 69
    leads while 1 and 2 observe."""
    files = sorted((CONF / "observers").glob("*.cfg"))
    cfgs = {int(re.search(r"(\d+)", f.stem).group(1)): read_cfg(f) for f in files}
    assert sorted(cfgs) == [1, 2, 49, 56, 69]
    lines = {k: v for k, v in cfgs[69].items() if k.startswith("server.")}
    for sid, cfg in cfgs.items():
        assert {k: v for k, v in cfg.items() if k.startswith("server.")} == lines
        assert cfg["dataDir"] == f"./data/ensemble/observers/node{sid}"
        assert (cfg.get("peerType") == "observer") == (sid in (1, 2))
        assert lines[f"server.{sid}"].split(";")[0].endswith(
            ":observer" if sid in (1, 2) else ":participant")
    ports = {int(p) for v in lines.values() for p in re.findall(r":(\d+)", v)}
    for other in ("3-node", "5-node"):
        other_ports = set()
        for v in read_cfg(CONF / other / "node1.cfg").values():
            other_ports |= {int(p) for p in re.findall(r":(\d+)", v)}
        assert not ports & other_ports, f"the observer ensemble must run beside {other}"

    conf, root = copy_conf("observers", tmp_path, 15)
    try:
        out = run("start", str(conf), "--wait", "--timeout", "40", root=root).stdout
        assert "leader: node 69" in out
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ls = listing(conf, root)
            states = {n["id"]: n["state"] for n in ls["nodes"]}
            if states.get(1) == states.get(2) == "OBSERVING":
                break
            time.sleep(0.2)
        assert ls["leader"] == 69
        assert states == {69: "LEADING", 56: "FOLLOWING", 49: "FOLLOWING",
                          1: "OBSERVING", 2: "OBSERVING"}, states
    finally:
        stop_all(conf, root)
