"""The HTTP admin endpoint: ZooKeeper's AdminServer commands (/commands/<name>, JSON) and
Prometheus metrics (/metrics), fetched with curl as an operator would. Paddock runs with its
admin server on a free 127.0.0.1 port; one test starts Apache ZooKeeper 3.8 with its
AdminServer too and compares the JSON field names of the same commands (not the values).
Also: the off switch (admin.enableServer=false), a port already in use (a warning, and the
client port still serves), and the PrometheusMetricsProvider's own /metrics port."""

import json
import math
import re
import shutil
import socket
import subprocess
import time

import pytest

import servers
from servers import HOST

pytestmark = pytest.mark.skipif(shutil.which("curl") is None,
                                reason="curl not installed (Debian package curl)")

HTTP_READY_TIMEOUT = 30.0


def curl(url, method="GET", timeout=10):
    """(status, headers (lower-case names), body) of one request made by curl."""
    args = ["curl", "-s", "-S", "-i", "--max-time", str(timeout), "-X", method, url]
    if method != "GET":
        args += ["--data", ""]  # an empty body with its Content-Length, as HTTP/1.1 wants
    r = subprocess.run(args, capture_output=True, timeout=timeout + 5)
    if r.returncode != 0:
        raise ConnectionError(f"curl {url}: rc={r.returncode} {r.stderr.decode(errors='replace')}")
    raw = r.stdout.decode("utf-8", "replace")
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def wait_http(url, timeout=HTTP_READY_TIMEOUT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            return curl(url, timeout=3)
        except ConnectionError as e:
            last = e
        time.sleep(0.1)  # polling while the HTTP server starts; nothing to wait on instead
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


def command(port, name, query=""):
    status, headers, body = curl(f"http://{HOST}:{port}/commands/{name}{query}")
    assert status == 200, (name, status, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    return json.loads(body)


def admin_server(make_server, kind, port=None, **extra):
    port = port or servers.free_port()
    keys = {"admin.enableServer": "true", "admin.serverAddress": HOST,
            "admin.serverPort": str(port)}
    keys.update(extra)
    srv = make_server(kind, extra=keys)
    srv.admin_port = port
    wait_http(f"http://{HOST}:{port}/commands/ruok")
    return srv


def traffic(client, base, znodes=0):
    """Writes, reads, an ephemeral and watches of each kind; `znodes` extra creates."""
    client.create(base, b"root")
    client.create(base + "/a", b"x" * 10)
    client.create(base + "/eph", b"", ephemeral=True)
    for i in range(5):
        client.set(base + "/a", b"v%d" % i)
        client.get(base + "/a")
    client.get(base + "/a", watch=lambda e: None)          # data watch
    client.exists(base + "/missing", watch=lambda e: None)  # data watch on a missing node
    client.get_children(base, watch=lambda e: None)        # child watch
    for i in range(znodes):
        client.create(f"{base}/n{i:04d}", b"")


# ------------------------------------------------------------------ Prometheus parsing

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})?'
    r' (?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{family: {"type": t, "samples": [(name, {labels}, value)]}}; asserts the grammar."""
    assert text.endswith("\n")
    families = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in families, f"family {name} declared twice"
            current = families[name] = {"type": None, "samples": []}
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert current is families.get(name), f"TYPE {name} not after its HELP"
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            current["type"] = kind
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"malformed sample line {line!r}"
        fam = next((f for f in families if m["name"] in (f, f + "_bucket", f + "_sum", f + "_count")
                    and families[f] is current), None)
        assert fam is not None, f"{line!r} outside its family"
        labels = dict(LABEL.findall(m["labels"] or ""))
        current["samples"].append((m["name"], labels, float(m["value"])))
    return families


def check_histogram(name, fam):
    """Buckets per series: le increasing, counts cumulative, +Inf last == _count, _sum there."""
    assert fam["type"] == "histogram"
    series = {}
    for sample, labels, value in fam["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sample == name + "_bucket":
            s["buckets"].append((labels["le"], value))
        elif sample == name + "_sum":
            s["sum"] = value
        elif sample == name + "_count":
            s["count"] = value
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        assert les and les[-1] == "+Inf", (name, key, les)
        bounds = [float(le) for le in les[:-1]]
        assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), (name, key, les)
        counts = [v for _, v in s["buckets"]]
        assert counts == sorted(counts), f"{name}{key}: buckets not cumulative: {counts}"
        assert s["count"] == counts[-1], (name, key, s)
        assert s["sum"] is not None and s["sum"] >= 0, (name, key, s)
    return series


def gauge(families, name):
    fam = families[name]
    assert fam["type"] == "gauge", (name, fam["type"])
    assert len(fam["samples"]) == 1
    return fam["samples"][0][2]


# ------------------------------------------------------------------ tests (Paddock)

@pytest.mark.targets("paddock")
def test_commands_answer_json_as_zookeepers_adminserver(target, make_server, make_client):
    srv = admin_server(make_server, target)
    zk = make_client(srv)
    traffic(zk, "/adm")
    sid = zk.client_id[0]
    port = srv.admin_port

    status, headers, listing = curl(f"http://{HOST}:{port}/commands")
    assert status == 200
    names = re.findall(r'<a href="/commands/([a-z_]+)">\1</a>', listing)
    assert names == sorted(names)
    for required in ("configuration", "connection_stat_reset", "connections", "dirs", "dump",
                     "environment", "get_trace_mask", "hash", "is_read_only", "leader",
                     "monitor", "ruok", "server_stats", "set_trace_mask", "stat_reset", "stats",
                     "voting_view", "watch_summary", "watches", "watches_by_path"):
        assert required in names, required

    # Every command answers "command" (its primary name) and "error"; aliases work.
    for alias, primary in [("ruok", "ruok"), ("srvr", "server_stats"), ("stat", "stats"),
                           ("conf", "configuration"), ("cons", "connections"),
                           ("envi", "environment"), ("mntr", "monitor"), ("wchs", "watch_summary"),
                           ("wchc", "watches"), ("wchp", "watches_by_path"), ("dump", "dump"),
                           ("dirs", "dirs"), ("isro", "is_read_only"), ("hash", "hash"),
                           ("gtmk", "get_trace_mask")]:
        j = command(port, alias)
        assert j["command"] == primary, (alias, j)
        assert "error" in j and j["error"] is None, (alias, j)

    ss = command(port, "server_stats")
    assert ss["version"].startswith("3.8.")
    assert ss["read_only"] is False
    st = ss["server_stats"]
    assert st["server_state"] == "standalone"
    assert st["packets_received"] >= 10 and st["packets_sent"] >= 10
    assert st["num_alive_client_connections"] >= 1
    assert st["last_processed_zxid"] > 0
    assert st["client_response_stats"]["max_buffer_size"] >= st["client_response_stats"]["min_buffer_size"] > 0
    assert ss["node_count"] >= 6

    conf = command(port, "configuration")
    assert conf["client_port"] == srv.port
    assert conf["data_dir"] == str(srv.data_dir / "version-2")
    assert conf["tick_time"] == 2000 and conf["server_id"] == 0

    cons = command(port, "connections")["connections"]
    mine = [c for c in cons if c["session_id"] == sid]
    assert len(mine) == 1, cons
    assert mine[0]["packets_received"] >= 10 and mine[0]["session_timeout"] > 0
    assert re.fullmatch(r"127\.0\.0\.1:\d+", mine[0]["remote_socket_address"])
    brief = command(port, "stats")["connections"]
    assert all(set(c) == {"remote_socket_address", "interest_ops", "outstanding_requests",
                          "packets_received", "packets_sent"} for c in brief), brief

    mon = command(port, "monitor")
    assert mon["server_state"] == "standalone"
    assert mon["znode_count"] == int(re.search(r"zk_znode_count\t(\d+)", srv.four_letter("mntr"))[1])
    assert mon["ephemerals_count"] >= 1 and mon["global_sessions"] >= 1
    assert mon["watch_count"] >= 3
    assert mon["cnt_updatelatency"] >= 8 and mon["cnt_readlatency"] >= 6
    assert mon["cnt_fsynctime"] >= 1 and mon["cnt_snapshottime"] >= 1
    assert isinstance(mon["avg_latency"], float)

    ws = command(port, "watch_summary")
    assert ws["num_connections"] >= 1 and ws["num_paths"] >= 2 and ws["num_total_watches"] >= 2
    by_session = command(port, "watches")["session_id_to_watched_paths"]
    assert set(by_session[str(sid)]) >= {"/adm/a", "/adm/missing"}
    by_path = command(port, "watches_by_path")["path_to_session_ids"]
    assert sid in by_path["/adm/a"]

    d = command(port, "dump")
    assert any(sid in ids for ids in d["expiry_time_to_session_ids"].values())
    assert "/adm/eph" in d["session_id_to_ephemeral_paths"][str(sid)]

    dirs = command(port, "dirs")
    assert dirs["datadir_size"] > 0 and dirs["logdir_size"] > 0
    assert command(port, "is_read_only")["read_only"] is False
    env = command(port, "environment")
    assert env["zookeeper.version"] == ss["version"] and "os.name" in env
    assert command(port, "last_snapshot")["timestamp"] > 0
    assert "admin.serverPort=%d" % port in command(port, "initial_configuration")["initial_configuration"]

    # Standalone: leader answers an error, voting_view an empty view, as ZooKeeper does.
    assert command(port, "leader") == {"error": "server is not initialized", "command": "leader"}
    assert command(port, "voting_view")["current_config"] == {}
    assert command(port, "zabstate") == {"voting": False, "zabstate": "", "command": "zabstate",
                                         "error": None}
    assert command(port, "nosuch") == {"command": "nosuch", "error": "Unknown command: nosuch"}

    # The trace mask is shared with gtmk / stmk.
    assert command(port, "set_trace_mask")["error"] == "setTraceMask requires long traceMask argument"
    assert command(port, "set_trace_mask", "?traceMask=123")["tracemask"] == 123
    assert srv.four_letter("gtmk") == "123"
    assert command(port, "get_trace_mask", "")["tracemask"] == 123
    command(port, "stmk", "?traceMask=306")

    # Resets: srst clears the server's counters, crst the connections'.
    assert command(port, "stat_reset")["error"] is None
    assert command(port, "monitor")["cnt_updatelatency"] == 0
    assert command(port, "connection_stat_reset")["error"] is None

    # Not a GET: refused; unknown paths: 404.
    for method in ("POST", "PUT", "DELETE"):
        assert curl(f"http://{HOST}:{port}/commands/ruok", method=method)[0] == 405, method
    assert curl(f"http://{HOST}:{port}/nothing-here")[0] == 404


@pytest.mark.targets("paddock")
def test_metrics_are_well_formed_prometheus_text(target, make_server, make_client):
    srv = admin_server(make_server, target)
    zk = make_client(srv)
    traffic(zk, "/met", znodes=20)
    status, headers, body = curl(f"http://{HOST}:{srv.admin_port}/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    fams = parse_prometheus(body)

    # ZooKeeper's gauges, with sane values after the traffic above (the creates after it fired
    # the child watch; the two data watches remain).
    assert gauge(fams, "znode_count") >= 25
    assert gauge(fams, "watch_count") >= 2
    assert gauge(fams, "ephemerals_count") >= 1
    assert gauge(fams, "global_sessions") >= 1
    assert gauge(fams, "num_alive_connections") >= 1
    assert gauge(fams, "outstanding_requests") >= 0
    assert gauge(fams, "packets_received") >= 30 and gauge(fams, "packets_sent") >= 30
    assert gauge(fams, "approximate_data_size") > 0
    assert gauge(fams, "uptime") > 0
    assert gauge(fams, "open_file_descriptor_count") > 0
    assert 0 <= gauge(fams, "min_latency") <= gauge(fams, "avg_latency") <= gauge(fams, "max_latency")

    # ZooKeeper's summaries.
    for name, quantiles in [("fsynctime", {"0.5"}), ("snapshottime", {"0.5"}),
                            ("readlatency", {"0.5", "0.9", "0.99"}),
                            ("updatelatency", {"0.5", "0.9", "0.99"})]:
        fam = fams[name]
        assert fam["type"] == "summary"
        got = {l["quantile"] for n, l, _ in fam["samples"] if n == name}
        assert got == quantiles, (name, got)
        count = [v for n, _, v in fam["samples"] if n == name + "_count"]
        assert len(count) == 1 and count[0] >= 1, (name, fam)
        for n, l, v in fam["samples"]:
            if n == name:
                assert v >= 0 and not math.isnan(v), (name, l, v)
    updates = [v for n, _, v in fams["updatelatency"]["samples"] if n == "updatelatency_count"][0]
    assert updates >= 28  # 24 creates, 5 setData (and the session)

    # Per-op latency histograms.
    series = check_histogram("paddock_request_latency_ms", fams["paddock_request_latency_ms"])
    counts = {dict(k)["op"]: s["count"] for k, s in series.items()}
    assert counts.get("create", 0) >= 22, counts
    assert counts.get("setData", 0) >= 5, counts
    assert counts.get("getData", 0) >= 6, counts
    assert counts.get("exists", 0) >= 1 and counts.get("getChildren2", counts.get("getChildren", 0)) >= 1
    fsync = check_histogram("paddock_fsync_time_ms", fams["paddock_fsync_time_ms"])
    assert list(fsync.values())[0]["count"] >= 1
    check_histogram("paddock_snapshot_time_ms", fams["paddock_snapshot_time_ms"])
    info = fams["paddock_info"]["samples"][0]
    assert info[2] == 1 and info[1]["zookeeper_version"].startswith("3.8.")

    # /metrics keeps counting across srst (Prometheus counters never go back).
    command(srv.admin_port, "srst")
    fams2 = parse_prometheus(curl(f"http://{HOST}:{srv.admin_port}/metrics")[2])
    series2 = check_histogram("paddock_request_latency_ms", fams2["paddock_request_latency_ms"])
    assert {dict(k)["op"]: s["count"] for k, s in series2.items()}["create"] >= counts["create"]


def _port_refuses(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((HOST, port)) != 0


@pytest.mark.targets("paddock")
def test_enable_server_false_leaves_the_port_closed(target, make_server, make_client):
    port = servers.free_port()
    srv = make_server(target, extra={"admin.enableServer": "false", "admin.serverAddress": HOST,
                                     "admin.serverPort": str(port)})
    zk = make_client(srv)
    zk.create("/off", b"")
    assert _port_refuses(port)
    assert "AdminServer on" not in srv.log_tail(200)


@pytest.mark.targets("paddock")
def test_admin_port_in_use_warns_and_the_client_port_serves(target, make_server, make_client):
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        srv = make_server(target, extra={"admin.enableServer": "true", "admin.serverAddress": HOST,
                                         "admin.serverPort": str(port)})
        zk = make_client(srv)
        zk.create("/busy", b"still serving")
        assert zk.get("/busy")[0] == b"still serving"
        assert srv.four_letter("ruok") == "imok"
        assert re.search(rf"\[warning\] AdminServer: cannot listen on {re.escape(HOST)}:{port} "
                         r"\(Address already in use\); continuing without it", srv.log_tail(200)), \
            srv.log_tail(40)
        assert srv.alive()


@pytest.mark.targets("paddock")
def test_prometheus_provider_port_serves_metrics_only(target, make_server, make_client):
    port = servers.free_port()
    srv = make_server(target, extra={
        "metricsProvider.className": "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "metricsProvider.httpHost": HOST, "metricsProvider.httpPort": str(port)})
    make_client(srv).create("/prom", b"")
    status, headers, body = wait_http(f"http://{HOST}:{port}/metrics")
    assert status == 200
    assert gauge(parse_prometheus(body), "znode_count") >= 5
    assert curl(f"http://{HOST}:{port}/commands/ruok")[0] == 404


# ------------------------------------------------------------------ differential field names

def _shape(value):
    """The field names of a JSON value: dict -> {key: shape}, list -> [shape of first]."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def _names(shape, prefix=""):
    out = set()
    if isinstance(shape, dict):
        for k, v in shape.items():
            out.add(prefix + k)
            out |= _names(v, prefix + k + ".")
    elif isinstance(shape, list) and shape:
        out |= _names(shape[0], prefix + "[].")
    return out


# Maps keyed by data (session ids, paths, expiry times, env keys) rather than field names.
DATA_KEYED = {"expiry_time_to_session_ids", "session_id_to_ephemeral_paths",
              "session_id_to_watched_paths", "path_to_session_ids"}


def _field_names(j):
    return {n for n in _names(_shape(j))
            if not any(n.startswith(k + ".") for k in DATA_KEYED)}


@pytest.mark.deadline(150)
def test_json_field_names_match_zookeeper(make_server, make_client):
    for kind in servers.ALL_TARGETS:
        reason = servers.unavailable_reason(kind)
        if reason:
            pytest.skip(reason)
    if not __import__("os").path.exists("/usr/share/java/servlet-api.jar"):
        pytest.skip("/usr/share/java/servlet-api.jar missing: ZooKeeper's AdminServer cannot load Jetty")
    answers = {}
    for kind in ("zookeeper", "paddock"):
        srv = admin_server(make_server, kind)
        zk = make_client(srv)
        traffic(zk, "/diff", znodes=130)  # > 128 transactions: one digest logged
        port = srv.admin_port
        status, _, listing = curl(f"http://{HOST}:{port}/commands")
        names = re.findall(r'<a href="/commands/([a-z_]+)">', listing)
        answers[kind] = {"_names": names}
        for name in ("server_stats", "stats", "configuration", "connections", "watch_summary",
                     "watches", "watches_by_path", "dump", "dirs", "is_read_only", "hash",
                     "ruok", "leader", "voting_view", "get_trace_mask", "last_snapshot",
                     "zabstate", "initial_configuration", "monitor", "environment",
                     "connection_stat_reset", "nosuch"):
            answers[kind][name] = command(port, name)
        srv.stop()

    zk_, pd = answers["zookeeper"], answers["paddock"]
    # Paddock offers ZooKeeper's commands, less the JVM / observer-master ones it lacks.
    assert set(pd["_names"]) <= set(zk_["_names"]), set(pd["_names"]) - set(zk_["_names"])
    assert set(zk_["_names"]) - set(pd["_names"]) <= {"observers", "observer_connection_stat_reset",
                                                      "system_properties"}
    for name in ("server_stats", "stats", "configuration", "connections", "watch_summary",
                 "watches", "watches_by_path", "dump", "dirs", "is_read_only", "hash", "ruok",
                 "leader", "voting_view", "get_trace_mask", "last_snapshot", "zabstate",
                 "initial_configuration", "connection_stat_reset", "nosuch"):
        assert _field_names(pd[name]) == _field_names(zk_[name]), \
            f"{name}: ZooKeeper {sorted(_field_names(zk_[name]))} Paddock {sorted(_field_names(pd[name]))}"
        assert list(pd[name])[-2:] == list(zk_[name])[-2:], (name, list(pd[name]), list(zk_[name]))
    # monitor: every key Paddock reports is one of ZooKeeper's (ZooKeeper has ~500, mostly JVM
    # and processor internals), and the core ones are in both.
    assert set(pd["monitor"]) <= set(zk_["monitor"]), set(pd["monitor"]) - set(zk_["monitor"])
    for key in ("znode_count", "watch_count", "outstanding_requests", "num_alive_connections",
                "global_sessions", "avg_fsynctime", "cnt_snapshottime", "p99_readlatency",
                "p999_updatelatency", "packets_received", "approximate_data_size"):
        assert key in pd["monitor"] and key in zk_["monitor"], key
    # environment: ZooKeeper's non-JVM keys, plus paddock.version.
    env_zk = {k for k in zk_["environment"] if not k.startswith("java.") and not k.startswith("os.memory")}
    assert set(pd["environment"]) - {"paddock.version"} == env_zk
