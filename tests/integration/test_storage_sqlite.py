"""(Paddock) A quick tour of the sqlite storage plugin through a real client: CRUD, sequential,
ephemeral and ACL'd nodes, snapshots taken along the way (small snapCount), then a graceful
restart and a SIGKILL restart serve the identical tree, Stat fields and ACLs, and the
ephemeral's session is resumed."""

import pytest
from kazoo.security import make_digest_acl, READ_ACL_UNSAFE

import trees

AUTH = [("digest", "sq:secret")]


@pytest.mark.deadline(90)
def test_sqlite_storage_serves_the_same_tree_after_restarts(make_server, make_client):
    srv = make_server("paddock", storage="sqlite",
                      extra={"snapCount": "20", "maxSessionTimeout": "60000"})
    zk = make_client(srv, auth_data=AUTH, timeout=30.0)
    zk.create("/sq", b"root")
    zk.create("/sq/empty", b"")
    zk.create("/sq/bin", bytes(range(256)))
    zk.create("/sq/ro", b"read only", acl=READ_ACL_UNSAFE)
    zk.create("/sq/mine", b"digest", acl=[make_digest_acl("sq", "secret", all=True)])
    seq = [zk.create("/sq/seq-", str(i).encode(), sequence=True)
           for i in range(30)]   # several snapshots (snapCount 20)
    zk.set("/sq/bin", b"changed")
    zk.delete(seq[3])
    eph = zk.create("/sq/eph", b"e", ephemeral=True)
    session_id = zk.client_id[0]
    before = trees.capture(zk, "/sq")
    assert (srv.data_dir / "paddock-log.sqlite").exists()
    assert (srv.data_dir / "paddock-snapshots.sqlite").exists()
    assert not (srv.data_dir / "version-2").exists()

    for restart in (srv.stop, srv.kill9):
        restart()
        srv.start()
        reader = make_client(srv, auth_data=AUTH)
        after = trees.capture(reader, "/sq")
        assert trees.differences(before, after) == []
        assert reader.exists(eph).ephemeralOwner == session_id
        reader.stop()
    zk.set("/sq", b"still the same session")   # the session resumed on the restarted server
    assert zk.get("/sq")[0] == b"still the same session"
