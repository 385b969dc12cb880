"""(Paddock) paddock-convert moves a data directory between storage plugins without changing
what clients see: a tree built on Paddock/file (creates, sets, deletes, ACLs, sequential nodes,
a live session's ephemerals, several snapshots through a small snapCount) is converted to
sqlite, served identically (every Stat field, zxids included), converted back to file and
served identically again, by Paddock and by Apache ZooKeeper 3.8."""

import subprocess

import pytest
from kazoo.security import READ_ACL_UNSAFE, make_digest_acl

import servers
import trees

AUTH = [("digest", "conv:secret")]
EXTRA = {"snapCount": "10", "maxSessionTimeout": "60000"}


def _convert_tool():
    tool = servers.build_dir() / "bin" / "paddock-convert"
    if not tool.exists():
        pytest.skip(f"{tool} does not exist yet (build the paddock-convert target)")
    return tool


def _convert(frm, to, src, dst):
    plugin_dir = servers.build_dir() / "lib" / "paddock" / "plugins"
    return subprocess.run([str(_convert_tool()), "--from", frm, "--to", to, "--data-dir", str(src),
                           "--out-data-dir", str(dst), "--plugin-dir", str(plugin_dir)],
                          capture_output=True, text=True, timeout=60)


def _build_tree(zk):
    zk.create("/conv", b"c")
    zk.create("/conv/ro", b"r", acl=READ_ACL_UNSAFE)
    zk.create("/conv/mine", b"m", acl=[make_digest_acl("conv", "secret", all=True)])
    seq = [zk.create("/conv/q/n-", str(i).encode() * 10, sequence=True, makepath=True)
           for i in range(40)]
    for path in seq[::3]:
        zk.delete(path)
    for i in range(15):
        zk.set("/conv", str(i).encode())
    zk.create("/conv/eph", b"e", ephemeral=True)
    zk.create("/conv/empty", b"")


@pytest.mark.deadline(150)
def test_convert_file_to_sqlite_and_back(tmp_path, make_server, make_client):
    _convert_tool()
    if servers.unavailable_reason("paddock"):
        pytest.skip(servers.unavailable_reason("paddock"))
    src = make_server("paddock", start=False, storage="file", extra=EXTRA)
    src.start()
    owner = make_client(src, auth_data=AUTH, timeout=60.0)
    _build_tree(owner)
    before = trees.capture(owner)
    src.stop()
    assert len(list((src.data_dir / "version-2").glob("snapshot.*"))) >= 3

    # file -> sqlite
    sq_dir = tmp_path / "as-sqlite"
    out = _convert("file", "sqlite", src.data_dir, sq_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 1 and "converted" in out.stdout, out.stdout
    sq = make_server("paddock", start=False, storage="sqlite", data_dir=sq_dir, port=src.port,
                     extra=EXTRA)
    sq.start()
    reader = make_client(sq, auth_data=AUTH)
    assert trees.differences(before, trees.capture(reader)) == []
    owner.set("/conv/eph", b"session resumed on sqlite")   # the live session carried over
    after_sqlite = trees.capture(reader)
    reader.stop()
    sq.stop()

    # sqlite -> file, served by Paddock and by Apache ZooKeeper
    back_dir = tmp_path / "back-to-file"
    out = _convert("sqlite", "file", sq_dir, back_dir)
    assert out.returncode == 0, out.stderr
    for kind in ("paddock", "zookeeper"):
        if servers.unavailable_reason(kind):
            continue
        srv = make_server(kind, start=False, storage="file" if kind == "paddock" else None,
                          data_dir=back_dir, port=src.port, extra=EXTRA)
        srv.start()
        reader = make_client(srv, auth_data=AUTH)
        assert trees.differences(after_sqlite, trees.capture(reader)) == [], kind
        reader.stop()
        srv.stop()


def test_convert_refuses_a_non_empty_destination_in_one_line(tmp_path):
    _convert_tool()
    src = tmp_path / "src"
    dst = tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (dst / "something").write_text("x")
    out = _convert("file", "sqlite", src, dst)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "expected an empty or new directory" in out.stderr
    out = _convert("file", "sqllite", src, tmp_path / "new")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "sqlite" in out.stderr   # the known names are listed
