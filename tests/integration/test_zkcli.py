"""The Java client's shell (Debian's zkCli.sh, unmodified) against both servers: the same
command script must print the same thing, times, zxids and session ids aside."""

import re
import shutil
import subprocess

import pytest

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"

SCRIPT = """\
create /cli hello
get /cli
create /cli/p one
create -s /cli/seq- a
create -s /cli/seq- b
create -e /cli/eph tmp
ls /cli
ls -s /cli
get -s /cli/p
set /cli/p two
get /cli/p
set -v 7 /cli/p three
stat /cli/p
getAcl /cli
setAcl /cli world:anyone:cdrwa
create /cli/p again
get /cli/missing
delete /cli
delete /zookeeper
ls -R /cli
deleteall /cli
ls /
get -w /zookeeper/quota
quit
"""

# zkCli.sh prints one line per command of interest; everything else is JVM/SLF4J noise.
NOISE = re.compile(r"^(SLF4J:|Connecting to|Welcome to ZooKeeper|JLine support|WATCHER::|$)")


def run_script(port, script=SCRIPT):
    proc = subprocess.run([ZKCLI, "-server", f"127.0.0.1:{port}"], input=script.encode(),
                          capture_output=True, timeout=90)
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    return [l for l in out.splitlines() if not NOISE.match(l)]


def normalise(lines):
    zxids = {}

    def zxid(m):
        return m.group(1) + " = Z" + str(zxids.setdefault(m.group(2), len(zxids)))

    out = []
    for l in lines:
        l = re.sub(r"^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$", zxid, l)
        l = re.sub(r"^(ctime|mtime) = .*$", r"\1 = T", l)
        l = re.sub(r"^ephemeralOwner = 0x[0-9a-f]+$", "ephemeralOwner = S", l)
        if l.startswith("WatchedEvent state:SyncConnected type:None"):
            continue
        out.append(l)
    return out


@pytest.fixture
def both(make_server):
    if shutil.which(ZKCLI) is None:
        pytest.skip("zkCli.sh not installed (Debian package zookeeper)")
    return make_server("zookeeper"), make_server("paddock")


def test_zkcli_script_prints_the_same_on_both(both):
    zk, pd = both
    want = normalise(run_script(zk.port))
    got = normalise(run_script(pd.port))
    assert "Created /cli" in want and "hello" in want  # the script really ran
    assert got == want


def test_zkcli_watch_event_is_printed(make_server):
    if shutil.which(ZKCLI) is None:
        pytest.skip("zkCli.sh not installed (Debian package zookeeper)")
    pd = make_server("paddock")
    lines = run_script(pd.port, "create /w v1\nget -w /w\nset /w v2\nquit\n")
    assert "WatchedEvent state:SyncConnected type:NodeDataChanged path:/w" in lines
