"""Apache ZooKeeper 3.8 and Paddock (storage-file) start from each other's dataDir
(spec/disk-formats.md): ZooKeeper writes a varied tree, Paddock started on the same dataDir and
port serves the identical tree (data, every Stat field, ACLs) and keeps a live session's
ephemerals; Paddock writes more, and ZooKeeper started on the dataDir again serves Paddock's
tree. ZooKeeper's own TxnLogToolkit and SnapshotFormatter read every file Paddock wrote."""

import subprocess

import pytest
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_acl, make_digest_acl

import servers
import trees

AUTH = [("digest", "interop:secret")]
SESSION_MS = 60000   # long enough to outlive both restarts
EXTRA = {"maxSessionTimeout": str(SESSION_MS)}


def _need(kind):
    reason = servers.unavailable_reason(kind)
    if reason:
        pytest.skip(reason)


def _write_varied_tree(zk):
    zk.create("/app", b"top")
    zk.create("/app/empty", b"")
    zk.create("/app/binary", bytes(range(256)) * 4)
    zk.create("/app/deep/er/still", b"nested", makepath=True)
    zk.create("/app/ro", b"read only", acl=READ_ACL_UNSAFE)
    zk.create("/app/mine", b"digest only", acl=[make_digest_acl("interop", "secret", all=True)])
    zk.create("/app/mixed", b"", acl=[make_acl("ip", "127.0.0.1", all=True),
                                      make_acl("world", "anyone", read=True)])
    seq = [zk.create("/app/queue/item-", str(i).encode(), sequence=True, makepath=True)
           for i in range(12)]
    zk.delete(seq[4])
    for i in range(5):
        zk.set("/app/binary", bytes([i]) * (100 + i))
    zk.set_acls("/app/empty", READ_ACL_UNSAFE + [make_acl("ip", "10.0.0.1", all=True)])
    zk.create("/app/eph", b"ephemeral", ephemeral=True)
    zk.create("/app/queue/eph-", b"seq ephemeral", ephemeral=True, sequence=True)
    zk.create("/app/gone", b"x")
    zk.delete("/app/gone")


def _tools_read(path, cls):
    out = subprocess.run(["java", "-cp", ":".join(servers.ZK_CLASSPATH.split(":")[:2]), cls,
                          str(path)], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr


@pytest.mark.deadline(200)
def test_datadir_round_trip_zookeeper_paddock_zookeeper(tmp_path, make_server, make_client):
    _need("zookeeper")
    _need("paddock")
    shared = tmp_path / "shared-data"
    zk_srv = make_server("zookeeper", start=False, data_dir=shared, extra=EXTRA)
    pd_srv = make_server("paddock", start=False, data_dir=shared, extra=EXTRA, port=zk_srv.port,
                         storage="file")

    # 1. Apache ZooKeeper writes.
    zk_srv.start()
    owner = make_client(zk_srv, auth_data=AUTH, timeout=SESSION_MS / 1000)
    _write_varied_tree(owner)
    closed = make_client(zk_srv)   # a closeSession txn that deletes ephemerals, in ZooKeeper's log
    closed.create("/app/closed-eph", b"", ephemeral=True)
    closed.stop()
    written_by_zk = trees.capture(owner)
    session_id = owner.client_id[0]
    zk_srv.stop()

    # 2. Paddock on the same dataDir and port: identical tree, the session lives on.
    pd_srv.start()
    reader = make_client(pd_srv, auth_data=AUTH)
    served = trees.capture(reader)
    assert trees.differences(written_by_zk, served) == []
    assert reader.exists("/app/eph").ephemeralOwner == session_id
    assert reader.exists("/app/closed-eph") is None
    owner.set("/app", b"owner session resumed on Paddock")   # the client reconnected
    owner.create("/app/pd-eph", b"made on paddock", ephemeral=True)
    reader.create("/app/from-paddock", b"p")
    reader.create("/app/queue/item-", b"p", sequence=True)
    reader.delete("/app/deep/er/still")
    reader.set_acls("/app/mixed", OPEN_ACL_UNSAFE)
    written_by_paddock = trees.capture(reader)
    reader.stop()
    pd_srv.stop()

    # 3. ZooKeeper reads Paddock's files: the tools, then the server.
    v2 = shared / "version-2"
    logs = sorted(v2.glob("log.*"))
    snaps = sorted(v2.glob("snapshot.*"))
    assert logs and snaps
    for log in logs:
        rc, out = _tools_read(log, "org.apache.zookeeper.server.persistence.TxnLogToolkit")
        assert rc == 0 and "EOF reached after" in out and "CRC" not in out, f"{log}:\n{out}"
    for snap in snaps:
        rc, out = _tools_read(snap, "org.apache.zookeeper.server.SnapshotFormatter")
        assert rc == 0 and "ZNode Details" in out and "Exception" not in out, f"{snap}:\n{out}"

    zk_srv.start()
    again = make_client(zk_srv, auth_data=AUTH)
    assert trees.differences(written_by_paddock, trees.capture(again)) == []
    assert again.exists("/app/pd-eph").ephemeralOwner == session_id
    owner.set("/app", b"and back on ZooKeeper")
    assert again.get("/app")[0] == b"and back on ZooKeeper"
