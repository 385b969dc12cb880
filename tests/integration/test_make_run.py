"""Paddock-only: the shipped conf/standalone.cfg (what `make run` starts) parses and serves.
It is copied to a temporary directory with clientPort and dataDir replaced (a free port, a
temporary dataDir), clientPortAddress and admin.serverAddress pinned to 127.0.0.1 and
admin.serverPort a free port; every other line is kept. Then `echo ruok | nc 127.0.0.1 <port>`
must answer imok, and `curl` of the AdminServer's /commands/ruok JSON."""

import json
import re
import shutil
import subprocess
import time

import pytest

import servers

CONF = servers.REPO / "conf" / "standalone.cfg"
REPLACED = ("clientPort", "dataDir", "clientPortAddress", "admin.serverAddress", "admin.serverPort")


def _nc_ruok(port):
    r = subprocess.run(["nc", "-q", "1", "-w", "2", servers.HOST, str(port)], input=b"ruok\n",
                       capture_output=True, timeout=10)
    return r.stdout.decode("utf-8", "replace")


@pytest.mark.targets("paddock")
def test_standalone_cfg_serves_ruok(target, make_server, tmp_path):
    if not CONF.exists():
        pytest.skip(f"{CONF} does not exist yet")
    if shutil.which("nc") is None:
        pytest.skip("nc (netcat-openbsd) not installed")
    port = servers.free_port()
    admin_port = servers.free_port()
    work = tmp_path / "make-run"
    work.mkdir()
    kept = []
    for line in CONF.read_text().splitlines():
        key = re.split(r"\s*[=:]", line.strip(), maxsplit=1)[0]
        if not line.strip().startswith(("#", "!")) and key in REPLACED:
            continue
        kept.append(line)
    kept += [f"clientPort={port}", f"dataDir={work / 'data'}", f"clientPortAddress={servers.HOST}",
             f"admin.serverAddress={servers.HOST}", f"admin.serverPort={admin_port}"]
    srv = make_server(target, start=False, port=port, config_text="\n".join(kept) + "\n")
    srv.start(wait=False)
    deadline = time.monotonic() + servers.READY_TIMEOUT["paddock"]
    answer = ""
    while time.monotonic() < deadline:
        assert srv.alive(), f"paddock exited (rc={srv.proc.returncode}):\n{srv.log_tail()}"
        answer = _nc_ruok(port)
        if answer == "imok":
            break
        time.sleep(0.1)  # polling interval while the server starts; no event to wait on
    assert answer == "imok", f"ruok answered {answer!r} (is ruok in 4lw.commands.whitelist?)"

    if shutil.which("curl") is None:
        return
    # The AdminServer starts right after the client port: curl retries a refused connection.
    r = subprocess.run(["curl", "-s", "--max-time", "5", "--retry", "10", "--retry-delay", "1",
                        "--retry-connrefused", f"http://{servers.HOST}:{admin_port}/commands/ruok"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"command": "ruok", "error": None}
