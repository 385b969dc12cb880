"""Real network partitions for ensemble tests: every member in its own Linux network namespace
with two links to the root namespace:

  peer link   veth <-> bridge pdP<tag> (no address in the root namespace): quorum and
              election traffic between members, on 10.<a>.<b>.<sid>/24
  client link veth <-> bridge pdC<tag> (10.<a>.<c>.254 in the root namespace): clients and
              four-letter words from the test process, on 10.<a>.<c>.<sid>/24

cut(sid) sets the root-side end of that member's peer link down: the member can no longer
exchange a single packet with the other members (nothing is stopped, no socket is closed --
established connections simply go silent), while the test still reaches it on its client
link. heal(sid) sets it up again. Everything is created by setup() and deleted by teardown()
(deleting a namespace deletes its veths).

Needs root (CAP_NET_ADMIN) and iproute2; available() says why not otherwise.
"""

import itertools
import os
import shutil
import subprocess

_counter = itertools.count()


def _run(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip() or r.returncode}")
    return r


def available():
    """None if namespaces can be used here, else the reason."""
    if shutil.which("ip") is None:
        return "iproute2 ('ip') not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN); run the suite as root"
    name = f"pdprobe{os.getpid() % 100000}"
    r = _run("netns", "add", name, check=False)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    try:
        r = _run("link", "add", f"pdpb{os.getpid() % 100000}", "type", "bridge", check=False)
        if r.returncode != 0:
            return f"cannot create a bridge: {r.stderr.strip()}"
        _run("link", "del", f"pdpb{os.getpid() % 100000}", check=False)
    finally:
        _run("netns", "del", name, check=False)
    return None


def _free_subnets():
    """Two /24 subnets 10.X.Y.0/24 not routed in the root namespace."""
    routes = _run("-4", "route", "show", "table", "all").stdout + _run("-4", "addr").stdout
    for x in range(200, 250):
        a, b = f"10.{x}.1.", f"10.{x}.2."
        if a not in routes and b not in routes:
            return a, b
    raise RuntimeError("no free 10.x.1.0/24 and 10.x.2.0/24 subnets")


class NetLab:
    def __init__(self, sids):
        self.sids = list(sids)
        self.tag = f"{os.getpid() % 4096:03x}{next(_counter) % 16:x}"
        self.peer_br = f"pdP{self.tag}"
        self.client_br = f"pdC{self.tag}"
        self.up = False
        self.peer_net = self.client_net = None

    def ns(self, sid):
        return f"pd{self.tag}n{sid}"

    def peer_ip(self, sid):
        return f"{self.peer_net}{sid}"

    def client_ip(self, sid):
        return f"{self.client_net}{sid}"

    def host_peer_if(self, sid):
        return f"pdp{self.tag}{sid}"

    def host_client_if(self, sid):
        return f"pdc{self.tag}{sid}"

    def mapping(self):
        """{sid: (namespace, peer address, client address)} for ensemble.Ensemble(netns=...)."""
        return {sid: (self.ns(sid), self.peer_ip(sid), self.client_ip(sid)) for sid in self.sids}

    def setup(self):
        self.peer_net, self.client_net = _free_subnets()
        self.up = True
        _run("link", "add", self.peer_br, "type", "bridge")
        _run("link", "set", self.peer_br, "up")
        _run("link", "add", self.client_br, "type", "bridge")
        _run("addr", "add", f"{self.client_net}254/24", "dev", self.client_br)
        _run("link", "set", self.client_br, "up")
        for sid in self.sids:
            ns = self.ns(sid)
            _run("netns", "add", ns)
            _run("-n", ns, "link", "set", "lo", "up")
            for host_if, ns_if, br, ip in (
                    (self.host_peer_if(sid), "peer0", self.peer_br, self.peer_ip(sid)),
                    (self.host_client_if(sid), "client0", self.client_br, self.client_ip(sid))):
                _run("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
                _run("link", "set", host_if, "master", br)
                _run("link", "set", host_if, "up")
                _run("-n", ns, "addr", "add", f"{ip}/24", "dev", ns_if)
                _run("-n", ns, "link", "set", ns_if, "up")
        return self

    def cut(self, sid):
        _run("link", "set", self.host_peer_if(sid), "down")

    def heal(self, sid):
        _run("link", "set", self.host_peer_if(sid), "up")

    def teardown(self):
        if not self.up:
            return
        for sid in self.sids:
            _run("netns", "del", self.ns(sid), check=False)
        for br in (self.peer_br, self.client_br):
            _run("link", "del", br, check=False)
        self.up = False
