"""Network-namespace and WireGuard helpers shared by the mesh integration tests
(test_wireguard.py, test_mesh.py via mesh_topology.py). Debian's python3, stdlib only.

  - sh(*argv, ns=NAME): runs a command (inside a namespace with `ip netns exec`), returns its
    output, raises AssertionError on a non-zero exit unless check=False.
  - require(): skips (exit 77 through ferrykit.suite) unless root with ip, wg, wireguard-go
    (wireguard=False: root and ip only, for tests of anycast addresses alone).
  - Netns(suffixes): namespaces `ferry-it-<TAG>-<suffix>` with lo up; veth() joins two of them,
    bridge() makes a bridge; close() ends what still runs in them (by PID: SIGTERM, then
    SIGKILL), deletes them and the UAPI sockets listed in `uapi_sockets`.
    veth_pair(): the two namespaces + veth (10.200.0.1/24 <-> 10.200.0.2/24) of test_wireguard.
  - in_netns(NAME): a context manager that moves the calling thread into a namespace and back.
    Sockets created inside it stay in that namespace: in-process backends (ferrykit HttpBackend,
    TcpEchoBackend, WsEchoBackend) and clients can live in any namespace of the test.
  - keypair(), wg(), handshakes(), admin_json().
"""
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

from ferrykit.suite import register, skip, tmpdir

WG_GO = "/usr/bin/wireguard-go"
TAG = os.getpid() % 10000
CLONE_NEWNET = 0x40000000


def sh(*args, check=True, ns=None, timeout=20):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def require(extra=("ping",), wireguard=True):
    if os.geteuid() != 0:
        skip("needs root (network namespaces, WireGuard interfaces)")
    missing = [p for p in ("ip",) + (("wg",) if wireguard else ()) + tuple(extra) if not shutil.which(p)]
    if wireguard and not os.access(WG_GO, os.X_OK):
        missing.append(WG_GO)
    if missing:
        skip("missing: " + ", ".join(missing))
    r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        skip("`ip netns` is not usable here")


class Netns:
    """Namespaces named ferry-it-<TAG>-<suffix> (lo up); close() kills what still runs in them
    (by PID) and deletes them (their veths and bridges go with them)."""

    def __init__(self, suffixes=("a", "b")):
        self.names = ["ferry-it-%d-%s" % (TAG, s) for s in suffixes]
        self.uapi_sockets = []  # /var/run/wireguard/IFACE.sock files to remove at close()
        for n in self.names:
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)  # a leftover of ours
        register(self)
        for n in self.names:
            sh("ip", "netns", "add", n)
            sh("ip", "link", "set", "lo", "up", ns=n)

    def veth(self, ns_a, dev_a, addr_a, ns_b, dev_b, addr_b=None, master_b=None):
        """A veth pair dev_a (in ns_a, addr_a) <-> dev_b (in ns_b, addr_b or enslaved to the
        bridge master_b); both up."""
        sh("ip", "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, ns=ns_a)
        sh("ip", "link", "set", dev_b, "netns", ns_b, ns=ns_a)
        if addr_a:
            sh("ip", "addr", "add", addr_a, "dev", dev_a, ns=ns_a)
        if addr_b:
            sh("ip", "addr", "add", addr_b, "dev", dev_b, ns=ns_b)
        if master_b:
            sh("ip", "link", "set", dev_b, "master", master_b, ns=ns_b)
        sh("ip", "link", "set", dev_a, "up", ns=ns_a)
        sh("ip", "link", "set", dev_b, "up", ns=ns_b)

    def bridge(self, ns, dev, addr=None):
        sh("ip", "link", "add", dev, "type", "bridge", ns=ns)
        if addr:
            sh("ip", "addr", "add", addr, "dev", dev, ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)

    def close(self):
        # SIGTERM first (wireguard-go then removes its UAPI socket from the shared directory),
        # SIGKILL what is left after a second.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = []
            for n in self.names:
                for p in sh("ip", "netns", "pids", n, check=False).split():
                    try:
                        os.kill(int(p), sig)
                        left.append(int(p))
                    except (ValueError, ProcessLookupError):
                        pass
            deadline = time.monotonic() + 1.0
            while left and time.monotonic() < deadline:
                left = [p for p in left if os.path.exists("/proc/%d" % p) and not _zombie(p)]
                time.sleep(0.02)
            if not left:
                break
        for n in self.names:
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)
        for sock in self.uapi_sockets:  # of interfaces whose program was SIGKILLed
            try:
                os.unlink(sock)
            except FileNotFoundError:
                pass


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def veth_pair():
    """Two namespaces joined by veth-a 10.200.0.1/24 <-> veth-b 10.200.0.2/24."""
    net = Netns()
    a, b = net.names
    net.veth(a, "veth-a", "10.200.0.1/24", b, "veth-b", "10.200.0.2/24")
    return net


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with the calling thread in network namespace `name` (sockets created in
    it belong to that namespace for their whole life), then moves the thread back."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/var/run/netns/%s" % name, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(back)
    finally:
        os.close(target)
        os.close(back)


def keypair(name):
    """A WireGuard key pair: (path of a 0600 file holding the private key, public key)."""
    priv = subprocess.run(["wg", "genkey"], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    pub = subprocess.run(["wg", "pubkey"], input=priv.encode(), stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    path = os.path.join(tmpdir(), name + ".key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (priv + "\n").encode())
    os.close(fd)
    os.chmod(path, 0o600)
    return path, pub


def wg(ns, iface, *what):
    return sh("wg", "show", iface, *what, ns=ns)


def handshakes(ns, iface):
    """{public key: latest handshake (unix seconds, 0 = never)} of `wg show IFACE`."""
    out = {}
    for line in wg(ns, iface, "latest-handshakes").splitlines():
        k, _, t = line.partition("\t")
        out[k.strip()] = int(t.strip() or 0)
    return out


def admin_json(ns, port, path):
    """GET http://127.0.0.1:PORT/PATH inside namespace `ns`, parsed as JSON."""
    with in_netns(ns):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return json.loads(r.read().decode())


def admin_call(ns, port, method, path, body=None):
    """(status, parsed JSON or None) of METHOD http://127.0.0.1:PORT/PATH inside namespace `ns`."""
    import http.client
    with in_netns(ns):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            headers = {"Host": "127.0.0.1:%d" % port}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, (json.loads(raw) if raw else None)
            except ValueError:
                return r.status, None
        finally:
            conn.close()
