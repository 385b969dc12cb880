"""paddock-bench (tools/paddock-bench): tiny, bounded runs of every mode against a Paddock the
test (or the tool) starts, checking that the JSON lines are well-formed with sane numbers and
that a PNG is written. Real figures come from real runs (docs/benchmarks.md), not from here."""

import json
import math
import os
import subprocess

import pytest

import servers

CONF = servers.REPO / "conf" / "standalone.cfg"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bench_binary():
    return servers.build_dir() / "bin" / "paddock-bench"


@pytest.fixture
def bench(tmp_path):
    """Runs paddock-bench with a work dir under tmp_path; returns (returncode, stdout, stderr)."""
    binary = bench_binary()
    if not binary.exists():
        pytest.skip(f"{binary} not built (tools/paddock-bench needs libzookeeper-mt-dev)")
    if servers.unavailable_reason("paddock"):
        pytest.skip(servers.unavailable_reason("paddock"))

    def run(*args, timeout=45):
        cmd = [str(binary), *map(str, args), "--work-dir", str(tmp_path / "work")]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=servers.REPO)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    return run


def read_jsonl(path):
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    return [json.loads(line) for line in lines]  # each line must be one JSON object


def assert_png(path):
    assert path.exists(), f"no plot written at {path}"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000, f"{path} is not a plausible PNG"


def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def assert_latency(lat):
    for k in ("p50", "p90", "p99", "p999", "mean", "max"):
        assert finite(lat[k]) and lat[k] > 0, lat
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"] * 1.02, lat
    assert lat["max"] < 30e6, lat  # microseconds: nothing took 30 s


def assert_run(rec, count=None):
    assert rec["type"] == "run", rec
    assert rec["errors"] == 0, rec
    assert "aborted" not in rec, rec
    assert rec["ops"] > 0 and rec["elapsed_s"] > 0, rec
    assert finite(rec["ops_per_s"]) and rec["ops_per_s"] > 0, rec
    if count is not None:
        assert rec["ops"] == count, rec  # the count bound is exact
    assert_latency(rec["latency_us"])
    assert finite(rec["server_cpu_us_per_op"]) and rec["server_cpu_us_per_op"] >= 0, rec
    assert rec["server_rss_kb"] > 1000, rec


# ------------------------------------------------------------------ storage mode

def test_storage_file_and_unknown_backend(bench, tmp_path):
    out, png = tmp_path / "storage.jsonl", tmp_path / "storage.png"
    rc, stdout, stderr = bench("storage", "--backends", "file,nosuch", "--txns", 300, "--size", 100,
                               "--group", 10, "--nodes", 300, "--json", out, "--plot", png)
    assert rc == 3, f"an unavailable backend must make the exit code 3\n{stdout}\n{stderr}"
    recs = {r["backend"]: r for r in read_jsonl(out)}
    f = recs["file"]
    assert f["type"] == "run" and f["fsync"] is True
    assert f["recovered_txns"] == 300 and f["recovered_nodes"] == 304, f
    assert f["commits"] == 30 and f["log_bytes"] > 300 * 100, f
    assert finite(f["txns_per_s"]) and f["txns_per_s"] > 0 and f["mb_per_s"] > 0, f
    assert f["snapshot_bytes"] > 300 * 100 and f["snapshot_s"] > 0 and f["recovery_s"] > 0, f
    assert_latency(f["commit_latency_us"])
    bad = recs["nosuch"]
    assert bad["type"] == "unavailable" and "nosuch" in bad["error"] and "known:" in bad["error"], bad
    assert "nosuch" in stdout and "NOT AVAILABLE" in stdout
    assert_png(png)


def test_storage_sqlite_when_built(bench, tmp_path):
    plugin = servers.build_dir() / "lib" / "paddock" / "plugins" / "paddock-storage-sqlite.so"
    if not plugin.exists():
        pytest.skip(f"{plugin} not built")
    out = tmp_path / "sqlite.jsonl"
    rc, stdout, stderr = bench("storage", "--backends", "sqlite", "--txns", 200, "--nodes", 200,
                               "--json", out)
    recs = read_jsonl(out)
    assert rc == 0, f"{stdout}\n{stderr}\n{recs}"
    assert recs[0]["recovered_txns"] == 200 and recs[0]["recovered_nodes"] == 204, recs


# ------------------------------------------------------------------ server mode

@pytest.mark.targets("paddock")
def test_server_mode_every_op(target, make_server, bench, tmp_path):
    srv = make_server("paddock")
    out, png = tmp_path / "server.jsonl", tmp_path / "server.png"
    workloads = "create,setData,getData,exists,delete,mixed"
    rc, stdout, stderr = bench("server", "--target", srv.hosts, "--server-pid", srv.proc.pid,
                               "--workloads", workloads, "--mix", "read=80,write=10,create=10",
                               "--count", 200, "--duration", 5, "--warmup", 0, "--connections", 2,
                               "--outstanding", 4, "--keys", 50, "--json", out, "--plot", png)
    assert rc == 0, f"{stdout}\n{stderr}"
    recs = read_jsonl(out)
    assert [r["workload"] for r in recs] == workloads.split(",")
    for r in recs:
        assert r["mode"] == "server" and r["connections"] == 2 and r["outstanding"] == 4
        assert_run(r, count=200)
    mixed = recs[-1]
    assert set(mixed["per_op"]) == {"getData", "setData", "create"}, mixed
    assert sum(v["ops"] for v in mixed["per_op"].values()) == 200
    assert_png(png)
    assert srv.alive(), "the tool must not stop a server it did not start"


@pytest.mark.targets("paddock")
def test_server_mode_time_bound_and_pid_by_port(target, make_server, bench, tmp_path):
    srv = make_server("paddock")
    out = tmp_path / "timed.jsonl"
    rc, stdout, stderr = bench("server", "--target", srv.hosts, "--op", "getData",
                               "--count", "10m", "--duration", 0.5, "--warmup", 0,
                               "--connections", 2, "--json", out)
    assert rc == 0, f"{stdout}\n{stderr}"
    (rec,) = read_jsonl(out)
    assert_run(rec)
    assert rec["elapsed_s"] < 3, rec  # stopped by time, not by the 10 M count
    assert f"PID {srv.proc.pid}" in stdout, stdout  # found through /proc/net/tcp


# ------------------------------------------------------------------ memory mode

def test_memory_mode_restarts_a_server_it_started(bench, tmp_path):
    if not CONF.exists():
        pytest.skip(f"{CONF} missing")
    out, png = tmp_path / "memory.jsonl", tmp_path / "memory.png"
    rc, stdout, stderr = bench("memory", "--target", f"paddock:{CONF}", "--znodes", 500,
                               "--connections", 2, "--json", out, "--plot", png)
    assert rc == 0, f"{stdout}\n{stderr}"
    (rec,) = read_jsonl(out)
    assert rec["znodes"] == 500 and rec["creates_per_s"] > 0, rec
    assert finite(rec["rss_per_znode_bytes"]), rec
    assert rec["rss_after_kb"] > 1000, rec
    for k in ("restart_to_first_read_after_sigterm_s", "restart_to_first_read_after_sigkill_s"):
        assert 0 < rec[k] < 20, rec
    assert rec["snapshot_bytes"] > 500 * 100, rec  # the snapshot holds the loaded znodes
    assert_png(png)


# ------------------------------------------------------------------ compare mode

def test_compare_paddock_vs_paddock(bench, tmp_path):
    if not CONF.exists():
        pytest.skip(f"{CONF} missing")
    out, png = tmp_path / "compare.jsonl", tmp_path / "compare.png"
    rc, stdout, stderr = bench("compare", "--a", f"paddock:{CONF}", "--b", f"paddock:{CONF}",
                               "--workloads", "setData,getData", "--rounds", 2, "--count", 200,
                               "--duration", 5, "--warmup", 0.2, "--connections", 2,
                               "--outstanding", 4, "--json", out, "--plot", png)
    assert rc == 0, f"{stdout}\n{stderr}"
    recs = read_jsonl(out)
    runs = [r for r in recs if r["type"] == "run"]
    ratios = [r for r in recs if r["type"] == "ratio"]
    medians = [r for r in recs if r["type"] == "median_ratio"]
    assert len(runs) == 8 and len(ratios) == 4 and len(medians) == 2, recs
    # alternation: per round and workload, A then B
    assert [r["side"] for r in runs] == ["A", "B"] * 4
    for r in runs:
        assert_run(r, count=200)
    for r in ratios + medians:
        for k in ("ops_per_s", "p50", "p99", "server_cpu_per_op"):
            assert r[k] is None or (finite(r[k]) and r[k] >= 0), r
        assert finite(r["ops_per_s"]), r
    assert {m["workload"] for m in medians} == {"setData", "getData"}
    assert "median ratios A/B" in stdout
    assert_png(png)


# ------------------------------------------------------------------ native client, TLS

MAKE_CERTS = servers.REPO / "tools" / "make-test-certs.sh"
TLS_CONF = servers.REPO / "conf" / "tls.cfg"


@pytest.fixture
def tls_config(tmp_path):
    """conf/tls.cfg with throwaway certificates (absolute paths); returns (config, certs dir)."""
    if not (servers.build_dir() / "lib" / "paddock" / "plugins" / "paddock-transport-tls.so").exists():
        pytest.skip("paddock-transport-tls.so not built")
    certs = tmp_path / "certs"
    subprocess.run([str(MAKE_CERTS), str(certs), "2"], check=True, capture_output=True, timeout=60)
    text = TLS_CONF.read_text()
    text = text.replace("certs/server.pem", str(certs / "server.pem"))
    text = text.replace("certs/ca.pem", str(certs / "ca.pem"))
    cfg = tmp_path / "tls.cfg"
    cfg.write_text(text)
    return cfg, certs


@pytest.mark.targets("paddock")
def test_native_client_every_op(target, make_server, bench, tmp_path):
    srv = make_server("paddock")
    out = tmp_path / "native.jsonl"
    workloads = "create,setData,getData,exists,delete,mixed"
    rc, stdout, stderr = bench("server", "--target", srv.hosts, "--client", "native",
                               "--workloads", workloads, "--mix", "read=80,write=10,create=10",
                               "--count", 200, "--duration", 5, "--warmup", 0.2, "--connections", 2,
                               "--outstanding", 4, "--keys", 50, "--json", out, timeout=120)
    assert rc == 0, f"{stdout}\n{stderr}"
    recs = read_jsonl(out)
    assert [r["workload"] for r in recs] == workloads.split(",")
    for r in recs:
        assert r["client"] == "native" and r["tls"] is False, r
        assert_run(r, count=200)
    assert srv.alive()


def test_compare_tcp_vs_tls_port_of_one_paddock(bench, tls_config, tmp_path):
    cfg, certs = tls_config
    out, png = tmp_path / "tls.jsonl", tmp_path / "tls.png"
    rc, stdout, stderr = bench("compare", "--a", f"paddock:{cfg}", "--b", f"tls://paddock:{cfg}",
                               "--tls-ca", certs / "ca.pem", "--tls-cert", certs / "client-cert.pem",
                               "--tls-key", certs / "client-key.pem",
                               "--workloads", "setData,getData", "--rounds", 2, "--count", 200,
                               "--duration", 5, "--warmup", 0.2, "--connections", 2,
                               "--outstanding", 4, "--json", out, "--plot", png, timeout=120)
    assert rc == 0, f"{stdout}\n{stderr}"
    assert "one server" in stdout, stdout
    recs = read_jsonl(out)
    runs = [r for r in recs if r["type"] == "run"]
    medians = [r for r in recs if r["type"] == "median_ratio"]
    assert len(runs) == 8 and len(medians) == 2, recs
    assert [r["side"] for r in runs] == ["A", "B"] * 4
    for r in runs:
        assert r["client"] == "native", r  # one client for both sides
        assert r["tls"] is (r["side"] == "B"), r
        assert_run(r, count=200)
    assert runs[0]["target"] != runs[1]["target"] and runs[1]["target"].startswith("B tls://"), runs[:2]
    for m in medians:
        assert finite(m["ops_per_s"]) and m["ops_per_s"] > 0, m
    assert_png(png)


def test_tls_refusals_are_one_line(bench, tls_config):
    cfg, certs = tls_config
    # The C client has no TLS.
    rc, _, stderr = bench("server", "--target", f"tls://paddock:{cfg}", "--client", "c", "--count", 10)
    assert rc == 2 and "native" in stderr, stderr
    # The server needs a client certificate (ssl.clientAuth=need).
    rc, _, stderr = bench("server", "--target", f"tls://paddock:{cfg}", "--tls-ca", certs / "ca.pem",
                          "--count", 10, "--warmup", 0, timeout=60)
    assert rc == 2 and "tls://127.0.0.1:" in stderr, stderr
    # A config without a secureClientPort has no TLS port to drive.
    rc, _, stderr = bench("server", "--target", f"tls://paddock:{CONF}", "--count", 10)
    assert rc == 2 and "secureClientPort" in stderr, stderr


# ------------------------------------------------------------------ command line

def test_bad_command_lines_fail_in_one_line(bench):
    rc, _, stderr = bench("server", "--target", "127.0.0.1:1", "--cuont", 5)
    assert rc == 2 and "--cuont" in stderr and "--count" in stderr, stderr
    rc, _, stderr = bench("server", "--target", "10.1.2.3:2181")
    assert rc == 2 and "127.0.0.1" in stderr, stderr
    rc, _, stderr = bench("frobnicate")
    assert rc == 2 and "unknown mode" in stderr, stderr
    rc, _, stderr = bench("compare", "--a", "paddock:/nonexistent.cfg", "--b", "zookeeper")
    assert rc == 2 and "/nonexistent.cfg" in stderr, stderr
