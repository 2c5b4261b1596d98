"""PROXY protocol: accepted on `bind ... accept-proxy` (v1, v2), sent by `send-proxy[-v2]`."""
import socket

from ferrykit.backends import HttpBackend, ProxyProtoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.proxyproto import proxy_v1, proxy_v2
from ferrykit.runner import Ferry
from ferrykit.suite import main
from ferrykit.wire import RawConn, connect, upstream_header

up = upstream_header


def _accept_setup():
    be = HttpBackend("pp")
    cfg = base_config() + section("frontend pp", "bind 127.0.0.1:0 accept-proxy", "mode http", "default-app a",
                                  "proxy-senders 127.0.0.0/8") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


GET = b"GET /pp HTTP/1.1\r\nHost: app.test\r\n\r\n"


def test_accept_proxy_v1():
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    c.send(proxy_v1("203.0.113.7", "127.0.0.1", 40000, f.port("pp")) + GET)
    r = c.read_response()
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "203.0.113.7", up(r.json(), "X-Forwarded-For")
    # Keep-alive on the same connection still uses the PROXY-claimed address.
    c.send(GET)
    assert up(c.read_response().json(), "X-Forwarded-For") == "203.0.113.7"


def test_accept_proxy_v1_ipv6():
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    c.send(proxy_v1("2001:db8::7", "2001:db8::1", 40000, 80) + GET)
    r = c.read_response()
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "2001:db8::7", up(r.json(), "X-Forwarded-For")
    # X-Forwarded-Port is the destination port the client used (from the header), not ours.
    assert up(r.json(), "X-Forwarded-Port") == "80", up(r.json(), "X-Forwarded-Port")


def test_accept_proxy_v2():
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    c.send(proxy_v2("198.51.100.9", "127.0.0.1", 51234, f.port("pp")) + GET)
    r = c.read_response()
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "198.51.100.9", up(r.json(), "X-Forwarded-For")
    c = RawConn(f.port("pp"))
    c.send(proxy_v2("2001:db8::9", "2001:db8::1", 51234, 80) + GET)
    r = c.read_response()
    assert up(r.json(), "X-Forwarded-For") == "2001:db8::9", up(r.json(), "X-Forwarded-For")


def test_accept_proxy_v2_local_command():
    # LOCAL (health checks of a load balancer): the real connection address is used.
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    c.send(sig + bytes([0x20, 0x00]) + b"\x00\x00" + GET)
    r = c.read_response()
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "127.0.0.1", up(r.json(), "X-Forwarded-For")


def test_accept_proxy_split_across_packets():
    import time
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    data = proxy_v1("203.0.113.8", "127.0.0.1", 40000, 80) + GET
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(data), 7):
        c.send(data[i:i + 7])
        time.sleep(0.01)
    r = c.read_response()
    assert r.status == 200 and up(r.json(), "X-Forwarded-For") == "203.0.113.8", r


def test_accept_proxy_missing_header_rejected():
    f, be = _accept_setup()
    c = RawConn(f.port("pp"))
    c.send(GET)
    assert c.wait_closed(5), "request without a PROXY header on an accept-proxy bind was not closed"
    assert not bytes(c.buf).startswith(b"HTTP/1.1 200"), "served without a PROXY header: %r" % bytes(c.buf[:100])
    c = RawConn(f.port("pp"))
    c.send(b"PROXY TCP4 not-an-ip 127.0.0.1 1 2\r\n" + GET)
    assert c.wait_closed(5)
    assert not bytes(c.buf).startswith(b"HTTP/1.1 200"), bytes(c.buf[:100])
    assert be.hits == 0


def _send_setup(opt, mode="http"):
    pp = ProxyProtoBackend("ppb", tcp=(mode == "tcp"))
    cfg = base_config(workers=1)  # one worker: a second client would find the first one's pool
    if mode == "http":
        cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
        cfg += section("app a", "hosts app.test", "backend pool")
    else:
        cfg += section("frontend web", "bind 127.0.0.1:0", "mode tcp", "app a")
        cfg += section("app a", "backend pool")
    cfg += backend_section("pool", [("s1", pp.port, opt)])
    return Ferry(cfg), pp


def _check_sent(pp, version, client_port, fe_port):
    assert pp.records, "backend saw no connection"
    info = pp.records[0]
    assert "error" not in info, "backend could not parse the PROXY header: %r" % info
    assert info["version"] == version, info
    assert info["proto"] == "TCP4", info
    assert info["src"] == "127.0.0.1" and info["sport"] == client_port, "src %r, client port %d" % (info, client_port)
    assert info["dst"] == "127.0.0.1" and info["dport"] == fe_port, "dst %r, frontend port %d" % (info, fe_port)


def test_send_proxy_v1_http():
    f, pp = _send_setup("send-proxy")
    c = RawConn(f.port("web"))
    c.send(GET)
    r = c.read_response()
    assert r.status == 200, r
    _check_sent(pp, 1, c.sock.getsockname()[1], f.port("web"))
    # Another client must not reuse that upstream connection: its PROXY header names the first
    # client. Expect a new upstream connection announcing the second client.
    c.close()
    c2 = RawConn(f.port("web"))
    c2.send(GET)
    assert c2.read_response().status == 200
    assert len(pp.records) == 2, "second client reused the first client's PROXY connection (%d upstream conns)" % len(pp.records)
    assert pp.records[1]["sport"] == c2.sock.getsockname()[1], pp.records[1]


def test_send_proxy_v2_http():
    f, pp = _send_setup("send-proxy-v2")
    c = RawConn(f.port("web"))
    c.send(GET)
    r = c.read_response()
    assert r.status == 200, r
    _check_sent(pp, 2, c.sock.getsockname()[1], f.port("web"))


def test_send_proxy_v2_tcp():
    f, pp = _send_setup("send-proxy-v2", mode="tcp")
    s = connect(f.port("web"))
    s.sendall(b"hello")
    got = b""
    while len(got) < 5:
        got += s.recv(10)
    assert got == b"hello"
    _check_sent(pp, 2, s.getsockname()[1], f.port("web"))


def test_accept_and_send_chain():
    # Client -> (PROXY v1) -> Ferry -> (PROXY v2) -> backend: the claimed client is relayed.
    pp = ProxyProtoBackend("chain")
    cfg = base_config() + section("frontend pp", "bind 127.0.0.1:0 accept-proxy", "mode http", "default-app a",
                                  "proxy-senders 127.0.0.0/8") \
        + backend_section("pool", [("s1", pp.port, "send-proxy-v2")]) + section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    c = RawConn(f.port("pp"))
    c.send(proxy_v1("203.0.113.50", "192.0.2.1", 41000, 443) + GET)
    r = c.read_response()
    assert r.status == 200, r
    info = r.json()["proxy"]
    assert info["src"] == "203.0.113.50" and info["sport"] == 41000, info
    assert r.json()["headers"].get("x-forwarded-for") == "203.0.113.50", r.json()["headers"]


if __name__ == "__main__":
    main()
