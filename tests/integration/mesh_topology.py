"""The three-node mesh of the issue's acceptance test: an edge `yyz` and two workers `dfw` and
`syd`, each a network namespace running its own ferryd with a WireGuard interface served by
wireguard-go (started by ferryd), on a private underlay.

    hub (namespace, bridge ul0 10.250.0.254/24; the "internet": clients live here)
     |-- yyz  ul0 10.250.0.1   mesh 10.99.0.1/24   anycast 203.0.113.10/32 shared on lo
     |-- dfw  ul0 10.250.0.2   mesh 10.99.0.2/24
     '-- syd  ul0 10.250.0.3   mesh 10.99.0.3/24

The edge peers with both workers; each worker peers with the edge only (a star). Backhauls
listen on the mesh addresses (port 4280, inside private namespaces). The hub routes the anycast
address to yyz and (for the "backhaul from outside the mesh" check) the workers' mesh addresses
to their underlay addresses, so a packet from the hub reaches a worker's backhaul without
WireGuard, from a source outside every peer's allowed-ips.

Instances are in-process ferrykit backends created inside the workers' namespaces (meshnet.in_netns):
HTTP JSON echo `dfw-1`, `dfw-2` (dfw) and `syd-1` (syd) of app `web` (hosts app.test); a WebSocket
echo `ws-1` (app `ws`, ws.test) and a TCP echo `echo-1` (app `echo`, reached through the edge's
`mode tcp` frontend on 203.0.113.10:7000), both on dfw. On the edge every server line carries
`node PEER` (and `maxconn` if asked); `balance closest`.

Everything is registered with the running test (ferrykit.suite) and cleaned up after it (ferryd by
PID, the namespaces with whatever still runs in them, by PID; wireguard-go's interfaces vanish
with them).
"""
import os
import subprocess

from ferrykit import wire
from ferrykit.backends import HttpBackend, TcpEchoBackend, WsEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import tmpdir, wait_until
import meshnet as M
from meshnet import in_netns, sh

ANYCAST = "203.0.113.10"
HTTP_PORT = 80
TCP_PORT = 7000
BACKHAUL_PORT = 4280
WG_PORT = 51820

NODES = {  # name: (underlay address, mesh address, region)
    "yyz": ("10.250.0.1", "10.99.0.1", "yyz"),
    "dfw": ("10.250.0.2", "10.99.0.2", "dfw"),
    "syd": ("10.250.0.3", "10.99.0.3", "syd"),
}
HUB_ADDR = "10.250.0.254"


class MeshTopology:
    """latency: {peer: "30ms"} fixed RTTs set on the edge's peers (None = measured);
    maxconn: the `maxconn` on the edge's web server lines (0 = none); workers: which workers
    take part (the edge peers with those)."""

    def __init__(self, latency=None, maxconn=0, ping_interval="200ms", peer_timeout="1s",
                 workers=("dfw", "syd"), catalog=False, etcd=False, fleet=False):
        """catalog: the `web` app's instances come from the live catalog only (no `server`
        lines on any node; `instances catalog`), registered by the test through a worker's API.
        etcd: the catalog's etcd back end, on a 3-member etcd cluster (one member per node, on
        the underlay, port 2379) started here before the ferryds.
        fleet (with catalog): every node, the edge too, hosts instances: an `instances-dir`
        per node (self.instances_dir[node]), a backend `yyz-1` in the edge's namespace, an app
        `churn` on the same backend as `web` (its instances serve web's requests), and the
        access log in JSON."""
        M.require(extra=("ping", "etcd") if etcd else ("ping",))
        self.catalog = catalog
        self.etcd = etcd
        self.fleet = fleet
        self.instances_dir = {}
        if fleet:
            for n in ["yyz"] + list(workers):
                self.instances_dir[n] = os.path.join(tmpdir(), "instances-" + n)
                os.makedirs(self.instances_dir[n])
        self.latency = dict(latency or {})
        self.maxconn = maxconn
        self.ping_interval = ping_interval
        self.peer_timeout = peer_timeout
        self.workers = list(workers)
        self.nodes = ["yyz"] + self.workers
        self.net = M.Netns(["hub"] + self.nodes)
        self.ns = dict(zip(["hub"] + self.nodes, self.net.names))
        hub = self.ns["hub"]
        self.net.bridge(hub, "ul0", HUB_ADDR + "/24")
        for n in self.nodes:
            underlay, mesh_ip, _ = NODES[n]
            self.net.veth(self.ns[n], "ul0", underlay + "/24", hub, "ul-" + n, master_b="ul0")
        # The hub (the world outside) reaches the anycast address through the edge, and the
        # workers' mesh addresses through their underlay addresses (no WireGuard on that path).
        sh("ip", "route", "add", ANYCAST + "/32", "via", NODES["yyz"][0], ns=hub)
        for w in self.workers:
            sh("ip", "route", "add", NODES[w][1] + "/32", "via", NODES[w][0], ns=hub)
        # Until the bridge forwards and the edge knows its neighbours: WireGuard's first
        # handshake initiation, if lost, is only repeated after 5 s (REKEY_TIMEOUT).
        for w in self.workers:
            wait_until(lambda: subprocess.run(["ip", "netns", "exec", self.ns["yyz"], "ping", "-c1", "-W1", NODES[w][0]],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0,
                       timeout=10, interval=0.1, what="yyz pings %s on the underlay" % w)
        if etcd:
            self.etcd_procs = {}
            for n in self.nodes:
                self.start_etcd(n, new=True)
            self.wait_etcd()
        self.iface = {n: "f%s%d" % (n, M.TAG) for n in self.nodes}  # distinct: the UAPI dir is shared
        self.net.uapi_sockets += ["/var/run/wireguard/%s.sock" % i for i in self.iface.values()]
        self.keys = {n: M.keypair(n) for n in self.nodes}  # (path, public key)

        # Instances, created inside the workers' namespaces.
        self.backends = {}
        for w in self.workers:
            with in_netns(self.ns[w]):
                for i in (1, 2) if w == "dfw" else (1,):
                    name = "%s-%d" % (w, i)
                    self.backends[name] = HttpBackend(name)
                if w == "dfw":
                    self.ws = WsEchoBackend("ws-1")
                    self.echo = TcpEchoBackend("echo-1")
        if fleet:
            with in_netns(self.ns["yyz"]):
                self.backends["yyz-1"] = HttpBackend("yyz-1")
        self.ferry = {}
        self.ferry["yyz"] = Ferry(self.edge_config(), name="yyz", netns=self.ns["yyz"])
        self.edge = self.ferry["yyz"]
        for w in self.workers:
            self.ferry[w] = Ferry(self.worker_config(w), name=w, netns=self.ns[w])

    # -- etcd ---------------------------------------------------------------------------------

    def etcd_urls(self):
        return ["http://%s:2379" % NODES[n][0] for n in self.nodes]

    def start_etcd(self, node, new=False):
        """Starts node's etcd member (data kept in the test's directory across restarts)."""
        underlay = NODES[node][0]
        cluster = ",".join("%s=http://%s:2380" % (n, NODES[n][0]) for n in self.nodes)
        data = os.path.join(tmpdir(), "etcd-" + node)
        log = open(os.path.join(tmpdir(), "etcd-%s.log" % node), "ab")
        self.etcd_procs[node] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[node], "etcd", "--name", node, "--data-dir", data,
             "--listen-client-urls", "http://%s:2379" % underlay, "--advertise-client-urls", "http://%s:2379" % underlay,
             "--listen-peer-urls", "http://%s:2380" % underlay, "--initial-advertise-peer-urls", "http://%s:2380" % underlay,
             "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "ferry-test",
             "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def stop_etcd(self, node):
        p = self.etcd_procs.pop(node)
        p.kill()
        p.wait(10)

    def wait_etcd(self, timeout=30.0):
        """Until the cluster has a leader and takes a write (etcdctl from the hub)."""
        def healthy():
            r = subprocess.run(["ip", "netns", "exec", self.ns["hub"], "etcdctl", "--endpoints", ",".join(self.etcd_urls()),
                                "--command-timeout", "2s", "put", "/health-check", "ok"],
                               env=dict(os.environ, ETCDCTL_API="3"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return r.returncode == 0
        wait_until(healthy, timeout=timeout, interval=0.2, what="the etcd cluster takes a write")

    # -- configs ------------------------------------------------------------------------------

    def _catalog(self, node):
        lines = []
        if self.etcd:
            lines += ["etcd %s" % " ".join(self.etcd_urls()), "prefix /ferry-test/catalog/", "lease-ttl 2s"]
        if node in self.instances_dir:
            lines.append("instances-dir %s" % self.instances_dir[node])
        text = section("catalog", *lines) if lines else ""
        if self.fleet:  # app churn: its instances join web-pool (and serve web's requests)
            text += section("app churn", "backend web-pool")
        return text

    def _global(self, node):
        log = "access-log stderr json" if self.fleet else "access-log stderr"
        return base_config(global_extra=["region %s" % NODES[node][2], log]).replace(
            "node         it-node", "node         %s" % node).replace(
            os.path.join(tmpdir(), "state"), os.path.join(tmpdir(), "state-" + node))

    def _mesh(self, node, peers, latency=None):
        _, mesh_ip, _ = NODES[node]
        lines = ["interface     %s" % self.iface[node],
                 "private-key   %s" % self.keys[node][0],
                 "listen-port   %d" % WG_PORT,
                 "address       %s/24" % mesh_ip,
                 "backhaul      %s:%d" % (mesh_ip, BACKHAUL_PORT),
                 "userspace     %s" % M.WG_GO,
                 "ping-interval %s" % self.ping_interval,
                 "peer-timeout  %s" % self.peer_timeout]
        for p in peers:
            underlay, pip, region = NODES[p]
            lines += ["peer %s" % p,
                      "    public-key  %s" % self.keys[p][1],
                      "    endpoint    %s:%d" % (underlay, WG_PORT),
                      "    allowed-ips %s/32" % pip,
                      "    backhaul    %s:%d" % (pip, BACKHAUL_PORT),
                      "    region      %s" % region]
            if latency and latency.get(p):
                lines.append("    latency     %s" % latency[p])
        return section("mesh", *lines)

    def worker_config(self, w):
        text = self._global(w) + self._mesh(w, ["yyz"]) + self._catalog(w)
        web = [(n, b.port) for n, b in self.backends.items() if n.startswith(w + "-")]
        if self.catalog:
            text += section("backend web-pool", "instances catalog")
        else:
            text += backend_section("web-pool", web)
        text += section("app web", "hosts app.test", "backend web-pool")
        if w == "dfw":
            text += backend_section("ws-pool", [("ws-1", self.ws.port)])
            text += section("app ws", "hosts ws.test", "backend ws-pool")
            text += backend_section("echo-pool", [("echo-1", self.echo.port)])
            text += section("app echo", "mode tcp", "backend echo-pool")
        return text

    def edge_config(self, workers=None):
        """The edge's config; `workers`: the peers it has (default: all of the topology's)."""
        workers = self.workers if workers is None else list(workers)
        text = self._global("yyz") + self._mesh("yyz", workers, self.latency) + self._catalog("yyz")
        text += section("anycast", "address %s/32 shared" % ANYCAST)
        text += section("frontend web", "bind %s:%d" % (ANYCAST, HTTP_PORT), "default-app web")
        mc = (" maxconn %d" % self.maxconn) if self.maxconn else ""
        web = ["server %s 127.0.0.1:8080 node %s%s" % (n, n.split("-")[0], mc)
               for n in self.backends if n.split("-")[0] in workers]
        # eject-time 2s: instances ejected by the failed connects while dfw is down come back soon.
        if self.catalog:
            web = ["instances catalog"]
        text += section("backend web-pool", "balance closest", "eject-time 2s", *web)
        text += section("app web", "hosts app.test", "backend web-pool")
        if "dfw" in workers:
            text += section("frontend echo", "bind %s:%d" % (ANYCAST, TCP_PORT), "mode tcp", "app echo")
            text += section("backend ws-pool", "balance closest", "server ws-1 127.0.0.1:8081 node dfw")
            text += section("app ws", "hosts ws.test", "backend ws-pool")
            text += section("backend echo-pool", "balance closest", "server echo-1 127.0.0.1:7001 node dfw")
            text += section("app echo", "mode tcp", "backend echo-pool")
        return text

    # -- clients ------------------------------------------------------------------------------

    def request(self, path="/", host="app.test", ns="hub", timeout=10.0, **kw):
        """One HTTP request to the anycast address from namespace `ns` (default: the underlay)."""
        with in_netns(self.ns[ns]):
            return wire.request(HTTP_PORT, path=path, host=host, addr=ANYCAST, timeout=timeout, **kw)

    def connect(self, addr, port, ns="hub", timeout=5.0, source=None):
        """A TCP socket connected from namespace `ns` (bound to `source` if given)."""
        with in_netns(self.ns[ns]):
            return wire.connect(port, addr, timeout, source=source)

    def raw(self, port, ns="hub"):
        with in_netns(self.ns[ns]):
            return wire.RawConn(port, addr=ANYCAST)

    def wait_ready(self, timeout=20.0):
        """Until a request through the edge succeeds (the first one triggers the handshakes)."""
        def ok():
            try:
                return self.request("/", timeout=3).status == 200
            except OSError:
                return False
        wait_until(ok, timeout=timeout, interval=0.2, what="a request through the edge answered 200")

    def admin(self, node, path):
        return M.admin_json(self.ns[node], self.ferry[node].admin_port, path)

    def admin_call(self, node, method, path, body=None):
        """(status, parsed JSON) of one admin API call to `node` (JSON body if given)."""
        return M.admin_call(self.ns[node], self.ferry[node].admin_port, method, path, body)

    def wg(self, node, *what):
        return M.wg(self.ns[node], self.iface[node], *what)

    def handshakes(self, node):
        return M.handshakes(self.ns[node], self.iface[node])
