"""Paddock-only: the TLS client port (secureClientPort, served by the tls transport plugin)
beside the plain one, with throwaway certificates from tools/make-test-certs.sh and ZooKeeper
3.8's ssl.* keys. kazoo (use_ssl=True, the test CA, a client certificate) works end to end:
CRUD, watches, ephemerals, sessions seen from the plain port too. A plaintext client on the
secure port, a client whose certificate another CA signed, and a client with no certificate
are all refused, logged, while the other clients keep working. (Apache ZooKeeper's secure port
needs Netty and Java key stores set up differently, so these tests are Paddock's.)"""

import re
import socket
import ssl
import subprocess
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

import servers
import zkproto
from util import Recorder, wait_until

pytestmark = [pytest.mark.targets("paddock"),
              # kazoo 2.8 builds its context with ssl.PROTOCOL_TLS, which Python 3.10+ deprecates
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MAKE_CERTS = servers.REPO / "tools" / "make-test-certs.sh"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([str(MAKE_CERTS), str(d), "2"], check=True, capture_output=True, timeout=60)
    return d


@pytest.fixture(scope="module")
def tls_server(certs, tmp_path_factory):
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    if not (servers.build_dir() / "lib" / "paddock" / "plugins" / "paddock-transport-tls.so").exists():
        pytest.skip("paddock-transport-tls.so not built")
    secure_port = servers.free_port()
    srv = servers.Server("paddock", tmp_path_factory.mktemp("tls-server"), extra={
        "secureClientPort": secure_port,
        "secureClientPortAddress": servers.HOST,
        "ssl.keyStore.location": certs / "server.pem",
        "ssl.trustStore.location": certs / "ca.pem",
        "ssl.clientAuth": "need",
        "maxClientCnxns": 0,
    })
    srv.secure_port = secure_port
    srv.start()
    yield srv
    assert srv.stop() == 0, "the server did not stop cleanly with TLS clients around"
    srv.cleanup_data()


@pytest.fixture
def server_logs(tls_server, request):
    request.node._paddock_servers = [tls_server]
    return tls_server


def tls_client(srv, certs, identity="client", **kw):
    """A started kazoo client on the secure port holding `identity`'s certificate."""
    args = dict(hosts=f"{servers.HOST}:{srv.secure_port}", use_ssl=True, ca=str(certs / "ca.pem"),
                timeout=10.0, connection_retry=dict(max_tries=-1, delay=0.05, max_delay=0.5))
    if identity:
        args.update(certfile=str(certs / f"{identity}-cert.pem"),
                    keyfile=str(certs / f"{identity}-key.pem"))
    args.update(kw)
    return KazooClient(**args)


@pytest.fixture
def make_tls_client(tls_server, certs):
    made = []

    def factory(identity="client", start=True, start_timeout=15.0, **kw):
        c = tls_client(tls_server, certs, identity, **kw)
        made.append(c)
        if start:
            c.start(timeout=start_timeout)
        return c

    yield factory
    for c in made:
        try:
            c.stop()
        finally:
            c.close()


def raw_tls_socket(srv, certs, identity="client"):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.check_hostname = False
    if identity:
        ctx.load_cert_chain(str(certs / f"{identity}-cert.pem"), str(certs / f"{identity}-key.pem"))
    raw = socket.create_connection((servers.HOST, srv.secure_port), timeout=5)
    return ctx.wrap_socket(raw)


def refused(sock_factory):
    """True when the server ends the connection during or right after the handshake without
    sending a byte of application data."""
    try:
        s = sock_factory()
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    try:
        s.settimeout(5)
        s.sendall(zkproto.frame(zkproto.connect_body(10000)))
        return s.recv(100) == b""
    except (ssl.SSLError, ConnectionError):
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- working clients

def test_crud_over_tls(server_logs, make_tls_client, make_client):
    zk = make_tls_client()
    base = "/tls-crud"
    zk.create(base, b"v0")
    assert zk.get(base)[0] == b"v0"
    stat = zk.set(base, b"v1")
    assert stat.version == 1
    zk.create(base + "/a", b"")
    zk.create(base + "/b", b"", sequence=True)
    assert len(zk.get_children(base)) == 2
    big = bytes(range(256)) * 2000  # 512000 bytes: many TLS records each way
    zk.set(base + "/a", big)
    assert zk.get(base + "/a")[0] == big
    tx = zk.transaction()
    tx.create(base + "/c", b"")
    tx.delete(base + "/a")
    assert tx.commit() == [base + "/c", True]
    # Seen the same from the plain port.
    plain = make_client(server_logs)
    assert sorted(plain.get_children(base))[0] == "b0000000001"
    assert plain.get(base)[0] == b"v1"
    zk.delete(base, recursive=True)
    with pytest.raises(NoNodeError):
        plain.get(base)


def test_watches_over_tls(server_logs, make_tls_client, make_client):
    zk = make_tls_client()
    plain = make_client(server_logs)
    base = "/tls-watch"
    zk.create(base, b"")
    data_events, child_events = Recorder(), Recorder()
    zk.get(base, watch=data_events)
    zk.get_children(base, watch=child_events)
    plain.set(base, b"changed")
    plain.create(base + "/kid", b"")
    assert data_events.wait(1) and child_events.wait(1)
    assert data_events.events[0].type == "CHANGED" and data_events.events[0].path == base
    assert child_events.events[0].type == "CHILD"
    # A watch set over TLS fired by the same client: the event comes before the reply, and
    # the reply is not held back (one TLS record per reply).
    own = Recorder()
    zk.exists(base + "/own", watch=own)
    started = time.monotonic()
    zk.create(base + "/own", b"")
    assert own.wait(1)
    assert time.monotonic() - started < 2.0
    zk.delete(base, recursive=True)


def test_ephemerals_over_tls(server_logs, make_tls_client, make_client):
    zk = make_tls_client()
    plain = make_client(server_logs)
    zk.create("/tls-eph", b"", ephemeral=True)
    session_id = zk.client_id[0]
    assert plain.exists("/tls-eph").ephemeralOwner == session_id
    zk.stop()
    wait_until(lambda: plain.exists("/tls-eph") is None, 10.0, message="ephemeral gone")


def test_four_letter_word_over_tls(server_logs, certs):
    s = raw_tls_socket(server_logs, certs)
    s.sendall(b"ruok")
    assert s.recv(10) == b"imok"
    assert s.recv(10) == b""  # close_notify
    s.close()


# ---------------------------------------------------------------- refused clients

def test_plaintext_client_on_the_secure_port_is_refused(server_logs, make_tls_client,
                                                        make_client):
    good = make_tls_client()
    plain_good = make_client(server_logs)
    # Raw: a plaintext ConnectRequest gets no answer but a closed connection.
    assert refused(lambda: socket.create_connection((servers.HOST, server_logs.secure_port),
                                                    timeout=5))
    # kazoo without TLS never gets a session.
    c = KazooClient(hosts=f"{servers.HOST}:{server_logs.secure_port}", timeout=3.0,
                    connection_retry=dict(max_tries=2, delay=0.05))
    with pytest.raises(KazooTimeoutError):
        c.start(timeout=2)
    c.stop()
    c.close()
    wait_until(lambda: "TLS handshake with 127.0.0.1:" in server_logs.log_tail(200), 5.0,
               message="handshake failure logged")
    # Others unaffected.
    good.create("/tls-after-plain", b"")
    assert plain_good.exists("/tls-after-plain")
    good.delete("/tls-after-plain")


def test_untrusted_or_missing_client_certificates_are_refused(server_logs, certs,
                                                              make_tls_client, make_client):
    good = make_tls_client()
    plain_good = make_client(server_logs)
    assert refused(lambda: raw_tls_socket(server_logs, certs, "untrusted"))
    assert refused(lambda: raw_tls_socket(server_logs, certs, None))
    for identity in ("untrusted", None):
        c = make_tls_client(identity, start=False, connection_retry=dict(max_tries=2, delay=0.05))
        with pytest.raises(KazooTimeoutError):
            c.start(timeout=2)
    log = server_logs.log_tail(300)
    assert "certificate verify failed" in log
    assert "peer did not return a certificate" in log
    # A second trusted certificate works, and so does everyone else.
    other = make_tls_client("client2")
    other.create("/tls-after-refusals", b"")
    assert good.exists("/tls-after-refusals")
    assert plain_good.exists("/tls-after-refusals")
    other.delete("/tls-after-refusals")
    assert server_logs.alive()


def test_the_server_certificate_is_verified_by_clients(server_logs, certs):
    # A client trusting another CA refuses the server.
    ctx = ssl.create_default_context(cafile=str(certs / "untrusted-ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(certs / "client-cert.pem"), str(certs / "client-key.pem"))
    raw = socket.create_connection((servers.HOST, server_logs.secure_port), timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(raw)
    raw.close()
    # The certificate names 127.0.0.1 and localhost, so hostname checks pass.
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(str(certs / "client-cert.pem"), str(certs / "client-key.pem"))
    for name in ("127.0.0.1", "localhost"):
        raw = socket.create_connection((servers.HOST, server_logs.secure_port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname=name)
        s.sendall(b"ruok")
        assert s.recv(10) == b"imok"
        s.close()


def test_bad_tls_settings_stop_start_up_in_one_line(certs, tmp_path):
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path / 'data'}\nclientPort={servers.free_port()}\n"
                   f"clientPortAddress=127.0.0.1\nsecureClientPort={servers.free_port()}\n"
                   f"ssl.keyStore.location={certs / 'server-encrypted.pem'}\n"
                   f"ssl.trustStore.location={certs / 'ca.pem'}\n")
    r = subprocess.run([str(servers.paddock_binary()), str(cfg)], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    # The server's own one-line verdict comes last (the log, on stderr too, precedes it).
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("paddock: plugin "), r.stderr
    assert "paddock-transport-tls.so: configuration failed: ssl.keyStore.location: " in last
    assert "ssl.keyStore.password" in last


def test_shipped_tls_cfg_serves_tls(make_server, tmp_path):
    """conf/tls.cfg as shipped, run from a directory where tools/make-test-certs.sh made
    certs/ (as the file's comment says), ports replaced by free ones."""
    work = tmp_path / "tls-cfg"
    work.mkdir()
    subprocess.run([str(MAKE_CERTS), str(work / "certs"), "2"], check=True, capture_output=True,
                   timeout=60)
    port, secure_port = servers.free_port(), servers.free_port()
    text = (servers.REPO / "conf" / "tls.cfg").read_text()
    text = re.sub(r"(?m)^clientPort=.*$", f"clientPort={port}", text)
    text = re.sub(r"(?m)^secureClientPort=.*$", f"secureClientPort={secure_port}", text)
    srv = make_server("paddock", start=False, port=port, config_text=text)
    srv.workdir = work  # relative paths (certs/, ./data) resolve here
    srv.cfg_path = work / "zoo.cfg"
    srv.cfg_path.write_text(text)
    srv.start()
    srv.secure_port = secure_port
    zk = tls_client(srv, work / "certs", timeout=10.0)
    try:
        zk.start(timeout=15)
        zk.create("/from-tls-cfg", b"x")
        assert zk.get("/from-tls-cfg")[0] == b"x"
    finally:
        zk.stop()
        zk.close()


# ---------------------------------------------------------------- x509 ACLs

CLIENT_SUBJECT = "CN=client,O=Paddock Test"
CLIENT2_SUBJECT = "CN=client2,O=Paddock Test"


@pytest.fixture(scope="module")
def x509_server(certs, tmp_path_factory):
    """A TLS server with ZooKeeper's x509 provider named by its class (authProvider.1), and
    client2's certificate as the x509 super user."""
    reason = servers.unavailable_reason("paddock")
    if reason:
        pytest.skip(reason)
    plugins = servers.build_dir() / "lib" / "paddock" / "plugins"
    for name in ("paddock-transport-tls.so", "paddock-auth-x509.so"):
        if not (plugins / name).exists():
            pytest.skip(f"{name} not built")
    secure_port = servers.free_port()
    srv = servers.Server("paddock", tmp_path_factory.mktemp("x509-server"), extra={
        "secureClientPort": secure_port,
        "secureClientPortAddress": servers.HOST,
        "ssl.keyStore.location": certs / "server.pem",
        "ssl.trustStore.location": certs / "ca.pem",
        "ssl.clientAuth": "need",
        "authProvider.1": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        "X509AuthenticationProvider.superUser": "CN=admin,O=Nobody",
    })
    srv.secure_port = secure_port
    srv.start()
    yield srv
    srv.stop()
    srv.cleanup_data()


def test_x509_acl_admits_only_the_right_certificate(x509_server, certs, make_client):
    from kazoo.exceptions import InvalidACLError, NoAuthError
    from kazoo.security import ACL, Id, Permissions

    def client(identity):
        c = tls_client(x509_server, certs, identity)
        c.start(timeout=15)
        return c

    one, two = client("client"), client("client2")
    plain = make_client(x509_server)
    try:
        only_one = [ACL(Permissions.ALL, Id("x509", CLIENT_SUBJECT))]
        one.create("/x509-only", b"secret", acl=only_one)
        assert one.get("/x509-only")[0] == b"secret"
        one.set("/x509-only", b"changed")
        for other in (two, plain):
            with pytest.raises(NoAuthError):
                other.get("/x509-only")
            with pytest.raises(NoAuthError):
                other.set("/x509-only", b"x")
        # `auth` expands to the connection's certificate identity
        two.create("/x509-auth", b"", acl=[ACL(Permissions.ALL, Id("auth", ""))])
        acl, _ = two.get_acls("/x509-auth")
        assert [(a.id.scheme, a.id.id) for a in acl] == [("x509", CLIENT2_SUBJECT)]
        with pytest.raises(NoAuthError):
            one.get("/x509-auth")
        # ids that are not distinguished names are refused
        with pytest.raises(InvalidACLError):
            one.create("/x509-bad", b"", acl=[ACL(Permissions.ALL, Id("x509", "not a dn"))])
        # a plain connection has no x509 identity: `auth` has nothing to expand to
        with pytest.raises(InvalidACLError):
            plain.create("/x509-none", b"", acl=[ACL(Permissions.ALL, Id("auth", ""))])
        one.delete("/x509-only")
    finally:
        for c in (one, two):
            c.stop()
            c.close()
