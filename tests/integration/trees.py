"""Capture a whole znode tree through a client, to compare what two servers (or one server
before and after a restart) serve: every node's data, full Stat and ACL list."""

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def capture(client, root="/"):
    """{path: (data, {stat field: value}, [(perms, scheme, id), ...])} for root and below."""
    out = {}
    pending = [root]
    while pending:   # bounded by the tree's size
        path = pending.pop()
        data, stat = client.get(path)
        acls, _ = client.get_acls(path)
        out[path] = (data, {f: getattr(stat, f) for f in STAT_FIELDS},
                     sorted((a.perms, a.id.scheme, a.id.id) for a in acls))
        for child in client.get_children(path):
            pending.append(path.rstrip("/") + "/" + child)
    return out


def differences(a, b, limit=20):
    """Human-readable differences between two captures (empty when identical)."""
    diffs = []
    for path in sorted(set(a) | set(b)):
        if path not in a or path not in b:
            diffs.append(f"{path}: only in {'second' if path not in a else 'first'}")
        elif a[path] != b[path]:
            da, sa, aa = a[path]
            db, sb, ab = b[path]
            if da != db:
                diffs.append(f"{path}: data {da!r} != {db!r}")
            for f in STAT_FIELDS:
                if sa[f] != sb[f]:
                    diffs.append(f"{path}: {f} {sa[f]:#x} != {sb[f]:#x}")
            if aa != ab:
                diffs.append(f"{path}: acl {aa} != {ab}")
        if len(diffs) >= limit:
            break
    return diffs
