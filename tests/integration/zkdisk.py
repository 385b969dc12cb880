"""Writes ZooKeeper 3.8 dataDirs from Python: transaction logs, a fresh-tree snapshot and the
epoch files, byte-exact per /work/shared/spec/disk-formats.md and jute.md section 7, so a test
can give ensemble members precisely chosen histories (e.g. last zxids 0x500000012,
0x500000015 and 0x500000010 in epoch 5) that both Paddock and Apache ZooKeeper load.

Also reads them back (last zxid of a log directory), for checks.
"""

import struct
import zlib
from pathlib import Path

LOG_MAGIC = 0x5A4B4C47   # "ZKLG"
SNAP_MAGIC = 0x5A4B534E  # "ZKSN"
OP_CREATE = 1
OP_SETDATA = 5
PERM_READ = 1
PERM_ALL = 31


def make_zxid(epoch, counter):
    return (epoch << 32) | counter


# ------------------------------------------------------------------ jute

def _int(v):
    return struct.pack("!i", v)


def _long(v):
    return struct.pack("!q", v)


def _buffer(b):
    return _int(-1) if b is None else _int(len(b)) + b


def _ustring(s):
    return _buffer(s.encode())


def _acls(acls):
    out = _int(len(acls))
    for perms, scheme, ident in acls:
        out += _int(perms) + _ustring(scheme) + _ustring(ident)
    return out


OPEN_ACL = [(PERM_ALL, "world", "anyone")]


def txn_header(zxid, op, session=0, cxid=0, time_ms=None):
    if time_ms is None:
        time_ms = 1_700_000_000_000 + (zxid & 0xFFFFFFFF)
    return _long(session) + _int(cxid) + _long(zxid) + _long(time_ms) + _int(op)


def create_txn(zxid, path, data, parent_cversion, session=0x100000000000001, cxid=1,
               ephemeral=False, acls=OPEN_ACL):
    """Txn entry bytes of a create (TxnHeader + CreateTxn, no digest)."""
    return (txn_header(zxid, OP_CREATE, session, cxid) + _ustring(path) + _buffer(data)
            + _acls(acls) + (b"\x01" if ephemeral else b"\x00") + _int(parent_cversion))


def setdata_txn(zxid, path, data, version, session=0x100000000000001, cxid=1):
    """Txn entry bytes of a setData; `version` is the node's version after the change."""
    return txn_header(zxid, OP_SETDATA, session, cxid) + _ustring(path) + _buffer(data) + _int(version)


# ------------------------------------------------------------------ files

def write_log(dir_, txns, pad_to=None):
    """dir_/log.<first zxid> holding `txns` [(zxid, entry bytes)] in order (FileTxnLog format:
    header, {adler32 as long, len, payload, 'B'}, zero padding)."""
    dir_ = Path(dir_)
    dir_.mkdir(parents=True, exist_ok=True)
    body = bytearray(_int(LOG_MAGIC) + _int(2) + _long(0))
    for _, payload in txns:
        body += _long(zlib.adler32(payload) & 0xFFFFFFFF) + _int(len(payload)) + payload + b"B"
    if pad_to and len(body) < pad_to:
        body += bytes(pad_to - len(body))
    path = dir_ / f"log.{txns[0][0]:x}"
    path.write_bytes(bytes(body))
    return path


def _stat(czxid=0, mzxid=0, ctime=0, mtime=0, version=0, cversion=0, aversion=0, owner=0, pzxid=0):
    # StatPersisted: czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid
    return (_long(czxid) + _long(mzxid) + _long(ctime) + _long(mtime) + _int(version)
            + _int(cversion) + _int(aversion) + _long(owner) + _long(pzxid))


def write_fresh_snapshot(dir_, zxid=0):
    """dir_/snapshot.<zxid> holding a fresh tree, as a new ZooKeeper 3.8 server writes it:
    "" (root), /zookeeper, /zookeeper/quota, /zookeeper/config (ACL read-only world:anyone,
    ACL cache key 1), no sessions; seal 1, no digest trailer (readers accept its absence)."""
    dir_ = Path(dir_)
    dir_.mkdir(parents=True, exist_ok=True)
    out = bytearray(_int(SNAP_MAGIC) + _int(2) + _long(-1))
    out += _int(0)                                               # sessions
    out += _int(1) + _long(1) + _acls([(PERM_READ, "world", "anyone")])  # ACL cache
    for path, acl in (("", -1), ("/zookeeper", -1), ("/zookeeper/quota", -1),
                      ("/zookeeper/config", 1)):
        out += _ustring(path) + _buffer(b"") + _long(acl) + _stat()
    out += _ustring("/")
    out += _long(zlib.adler32(bytes(out)) & 0xFFFFFFFF) + _ustring("/")
    path = dir_ / f"snapshot.{zxid:x}"
    path.write_bytes(bytes(out))
    return path


def write_epochs(version2_dir, current, accepted=None):
    d = Path(version2_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "currentEpoch").write_text(str(current))
    (d / "acceptedEpoch").write_text(str(current if accepted is None else accepted))


def history_txns(epoch, last_counter):
    """A linear history in `epoch`: counter 1 creates /hist, counter k >= 2 creates
    /hist/c<k in hex> with data b"txn 0x<zxid>". Returns [(zxid, bytes)] for 1..last_counter."""
    out = []
    for k in range(1, last_counter + 1):
        z = make_zxid(epoch, k)
        if k == 1:
            out.append((z, create_txn(z, "/hist", b"history", parent_cversion=1, cxid=k)))
        else:
            out.append((z, create_txn(z, f"/hist/c{k:02x}", f"txn 0x{z:x}".encode(),
                                      parent_cversion=k - 1, cxid=k)))
    return out


def expected_history_tree(epoch, last_counter):
    """{path: data} of the znodes history_txns(epoch, last_counter) creates."""
    tree = {"/hist": b"history"}
    for k in range(2, last_counter + 1):
        tree[f"/hist/c{k:02x}"] = f"txn 0x{make_zxid(epoch, k):x}".encode()
    return tree


def write_history_datadir(data_dir, myid, epoch, last_counter):
    """A member dataDir: myid, version-2/snapshot.0 (fresh tree), log.<epoch:1> with the
    history up to `last_counter`, currentEpoch = acceptedEpoch = epoch."""
    data_dir = Path(data_dir)
    v2 = data_dir / "version-2"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "myid").write_text(f"{myid}\n")
    write_fresh_snapshot(v2, 0)
    write_log(v2, history_txns(epoch, last_counter))
    write_epochs(v2, epoch)


def last_zxid_in_logs(version2_dir):
    """Highest zxid in the txn logs of a version-2 directory (None if none)."""
    best = None
    for p in sorted(Path(version2_dir).glob("log.*")):
        data = p.read_bytes()
        if data[:4] != struct.pack("!i", LOG_MAGIC):
            continue
        off = 16
        while off + 12 <= len(data):
            _crc, n = struct.unpack_from("!qi", data, off)
            if n <= 0 or off + 12 + n + 1 > len(data):
                break
            z = struct.unpack_from("!q", data, off + 12 + 12)[0]
            best = z if best is None else max(best, z)
            off += 12 + n + 1
    return best
