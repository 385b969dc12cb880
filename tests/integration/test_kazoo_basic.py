"""Basic client operations through kazoo (Debian's python3-kazoo, unmodified), plus the
server-side path validation through raw frames (kazoo normalises paths client-side).
Runs against every target (see conftest.py)."""

import pytest
from kazoo.exceptions import (BadArgumentsError, BadVersionError, InvalidACLError,
                              NoChildrenForEphemeralsError, NodeExistsError, NoNodeError,
                              NotEmptyError, RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE

import zkproto

WORLD_ALL = ACL(31, Id("world", "anyone"))


def test_create_get_set_delete_exists_children(zk, base):
    p = base + "/node"
    assert zk.exists(p) is None
    assert zk.create(p, b"hello") == p
    data, stat = zk.get(p)
    assert data == b"hello"
    assert stat.dataLength == 5 and stat.version == 0
    assert zk.exists(p) == stat

    stat2 = zk.set(p, b"world!")
    assert stat2.version == 1 and stat2.dataLength == 6
    assert zk.get(p) == (b"world!", stat2)

    zk.create(p + "/c1", b"1")
    zk.create(p + "/c2", b"22")
    assert sorted(zk.get_children(p)) == ["c1", "c2"]
    children, pstat = zk.get_children(p, include_data=True)
    assert sorted(children) == ["c1", "c2"]
    assert pstat == zk.exists(p)
    assert pstat.numChildren == 2

    with pytest.raises(NotEmptyError):
        zk.delete(p)
    zk.delete(p + "/c1")
    zk.delete(p + "/c2")
    zk.delete(p)
    assert zk.exists(p) is None
    assert zk.get_children(base) == []


def test_stat_fields_after_create_and_set(zk, base):
    p = base + "/s"
    zk.create(p, b"abc")
    _, st = zk.get(p)
    assert (st.version, st.cversion, st.aversion) == (0, 0, 0)
    assert st.dataLength == 3 and st.numChildren == 0 and st.ephemeralOwner == 0
    assert st.czxid == st.mzxid == st.pzxid
    assert st.czxid > 0
    assert st.ctime == st.mtime and st.ctime > 0

    st2 = zk.set(p, b"")
    assert st2.mzxid > st.mzxid
    assert st2.czxid == st.czxid and st2.ctime == st.ctime
    assert st2.mtime >= st.mtime
    assert st2.version == 1 and st2.dataLength == 0
    assert st2.pzxid == st.pzxid  # data changes do not touch pzxid

    st3 = zk.set(p, b"xyz", version=1)
    assert st3.version == 2 and st3.mzxid > st2.mzxid


def test_pzxid_and_cversion_track_children(zk, base):
    p = base + "/parent"
    zk.create(p)
    st0 = zk.exists(p)
    zk.create(p + "/a")
    st1 = zk.exists(p)
    a_stat = zk.exists(p + "/a")
    assert st1.pzxid == a_stat.czxid > st0.pzxid
    assert st1.cversion == 1 and st1.numChildren == 1
    assert st1.mzxid == st0.mzxid and st1.version == 0  # child changes are not data changes

    zk.create(p + "/b")
    zk.create(p + "/c")
    zk.delete(p + "/b")
    st2 = zk.exists(p)
    assert st2.pzxid > st1.pzxid
    # cversion counts child creations and deletions: 3 creates + 1 delete
    assert st2.cversion == 4 and st2.numChildren == 2
    # the delete's zxid is the latest one on the parent
    assert st2.pzxid > zk.exists(p + "/c").czxid


def test_sequential_names(zk, base):
    p = base + "/seq"
    zk.create(p)
    names = [zk.create(p + "/n-", b"", sequence=True) for _ in range(3)]
    assert names == [p + "/n-0000000000", p + "/n-0000000001", p + "/n-0000000002"]
    # deletes do not reuse numbers: the counter is the number of children ever created
    zk.delete(names[1])
    zk.delete(names[2])
    assert zk.create(p + "/n-", b"", sequence=True) == p + "/n-0000000003"
    # non-sequential creates advance the same counter
    zk.create(p + "/plain")
    assert zk.create(p + "/", b"", sequence=True) == p + "/0000000005"
    assert zk.create(p + "/x", b"", sequence=True) == p + "/x0000000006"
    assert sorted(zk.get_children(p)) == sorted(
        ["n-0000000000", "n-0000000003", "plain", "0000000005", "x0000000006"])


def test_ephemeral_and_ephemeral_sequential(zk, base):
    session_id = zk.client_id[0]
    e = zk.create(base + "/eph", b"e", ephemeral=True)
    st = zk.exists(e)
    assert st.ephemeralOwner == session_id != 0
    es = zk.create(base + "/eseq-", b"", ephemeral=True, sequence=True)
    assert es == base + "/eseq-0000000001"
    assert zk.exists(es).ephemeralOwner == session_id
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(e + "/child")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(e + "/child-", sequence=True)
    # persistent nodes have no owner
    assert zk.exists(base).ephemeralOwner == 0


def test_error_codes(zk, base):
    p = base + "/e"
    zk.create(p, b"v0")
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=3)
    with pytest.raises(BadVersionError):
        zk.delete(p, version=1)
    with pytest.raises(NodeExistsError):
        zk.create(p)
    with pytest.raises(NoNodeError):
        zk.get(base + "/missing")
    with pytest.raises(NoNodeError):
        zk.set(base + "/missing", b"")
    with pytest.raises(NoNodeError):
        zk.delete(base + "/missing")
    with pytest.raises(NoNodeError):
        zk.get_children(base + "/missing")
    with pytest.raises(NoNodeError):
        zk.create(base + "/missing/child")
    with pytest.raises(NoNodeError):
        zk.get_acls(base + "/missing")
    zk.create(p + "/kid")
    with pytest.raises(NotEmptyError):
        zk.delete(p)
    # failed writes changed nothing
    data, st = zk.get(p)
    assert data == b"v0" and st.version == 0 and st.numChildren == 1
    zk.delete(p + "/kid", version=0)
    zk.delete(p, version=0)


# Paths sent as raw frames (kazoo would normalise or refuse them before sending). The parent
# `base` exists. ZooKeeper checks that the parent exists before validating the full path, so
# paths whose parent string does not name a node get NONODE, not BADARGUMENTS.
INVALID_CREATE_PATHS = [
    ("{b}/", zkproto.BADARGUMENTS),
    ("{b}/.", zkproto.BADARGUMENTS),
    ("{b}/..", zkproto.BADARGUMENTS),
    ("{b}//x", zkproto.NONODE),
    ("{b}/./x", zkproto.NONODE),
    ("{b}/x/", zkproto.NONODE),
    ("noslash", zkproto.BADARGUMENTS),
    ("", zkproto.BADARGUMENTS),
    ("{b}/a\x00b", zkproto.BADARGUMENTS),
    ("{b}/a\x01b", zkproto.BADARGUMENTS),
    ("{b}/a\x1fb", zkproto.BADARGUMENTS),
    ("{b}/a\x7fb", zkproto.BADARGUMENTS),
    ("{b}/a\x9fb", zkproto.BADARGUMENTS),
    ("{b}/\ue000", zkproto.BADARGUMENTS),
    ("{b}/\uf8ff", zkproto.BADARGUMENTS),
    ("{b}/\ufff0", zkproto.BADARGUMENTS),
    ("{b}/\uffff", zkproto.BADARGUMENTS),
    ("/zookeeper/", zkproto.BADARGUMENTS),
]
VALID_ODD_PATHS = ["{b}/a\xa0b", "{b}/\uf900", "{b}/\xe9t\xe9", "{b}/...", "{b}/.x", "{b}/a b"]


def test_server_side_path_validation(server, zk, base, make_raw):
    raw = make_raw(server)
    got = []
    for tmpl, _ in INVALID_CREATE_PATHS:
        path = tmpl.format(b=base)
        err, _res = raw.create(path, b"x")
        got.append((tmpl, err))
    assert got == [(t, e) for t, e in INVALID_CREATE_PATHS]
    for tmpl in VALID_ODD_PATHS:
        path = tmpl.format(b=base)
        assert raw.create(path, b"x") == (zkproto.OK, path)
    # nothing invalid was created
    assert sorted(zk.get_children(base)) == sorted(t.format(b="")[1:] for t in VALID_ODD_PATHS)
    # reads do not validate: an unparsable path is simply not found
    assert raw.get_data(base + "//x")[0] == zkproto.NONODE
    assert raw.exists(base + "/")[0] == zkproto.NONODE


def test_reserved_nodes(zk):
    assert zk.exists("/zookeeper") is not None
    assert zk.exists("/zookeeper/quota") is not None
    assert "quota" in zk.get_children("/zookeeper")
    for p in ("/zookeeper", "/zookeeper/quota", "/"):
        with pytest.raises(BadArgumentsError):
            zk.delete(p)
    assert zk.exists("/zookeeper/quota") is not None


def test_acl_world_anyone(server, zk, base, make_raw):
    p = base + "/acl"
    zk.create(p, b"d")
    acls, st = zk.get_acls(p)
    assert acls == [WORLD_ALL]
    assert st.aversion == 0 and st == zk.exists(p)

    st1 = zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
    assert st1.aversion == 1
    assert st1.version == 0 and st1.mzxid == st.mzxid  # setACL is not a data change
    with pytest.raises(BadVersionError):
        zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
    st2 = zk.set_acls(p, OPEN_ACL_UNSAFE)  # -1 matches any aversion
    assert st2.aversion == 2
    with pytest.raises(InvalidACLError):
        zk.set_acls(p, [])
    # kazoo replaces an empty ACL list on create by its default, so send that one raw
    raw = make_raw(server)
    assert raw.create(p + "/noacl", b"", acls=[]) == (zkproto.INVALIDACL, None)
    assert raw.create(p + "/badscheme", b"", acls=[(31, "nosuchscheme", "x")]) == \
        (zkproto.INVALIDACL, None)
    assert raw.set_acl(p, [(31, "nosuchscheme", "x")]) == (zkproto.INVALIDACL, None)
    assert zk.exists(p + "/noacl") is None and zk.exists(p + "/badscheme") is None
    with pytest.raises(NoNodeError):
        zk.set_acls(base + "/missing", OPEN_ACL_UNSAFE)
    acls, st3 = zk.get_acls(p)
    assert acls == [WORLD_ALL] and st3.aversion == 2


def test_sync(zk, base):
    assert zk.sync(base) == base
    assert zk.sync("/") == "/"


def test_transaction_success(zk, base):
    p = base + "/tx"
    zk.create(p, b"orig")
    t = zk.transaction()
    t.create(p + "/a", b"A")
    t.create(p + "/a/b", b"B")            # sees the effect of the previous op
    t.set_data(p, b"changed", version=0)
    t.check(p, 1)                          # sees the set above
    t.create(p + "/s-", b"", sequence=True)
    t.delete(p + "/a/b")
    results = t.commit()
    assert len(results) == 6
    assert results[0] == p + "/a" and results[1] == p + "/a/b"
    assert isinstance(results[2], ZnodeStat) and results[2].version == 1
    assert results[3] is True
    assert results[4] == p + "/s-0000000001"
    assert results[5] is True
    assert zk.get(p)[0] == b"changed"
    assert sorted(zk.get_children(p)) == ["a", "s-0000000001"]
    # all ops of a multi share one zxid
    assert zk.exists(p + "/a").czxid == results[2].mzxid == zk.exists(p).pzxid


@pytest.mark.parametrize("fail_at", [0, 1, 2])
def test_transaction_failure_is_all_or_nothing(zk, base, fail_at):
    p = base + "/tx"
    zk.create(p, b"orig")
    before = zk.exists(p)
    t = zk.transaction()
    ops = [
        lambda: t.create(p + "/a", b"A"),
        lambda: t.set_data(p, b"new"),
        lambda: t.create(p + "/b", b"B"),
    ]
    failing = {
        0: lambda: t.delete(base + "/missing"),      # NoNode
        1: lambda: t.check(p, 7),                    # BadVersion
        2: lambda: t.create(p + "/a", b"dup"),       # NodeExists (created by op 0)
    }
    expected_error = {0: NoNodeError, 1: BadVersionError, 2: NodeExistsError}[fail_at]
    for i, op in enumerate(ops):
        if i == fail_at:
            failing[fail_at]()
        op()
    results = t.commit()
    assert len(results) == 4
    for i, r in enumerate(results):
        if i < fail_at:
            assert isinstance(r, RolledBackError), results
        elif i == fail_at:
            assert type(r) is expected_error, results
        else:
            assert isinstance(r, RuntimeInconsistency), results
    # nothing happened
    assert zk.get(p) == (b"orig", before)
    assert zk.get_children(p) == []


def test_null_and_empty_data(zk, base):
    zk.create(base + "/null", None)
    zk.create(base + "/empty", b"")
    data, st = zk.get(base + "/null")
    assert data is None and st.dataLength == 0
    data, st = zk.get(base + "/empty")
    assert data == b"" and st.dataLength == 0
    zk.set(base + "/empty", None)
    assert zk.get(base + "/empty")[0] is None
    zk.set(base + "/null", b"")
    assert zk.get(base + "/null")[0] == b""


def test_large_data_roundtrip(zk, base):
    blob = bytes(range(256)) * 3900  # 998,400 bytes: below jute.maxbuffer (1 MiB - 1)
    zk.create(base + "/big", blob)
    data, st = zk.get(base + "/big")
    assert data == blob and st.dataLength == len(blob)
