"""sslQuorum: a 3-node Paddock ensemble whose quorum and election ports speak TLS (the tls
transport reading ssl.quorum.*), with throwaway certificates from tools/make-test-certs.sh."""

import socket
import ssl
import subprocess
import time

import pytest

import servers
from ensemble import assert_converged, make_ensemble  # noqa: F401 (fixture)

pytestmark = pytest.mark.deadline(150)

MAKE_CERTS = servers.REPO / "tools" / "make-test-certs.sh"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not (servers.build_dir() / "lib" / "paddock" / "plugins" / "paddock-transport-tls.so").exists():
        pytest.skip("paddock-transport-tls.so not built")
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([str(MAKE_CERTS), str(d), "2"], check=True, capture_output=True, timeout=60)
    return d


def quorum_tls(keystore, truststore):
    return {
        "sslQuorum": "true",
        "ssl.quorum.keyStore.location": str(keystore),
        "ssl.quorum.trustStore.location": str(truststore),
    }


def tls_peer_names(certs, port):
    """The subjectAltName of the certificate a TLS handshake on 127.0.0.1:port presents."""
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(str(certs / "client.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert().get("subjectAltName")


def test_ssl_quorum_elects_and_replicates(make_ensemble, certs):
    ens = make_ensemble(3, extra=quorum_tls(certs / "server.pem", certs / "ca.pem"))
    ens.start()
    leader = ens.wait_leader(timeout=40, expect=3)
    zk = ens.client([1])
    zk.create("/over-tls", b"replicated")
    for i in range(20):
        zk.create(f"/over-tls/n{i}", str(i).encode())
    tree = assert_converged(ens)
    assert tree["/over-tls"][0] == b"replicated" and tree["/over-tls"][4] == 20
    # the election and quorum ports speak TLS with the configured certificate
    for port in (ens[1].election_port, ens[leader].quorum_port):
        assert "127.0.0.1" in str(tls_peer_names(certs, port))
    # failover works over TLS as well
    ens.kill(leader)
    new = ens.wait_leader(timeout=30, sids=[1, 2])
    assert new == 2
    ens.client([1]).create("/after-failover", b"")
    assert "/after-failover" in assert_converged(ens, sids=[1, 2])


def test_a_node_without_the_right_certificate_cannot_join(make_ensemble, certs):
    good = quorum_tls(certs / "server.pem", certs / "ca.pem")
    # node 3 has a certificate from a CA the others do not trust (and trusts only that CA)
    bad = quorum_tls(certs / "untrusted.pem", certs / "untrusted-ca.pem")
    ens = make_ensemble(3, extra=good, member_extra={3: bad})
    ens.start()
    leader = ens.wait_leader(timeout=40, sids=[1, 2])
    assert leader == 2
    zk = ens.client([1, 2])
    zk.create("/members-only", b"x")
    # node 3 keeps looking: it is never a follower, never serves, never gets the data
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        assert ens[3].mode() not in ("leader", "follower", "observer"), "node 3 joined"
        time.sleep(0.2)
    assert ens.leader([1, 2]) == 2
    assert "/members-only" in assert_converged(ens, sids=[1, 2])
