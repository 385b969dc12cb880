"""Four-letter words: ruok, srvr, stat, mntr, conf, cons, envi, wchs/wchc/wchp, dump, isro,
and the 4lw.commands.whitelist. Formats as ZooKeeper 3.8 prints them. Runs against every
target."""

import re

import pytest

VERSION_LINE = re.compile(r"^Zookeeper version: \S.*, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC$")
SRVR_BODY = [
    r"Latency min/avg/max: \d+/\d+(\.\d+)?(E-?\d+)?/\d+",
    r"Received: \d+",
    r"Sent: \d+",
    r"Connections: \d+",
    r"Outstanding: \d+",
    r"Zxid: 0x[0-9a-f]+",
    r"Mode: standalone",
    r"Node count: \d+",
]
CONN_LINE = re.compile(r"^ /127\.0\.0\.1:(\d+)\[([0-9a-f]+)\]\(queued=\d+,recved=\d+,sent=\d+(,.*)?\)$")


def _field(text, name):
    m = re.search(rf"^{re.escape(name)}: ?(.*)$", text, re.M)
    assert m, f"no {name!r} line in:\n{text}"
    return m.group(1)


def _mntr(srv):
    out = srv.four_letter("mntr")
    assert out.endswith("\n")
    values = {}
    for line in out.splitlines():
        m = re.fullmatch(r"(zk_[^\t]+)\t([^\t]*)", line)
        assert m, f"bad mntr line {line!r}"
        assert m.group(1) not in values, f"duplicate key {m.group(1)}"
        values[m.group(1)] = m.group(2)
    return values


def _kazoo_local_port(client):
    # kazoo keeps its socket on the connection object; only used to find our own cons line
    return client._connection._socket.getsockname()[1]


def test_ruok(server):
    assert server.four_letter("ruok") == "imok"


def test_isro(server):
    assert server.four_letter("isro") == "rw"


def test_srvr(server, zk, base):
    st = zk.set(base, b"x")
    out = server.four_letter("srvr")
    assert out.endswith("\n")
    lines = out.splitlines()
    assert VERSION_LINE.match(lines[0]), lines[0]
    assert len(lines) == 1 + len(SRVR_BODY), out
    for pattern, line in zip(SRVR_BODY, lines[1:]):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert int(_field(out, "Zxid"), 16) >= st.mzxid
    assert int(_field(out, "Connections")) >= 2   # kazoo + this one


def test_stat(server, zk):
    out = server.four_letter("stat")
    lines = out.splitlines()
    assert VERSION_LINE.match(lines[0])
    assert lines[1] == "Clients:"
    blank = lines.index("")
    conns = lines[2:blank]
    assert all(CONN_LINE.match(l) for l in conns), conns
    ports = {int(CONN_LINE.match(l).group(1)) for l in conns}
    assert _kazoo_local_port(zk) in ports
    for pattern, line in zip(SRVR_BODY, lines[blank + 1:]):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert len(lines[blank + 1:]) == len(SRVR_BODY)


def test_mntr(server, zk):
    v = _mntr(server)
    for key in ("zk_version", "zk_server_state", "zk_znode_count", "zk_ephemerals_count",
                "zk_num_alive_connections", "zk_watch_count", "zk_outstanding_requests",
                "zk_packets_received", "zk_packets_sent", "zk_avg_latency", "zk_min_latency",
                "zk_max_latency", "zk_approximate_data_size", "zk_open_file_descriptor_count",
                "zk_max_file_descriptor_count", "zk_global_sessions", "zk_local_sessions",
                "zk_uptime"):
        assert key in v, key
    assert v["zk_server_state"] == "standalone"
    assert "zk_peer_state" not in v   # quorum only
    for key in ("zk_znode_count", "zk_ephemerals_count", "zk_num_alive_connections",
                "zk_watch_count", "zk_global_sessions", "zk_uptime"):
        assert re.fullmatch(r"\d+", v[key]), (key, v[key])
    assert int(v["zk_global_sessions"]) >= 1
    assert re.fullmatch(r"\d+", _field(server.four_letter("srvr"), "Node count"))
    assert int(_field(server.four_letter("srvr"), "Node count")) == int(_mntr(server)["zk_znode_count"])


def test_conf(server):
    out = server.four_letter("conf")
    assert out.endswith("\n")
    pairs = [l.split("=", 1) for l in out.splitlines()]
    keys = [k for k, _ in pairs]
    assert keys == ["clientPort", "secureClientPort", "dataDir", "dataDirSize", "dataLogDir",
                    "dataLogSize", "tickTime", "maxClientCnxns", "minSessionTimeout",
                    "maxSessionTimeout", "clientPortListenBacklog", "serverId"]
    d = dict(pairs)
    assert d["clientPort"] == str(server.port)
    assert d["secureClientPort"] == "-1"
    assert d["dataDir"] == str(server.data_dir / "version-2")
    assert d["dataLogDir"] == str(server.data_dir / "version-2")
    assert d["tickTime"] == "2000"
    assert d["minSessionTimeout"] == "4000" and d["maxSessionTimeout"] == "40000"
    assert d["maxClientCnxns"] == "60"
    assert d["serverId"] == "0"
    assert re.fullmatch(r"\d+", d["dataDirSize"]) and re.fullmatch(r"\d+", d["dataLogSize"])


def test_cons(server, zk):
    out = server.four_letter("cons")
    assert out.endswith("\n\n")
    lines = out.splitlines()[:-1]
    assert all(CONN_LINE.match(l) for l in lines), lines
    mine = [l for l in lines if int(CONN_LINE.match(l).group(1)) == _kazoo_local_port(zk)]
    assert len(mine) == 1
    sid = zk.client_id[0]
    assert re.search(
        rf",sid=0x{sid:x},lop=\w+,est=\d+,to=10000,lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,"
        r"lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)$", mine[0]), mine[0]


def test_envi(server):
    out = server.four_letter("envi")
    lines = out.splitlines()
    assert lines[0] == "Environment:"
    kv = dict(l.split("=", 1) for l in lines[1:])
    for key in ("zookeeper.version", "host.name", "os.name", "os.arch", "os.version",
                "user.name", "user.home", "user.dir"):
        assert key in kv, key
    assert kv["os.name"] == "Linux"


def test_unknown_word_is_ignored(server):
    # not a known command: the 4 bytes are taken as a frame length, which is too big
    assert server.four_letter("xyzw") == ""


def test_watch_session_and_node_reports(target, make_server, make_client):
    """On a fresh server: exact node counts, and what wchs / wchc / wchp / dump / mntr report
    for one session with watches and an ephemeral node."""
    srv = make_server(target)
    fresh = srv.four_letter("srvr")
    assert _field(fresh, "Node count") == "5"   # ZooKeeper counts the root twice ("" and "/")
    assert _field(fresh, "Zxid") == "0x0"
    assert _mntr(srv)["zk_znode_count"] == "5"
    assert srv.four_letter("wchs") == "0 connections watching 0 paths\nTotal watches:0\n"

    zk = make_client(srv)
    sid = zk.client_id[0]
    zk.create("/a", b"data")
    zk.create("/e", b"", ephemeral=True)
    zk.get("/a", watch=lambda e: None)
    zk.exists("/missing", watch=lambda e: None)
    zk.get_children("/a", watch=lambda e: None)

    assert _field(srv.four_letter("srvr"), "Node count") == "7"
    m = _mntr(srv)
    assert (m["zk_znode_count"], m["zk_ephemerals_count"], m["zk_global_sessions"]) == \
        ("7", "1", "1")
    assert m["zk_watch_count"] == "3"    # data watches + child watches

    # wchs / wchc / wchp report the data-watch table only (getData / exists watches)
    assert srv.four_letter("wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
    wchc = srv.four_letter("wchc")
    assert wchc.startswith(f"0x{sid:x}\n") and wchc.endswith("\n\n")
    assert sorted(wchc.splitlines()[1:-1]) == ["\t/a", "\t/missing"]
    wchp = srv.four_letter("wchp")
    assert wchp.endswith("\n\n")
    blocks = wchp[:-2].split("\n")
    assert sorted(zip(blocks[0::2], blocks[1::2])) == \
        [("/a", f"\t0x{sid:x}"), ("/missing", f"\t0x{sid:x}")]

    dump = srv.four_letter("dump")
    assert dump.startswith("SessionTracker dump:\n")
    assert "ephemeral nodes dump:\nSessions with Ephemerals (1):\n" in dump
    assert f"0x{sid:x}:\n\t/e\n" in dump
    assert "Connections dump:\n" in dump
    assert f"sessionId: 0x{sid:x}\n" in dump


@pytest.mark.parametrize("whitelist", ["srvr", None])
def test_whitelist(target, make_server, whitelist):
    """Only whitelisted words are executed; absent key = only srvr (ZooKeeper 3.8 default)."""
    srv = make_server(target, fourlw=whitelist)
    assert "Mode: standalone" in srv.four_letter("srvr")
    for word in ("ruok", "stat", "mntr", "conf", "isro", "dump"):
        assert srv.four_letter(word) == f"{word} is not executed because it is not in the whitelist.\n"


def test_whitelist_list_with_spaces(target, make_server):
    srv = make_server(target, fourlw="srvr, ruok ,mntr")
    assert srv.four_letter("ruok") == "imok"
    assert "zk_server_state\tstandalone" in srv.four_letter("mntr")
    assert srv.four_letter("conf") == "conf is not executed because it is not in the whitelist.\n"
