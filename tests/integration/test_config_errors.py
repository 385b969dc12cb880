"""Configuration files. Paddock-only: a bad line (unknown key, malformed number, missing
dataDir) stops start-up within seconds, exit code non-zero, with one stderr line naming the
file, the line number and the key. (ZooKeeper does not qualify: it turns unknown keys into
system properties and answers a bad number with a stack trace, so those tests are Paddock's.)
Both targets: a zoo.cfg written the way people write them (comments, blank lines, spaces
around '=', keys Paddock accepts but may not act on) starts and serves."""

import re
import subprocess

import pytest

import servers
import zkproto

START_LIMIT = 10.0   # seconds a failing start-up may take before we call it hung


def _run_bad_config(tmp_path, lines):
    cfg = tmp_path / "bad-zoo.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    try:
        r = subprocess.run([str(servers.paddock_binary()), str(cfg)], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=START_LIMIT, cwd=tmp_path)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"paddock did not exit within {START_LIMIT}s on a bad config; "
                    f"stderr so far: {e.stderr!r}")
    return cfg, r


def _scrub(text, *known):
    for k in known:
        text = text.replace(str(k), "<...>")
    return text


def _base_lines(tmp_path, port):
    return [
        "# Paddock test configuration",          # line 1
        "",                                        # line 2
        f"dataDir={tmp_path / 'data'}",            # line 3
        f"clientPort={port}",                      # line 4
        "clientPortAddress=127.0.0.1",             # line 5
    ]


BAD_LINES = {
    # name: (offending line, key that must be named)
    "unknown-key": ("tickTme=2000", "tickTme"),
    "bad-number": ("tickTime=abc", "tickTime"),
    "bad-port": ("clientPort=12x", "clientPort"),
    "lone-minus-number": ("maxClientCnxns=-", "maxClientCnxns"),
}


@pytest.mark.targets("paddock")
@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_line_stops_startup(target, tmp_path, case):
    bad, key = BAD_LINES[case]
    port = servers.free_port()
    lines = _base_lines(tmp_path, port)
    if key == "clientPort":
        lines = [l for l in lines if not l.startswith("clientPort=")]
    lines += ["# the next line is wrong", bad]      # the bad line is the last one
    lineno = len(lines)
    cfg, r = _run_bad_config(tmp_path, lines)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0, f"exit code 0 on a bad config; stderr={err!r}"
    err_lines = [l for l in err.splitlines() if l.strip()]
    assert len(err_lines) == 1, f"expected one stderr line, got:\n{err}"
    line = err_lines[0]
    assert cfg.name in line, f"file name missing: {line!r}"
    assert key in line, f"key {key!r} missing: {line!r}"
    rest = _scrub(line, cfg, tmp_path, port, bad, key)
    assert re.search(rf"(?<![\w.]){lineno}(?!\d)", rest), \
        f"line number {lineno} missing: {line!r}"
    # nothing is listening
    with pytest.raises(OSError):
        zkproto.four_letter(servers.HOST, port, "ruok", timeout=1.0)


@pytest.mark.targets("paddock")
def test_missing_datadir_stops_startup(target, tmp_path):
    lines = [l for l in _base_lines(tmp_path, servers.free_port()) if not l.startswith("dataDir")]
    lines.append("tickTime=2000")
    cfg, r = _run_bad_config(tmp_path, lines)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0, err
    err_lines = [l for l in err.splitlines() if l.strip()]
    assert len(err_lines) == 1, f"expected one stderr line, got:\n{err}"
    assert cfg.name in err_lines[0] and "dataDir" in err_lines[0], err_lines[0]


@pytest.mark.targets("paddock")
def test_missing_config_file(target, tmp_path):
    missing = tmp_path / "no-such.cfg"
    r = subprocess.run([str(servers.paddock_binary()), str(missing)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=START_LIMIT)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0
    assert "no-such.cfg" in err


def test_usual_zoo_cfg_is_accepted(target, make_server, tmp_path):
    """Comments, blank lines, spaces around '=', trailing blanks, and the ZooKeeper keys of
    a typical standalone zoo.cfg (some of which a standalone server ignores)."""
    port = servers.free_port()
    work = tmp_path / f"{target}-usual"
    work.mkdir()
    text = "\n".join([
        "# The number of milliseconds of each tick",
        "tickTime = 2000   ",
        "initLimit=10",
        "syncLimit=5",
        "",
        f"dataDir={work / 'data'}",
        f"dataLogDir={work / 'data'}",
        f"clientPort={port}",
        "clientPortAddress=127.0.0.1",
        "maxClientCnxns=60",
        "minSessionTimeout=4000",
        "maxSessionTimeout=40000",
        "autopurge.snapRetainCount=3",
        "autopurge.purgeInterval=0",
        "snapCount=100000",
        "preAllocSize=65536",
        "forceSync=yes",
        "globalOutstandingLimit=1000",
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok, srvr, conf",
        "",
    ])
    srv = make_server(target, start=False, port=port, config_text=text, fourlw="ruok, srvr")
    srv.start()
    assert srv.four_letter("ruok") == "imok"
    conf = srv.four_letter("conf")
    assert f"clientPort={port}\n" in conf and "tickTime=2000\n" in conf
