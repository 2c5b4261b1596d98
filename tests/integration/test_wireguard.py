"""The mesh control plane against the real wireguard-go and wireguard-tools, in two network
namespaces joined by a veth pair (10.200.0.1/24 <-> 10.200.0.2/24), one ferryd in each with a
`mesh` section (`userspace /usr/bin/wireguard-go`, distinct interface names: the UAPI socket
directory /var/run/wireguard is shared by every namespace) and an `anycast` address.

Checks: `wg show` in each namespace lists the other node with its allowed-ips; ping6 across the
mesh addresses works (a handshake happened); the anycast address is on lo; GET /api/v1/mesh
names the peer; a reload that drops a third (dummy) peer removes it from `wg show` while the real
peer's latest handshake is unchanged (not reset); SIGTERM removes the anycast address and the
interface. `ferryd -c` rejects a private key file others can read, naming the directive's
file:line:col. A reload that adds an anycast address and a frontend bound on it succeeds (the
address is in place before the listener binds, as at start) and the new bind serves; a reload
that adds one but fails (a bind conflict) removes the address again and keeps the old
configuration serving. Needs root, ip, wg, wireguard-go and ping (the anycast reload tests: root
and ip only; exit 77 with SKIP otherwise).
Namespaces and processes are cleaned up by name/PID whatever happens.
"""
import os
import shutil
import socket
import subprocess

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import main, skip, tmpdir, wait_until
from ferrykit.wire import request
from meshnet import WG_GO, TAG, require as _require, veth_pair, keypair as _keypair, wg as _wg, \
    handshakes as _handshakes, admin_json as _admin_json, sh as _sh, Netns, in_netns


def _config(name, iface, key_path, me, peers, anycast=True):
    """me: mesh index (1 or 2). peers: [(name, pubkey, endpoint or None, allowed, index)]."""
    text = base_config(global_extra=["region r%d" % me]).replace(
        os.path.join(tmpdir(), "state"), os.path.join(tmpdir(), "state-" + name))
    lines = ["interface    %s" % iface,
             "private-key  %s" % key_path,
             "listen-port  51820",
             "address      fdaa:0:%d::1/48" % me,
             "backhaul     [fdaa:0:%d::1]:4280" % me,
             "driver       userspace",
             "userspace    %s" % WG_GO]
    for (pname, pub, endpoint, allowed, idx) in peers:
        lines.append("peer %s" % pname)
        lines.append("    public-key  %s" % pub)
        if endpoint:
            lines.append("    endpoint    %s" % endpoint)
        lines.append("    allowed-ips %s" % allowed)
        lines.append("    backhaul    [fdaa:0:%d::1]:4280" % idx)
        lines.append("    region      r%d" % idx)
        lines.append("    persistent-keepalive 25s")
    text += section("mesh", *lines)
    if anycast:
        text += section("anycast", "address 10.9.9.%d/32" % me)
    return text


def test_mesh_two_nodes():
    _require()
    net = veth_pair()
    ns_a, ns_b = net.names
    if_a, if_b = "fita%d" % TAG, "fitb%d" % TAG
    key_a, pub_a = _keypair("a")
    key_b, pub_b = _keypair("b")
    _, pub_dummy = _keypair("dummy")

    dummy = ("dummy-1", pub_dummy, None, "fdaa:0:9::/48", 9)
    conf_a = lambda with_dummy: _config("a", if_a, key_a, 1, [("node-b", pub_b, "10.200.0.2:51820", "fdaa:0:2::/48", 2)] +
                                        ([dummy] if with_dummy else []))
    conf_b = _config("b", if_b, key_b, 2, [("node-a", pub_a, "10.200.0.1:51820", "fdaa:0:1::/48", 1)])
    fa = Ferry(conf_a(True), name="a", netns=ns_a)
    fb = Ferry(conf_b, name="b", netns=ns_b)

    # Both devices list the other node (and A the dummy) with the configured allowed-ips.
    allowed_a = _wg(ns_a, if_a, "allowed-ips")
    assert "%s\tfdaa:0:2::/48" % pub_b in allowed_a, allowed_a
    assert "%s\tfdaa:0:9::/48" % pub_dummy in allowed_a, allowed_a
    assert "%s\tfdaa:0:1::/48" % pub_a in _wg(ns_b, if_b, "allowed-ips")
    assert _wg(ns_a, if_a, "listen-port").strip() == "51820"
    assert "fdaa:0:1::1/48" in _sh("ip", "-6", "addr", "show", "dev", if_a, ns=ns_a)
    assert "UP" in _sh("ip", "link", "show", if_a, ns=ns_a)

    # Traffic across the mesh: the first packets trigger the handshake.
    wait_until(lambda: subprocess.run(["ip", "netns", "exec", ns_a, "ping", "-6", "-c", "1", "-W", "1", "fdaa:0:2::1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0,
               timeout=15, interval=0.2, what="ping6 fdaa:0:2::1 across the mesh")
    _sh("ping", "-6", "-c", "1", "-W", "2", "fdaa:0:1::1", ns=ns_b)
    hs_before = _handshakes(ns_a, if_a)
    assert hs_before.get(pub_b, 0) > 0, hs_before

    # The anycast address is on lo of each namespace.
    assert "10.9.9.1/32" in _sh("ip", "addr", "show", "dev", "lo", ns=ns_a)
    assert "10.9.9.2/32" in _sh("ip", "addr", "show", "dev", "lo", ns=ns_b)

    # The status API names the peer (refreshed every 2 s).
    def peer_seen():
        st = _admin_json(ns_a, fa.admin_port, "/api/v1/mesh")
        peers = {p["name"]: p for p in st["peers"]}
        return st if "node-b" in peers and peers["node-b"]["last_handshake"] > 0 else None
    st = wait_until(peer_seen, timeout=10, interval=0.5, what="/api/v1/mesh shows node-b's handshake")
    assert st["driver"] == "userspace" and st["interface"] == if_a, st
    assert st["anycast"] == [{"address": "10.9.9.1/32", "interface": "lo", "added_by_ferry": True, "present": True}], st

    # Reload without the dummy peer: it goes, node-b's session is untouched.
    assert fa.reload(conf_a(False)) [0] == "ok"
    wait_until(lambda: pub_dummy not in _wg(ns_a, if_a, "peers"), timeout=10, what="dummy peer removed")
    hs_after = _handshakes(ns_a, if_a)
    assert list(hs_after) == [pub_b], hs_after
    assert hs_after[pub_b] == hs_before[pub_b], (hs_before, hs_after)
    _sh("ping", "-6", "-c", "1", "-W", "2", "fdaa:0:2::1", ns=ns_a)
    assert fa.log_lines(r"mesh: %s: peer dummy-1 removed" % if_a), fa.log

    # Shutdown removes what Ferry added.
    assert fa.stop() == 0
    assert "10.9.9.1/32" not in _sh("ip", "addr", "show", "dev", "lo", ns=ns_a)
    r = subprocess.run(["ip", "netns", "exec", ns_a, "ip", "link", "show", if_a], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    assert r.returncode != 0, "interface %s still exists after ferryd stopped" % if_a
    assert not os.path.exists("/var/run/wireguard/%s.sock" % if_a)
    assert fb.stop() == 0
    assert "10.9.9.2/32" not in _sh("ip", "addr", "show", "dev", "lo", ns=ns_b)


def test_anycast_present_before_is_left_alone():
    _require()
    net = veth_pair()
    ns_a = net.names[0]
    _sh("ip", "addr", "add", "10.9.9.1/32", "dev", "lo", ns=ns_a)  # someone else's
    text = base_config(global_extra=["region r1"]) + section("anycast", "address 10.9.9.1/32", "address 10.9.9.7/32")
    f = Ferry(text, name="a", netns=ns_a)
    lo = _sh("ip", "addr", "show", "dev", "lo", ns=ns_a)
    assert "10.9.9.1/32" in lo and "10.9.9.7/32" in lo, lo
    f.wait_log(r"anycast: 10\.9\.9\.1/32 on lo already present")
    # Dropping both by reload removes only the one Ferry added.
    assert f.reload(base_config(global_extra=["region r1"]))[0] == "ok"
    wait_until(lambda: "10.9.9.7/32" not in _sh("ip", "addr", "show", "dev", "lo", ns=ns_a),
               timeout=10, what="10.9.9.7 removed by the reload")
    assert "10.9.9.1/32" in _sh("ip", "addr", "show", "dev", "lo", ns=ns_a)
    assert f.stop() == 0
    assert "10.9.9.1/32" in _sh("ip", "addr", "show", "dev", "lo", ns=ns_a)


def _anycast_reload_config(backend_port, anycast=None, extra_frontends=()):
    """One frontend on 127.0.0.1; with `anycast` (an IPv4 address), an `anycast` section with it
    and a frontend `edge` bound on it; extra_frontends: (name, bind) pairs."""
    text = base_config(global_extra=["region r1"])
    text += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    if anycast:
        text += section("anycast", "address %s/32" % anycast)
        text += section("frontend edge", "bind %s:0" % anycast, "mode http", "default-app a")
    for name, bind in extra_frontends:
        text += section("frontend " + name, "bind " + bind, "mode http", "default-app a")
    text += backend_section("pool", [("s1", backend_port)])
    text += section("app a", "hosts app.test", "backend pool")
    return text


def _on_lo(ns):
    return _sh("ip", "addr", "show", "dev", "lo", ns=ns)


def test_reload_adds_anycast_address_and_bind():
    _require(extra=(), wireguard=False)
    ns = Netns(("r",)).names[0]
    with in_netns(ns):
        be = HttpBackend("b1")
    f = Ferry(_anycast_reload_config(be.port), name="r", netns=ns)
    assert "10.9.9.3/32" not in _on_lo(ns)
    res = f.reload(_anycast_reload_config(be.port, anycast="10.9.9.3"))
    assert res == ("ok", 2), (res, f.log)
    assert not f.log_lines(r"reload failed"), f.log
    assert "10.9.9.3/32" in _on_lo(ns)
    assert f.addrs["edge"][0][0] == "10.9.9.3", f.addrs
    ov = _admin_json(ns, f.admin_port, "/api/v1/overview")
    assert ov["generation"] == 2 and ov["reload"]["last_ok"] is True and ov["reload"]["failures"] == 0, ov
    with in_netns(ns):
        r = request(f.port("edge"), addr="10.9.9.3")
        assert r.status == 200 and r.json()["name"] == "b1", r
        assert request(f.port("web")).status == 200
    assert f.stop() == 0
    assert "10.9.9.3/32" not in _on_lo(ns)


def test_failed_reload_removes_the_anycast_address_it_added():
    _require(extra=(), wireguard=False)
    ns = Netns(("f",)).names[0]
    with in_netns(ns):
        be = HttpBackend("b1")
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        f = Ferry(_anycast_reload_config(be.port), name="f", netns=ns)
        res = f.reload(_anycast_reload_config(be.port, anycast="10.9.9.4",
                                              extra_frontends=[("clash", "127.0.0.1:%d" % busy)]))
        assert res[0] == "failed", res
        # Only the conflict fails it: the anycast bind had its address.
        assert f.log_lines(r"reload failed: bind 127\.0\.0\.1:%d: .*frontend clash" % busy), f.log
        assert not f.log_lines(r"Cannot assign requested address"), f.log
        # The address added for the failed configuration is gone again; the old one serves.
        assert "10.9.9.4/32" not in _on_lo(ns), f.log
        assert "edge" not in f.ports and "clash" not in f.ports, f.ports
        ov = _admin_json(ns, f.admin_port, "/api/v1/overview")
        assert ov["generation"] == 1 and ov["reload"]["last_ok"] is False, ov
        with in_netns(ns):
            assert request(f.port("web")).status == 200
        # The same configuration without the conflict works.
        res = f.reload(_anycast_reload_config(be.port, anycast="10.9.9.4"))
        assert res == ("ok", 2), (res, f.log)
        with in_netns(ns):
            assert request(f.port("edge"), addr="10.9.9.4").status == 200
        assert f.stop() == 0
        assert "10.9.9.4/32" not in _on_lo(ns)
    finally:
        blocker.close()


def test_check_rejects_open_key_file():
    key, _ = _keypair("open") if shutil.which("wg") else (None, None)
    if key is None:
        skip("wg not installed")
    os.chmod(key, 0o644)
    text = _config("c", "fitc%d" % TAG, key, 1, [])
    path = os.path.join(tmpdir(), "check.conf")
    with open(path, "w") as f:
        f.write(text)
    code, out = run_ferryd(["-c", "-f", path])
    assert code != 0, out
    line = [i + 1 for i, l in enumerate(text.splitlines()) if "private-key" in l][0]
    want = "%s:%d:18: error: private key %s: group or others may access it (mode 0644); chmod 600 it" % (path, line, key)
    assert want in out, out
    os.chmod(key, 0o600)
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 0, out


if __name__ == "__main__":
    main()
