"""The C client (libzookeeper-mt, through its shell /usr/lib/zookeeper/bin/cli_mt from
Debian's zookeeper-bin) creates, reads and lists nodes. Runs against every target.

cli_mt syntax: `create [+e|+s|+es] <path>` (data is always "new"), `set <path> <data>`,
`get <path>` (sets a data watch), `ls <path>` (sets a child watch), `ls2`, `delete`,
`sync`, `myid`, `quit`. Results are printed asynchronously; see climt.py."""

import re
import subprocess

import pytest
from kazoo.protocol.states import EventType

import climt
from util import Recorder


@pytest.fixture
def cli(server):
    reason = climt.unavailable_reason()
    if reason:
        pytest.skip(reason)
    c = climt.CliMt(server.hosts)
    c.wait_for(r"Got a new session id: 0x[0-9a-f]+", 15)
    yield c
    c.close()


def test_create_get_set_ls_delete(cli, zk, base):
    p = base + "/x"
    mark = cli.mark()
    i, m = cli.run(f"create {p}", rf"^\[{re.escape(p)}\]: rc = (-?\d+)$")
    assert m.group(1) == "0"
    cli.wait_for(rf"^Creating \[{re.escape(p)}\] node \(mode: 0\)$", 1, mark)
    cli.wait_for(rf"^\tname = {re.escape(p)}$", 5, i)
    data, st = zk.get(p)
    assert data == b"new" and st.version == 0   # cli_mt always creates with data "new"

    cli.run(f"set {p} hello", rf"^{re.escape(p)}: rc = 0 Stat:$")
    assert zk.get(p)[0] == b"hello"

    i, _ = cli.run(f"get {p}", rf"^{re.escape(p)}: rc = 0$")
    cli.wait_for(r"^ value_len = 5$", 5, i)
    cli.wait_for(r"^hello$", 5, i)
    cli.wait_for(r"^\tversion=1\taversion=0$", 5, i)
    j, _ = cli.wait_for(r"^\tephemeralOwner = 0$", 5, i)

    zk.create(base + "/y", b"")
    i, _ = cli.run(f"ls {base}", rf"^{re.escape(base)}: rc = 0$")
    j, _ = cli.wait_for(r"^time = \d+ msec$", 5, i + 1)
    assert sorted(cli.output(i + 1, j)) == ["\tx", "\ty"]

    cli.run(f"create {p}", rf"^\[{re.escape(p)}\]: rc = -110$")            # NodeExists
    cli.run(f"get {base}/missing", rf"^{re.escape(base)}/missing: rc = -101$")  # NoNode
    cli.run(f"create {base}/missing/child", rf"^\[{re.escape(base)}/missing/child\]: rc = -101$")
    cli.run(f"delete {base}", rf"^{re.escape(base)}: rc = -111$")          # NotEmpty

    _, m = cli.run(f"create +s {base}/q-", rf"^\tname = ({re.escape(base)}/q-.*)$")
    assert m.group(1) == f"{base}/q-0000000002"
    assert zk.exists(base + "/q-0000000002") is not None

    cli.run(f"delete {p}", rf"^{re.escape(p)}: rc = 0$")
    assert zk.exists(p) is None
    cli.run(f"sync {base}", rf"^\[{re.escape(base)}\]: rc = 0$")


def test_ephemeral_lives_as_long_as_the_cli_session(cli, zk, base):
    _, m = cli.run("myid", r"session Id = ([0-9a-f]+)")
    sid = int(m.group(1), 16)
    p = base + "/eph"
    cli.run(f"create +e {p}", rf"^\[{re.escape(p)}\]: rc = 0$")
    assert zk.exists(p).ephemeralOwner == sid
    _, m = cli.run(f"create +es {base}/es-", rf"^\tname = ({re.escape(base)}/es-.*)$")
    es = m.group(1)
    assert es == f"{base}/es-0000000001"
    assert zk.exists(es).ephemeralOwner == sid
    rec = Recorder()
    zk.exists(p, watch=rec)
    assert cli.quit() == 0
    assert "Quitting..." in cli.output()
    assert rec.wait(1, 10) and rec.summary() == [(EventType.DELETED, p)]
    assert zk.exists(es) is None


def test_cli_watch_fires(cli, zk, base):
    p = base + "/w"
    zk.create(p, b"a")
    cli.run(f"get {p}", r"^\tephemeralOwner = 0$")
    cli.run(f"ls {base}", rf"^{re.escape(base)}: rc = 0$")
    mark = cli.mark()
    zk.set(p, b"b")
    cli.wait_for(rf"^Watcher CHANGED_EVENT state = CONNECTED_STATE for path {re.escape(p)}$",
                 10, mark)
    zk.create(base + "/other", b"")
    cli.wait_for(rf"^Watcher CHILD_EVENT state = CONNECTED_STATE for path {re.escape(base)}$",
                 10, mark)


def test_batch_mode_reads_what_kazoo_wrote(server, zk, base):
    reason = climt.unavailable_reason()
    if reason:
        pytest.skip(reason)
    p = base + "/k"
    zk.create(p, b"from-kazoo")
    zk.create(p + "/c1", b"")
    zk.create(p + "/c2", b"")
    r = subprocess.run([climt.CLI_MT, "-h", server.hosts, "-c", f"get {p}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0, out
    assert f"{p}: rc = 0" in out and "value_len = 10" in out and "\nfrom-kazoo\n" in out
    r = subprocess.run([climt.CLI_MT, "-h", server.hosts, "-c", f"ls {p}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0, out
    assert f"{p}: rc = 0" in out
    assert sorted(l for l in out.splitlines() if l.startswith("\tc")) == ["\tc1", "\tc2"]
