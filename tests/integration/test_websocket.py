"""WebSocket: the Upgrade is forwarded, and after the upstream's 101 bytes are tunneled."""
import os
import time

from ferrykit.backends import HttpBackend, WsEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main
from ferrykit.wire import RawConn
from ferrykit.ws import ws_encode, ws_handshake


def _setup(tunnel="30s", where=("frontend", "backend")):
    ws = WsEchoBackend()
    fe_t = ["timeout tunnel %s" % tunnel] if "frontend" in where else []
    be_t = ["timeout tunnel %s" % tunnel] if "backend" in where else []
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a", *fe_t) \
        + backend_section("pool", [("s1", ws.port)], *be_t) \
        + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), ws


def test_websocket_echo():
    f, ws = _setup()
    c, resp, rd = ws_handshake(f.port("web"), path="/chat?room=1")
    assert (resp.header("Upgrade") or "").lower() == "websocket", resp.headers
    hs = ws.records[-1]
    assert hs["target"] == "/chat?room=1", hs
    assert hs["headers"].get("upgrade", "").lower() == "websocket", "Upgrade not forwarded: %r" % hs
    assert "upgrade" in hs["headers"].get("connection", "").lower(), "Connection: upgrade not forwarded: %r" % hs
    assert hs["headers"].get("x-forwarded-for") == "127.0.0.1", hs
    for i in range(20):
        msg = "message %d" % i
        c.send(ws_encode(msg))
        op, payload = rd.frame()
        assert (op, payload) == (1, msg.encode()), (op, payload)
    big = os.urandom(1 << 20)
    t0 = time.monotonic()
    c.send(ws_encode(big, opcode=2))
    op, payload = rd.frame()
    figure("1 MiB websocket echo", "%.0f" % ((time.monotonic() - t0) * 1000), "ms")
    assert op == 2 and payload == big
    c.send(ws_encode(b"ping!", opcode=9))
    assert rd.frame() == (10, b"ping!")
    c.send(ws_encode(b"\x03\xe8", opcode=8))
    assert rd.frame() == (8, b"\x03\xe8")
    assert c.wait_closed(3), "tunnel not closed after the upstream closed"


def test_many_concurrent_websockets():
    f, ws = _setup()
    conns = [ws_handshake(f.port("web")) for _ in range(20)]
    for i, (c, _, rd) in enumerate(conns):
        c.send(ws_encode("hi %d" % i))
    for i, (c, _, rd) in enumerate(conns):
        assert rd.frame() == (1, b"hi %d" % i)


def test_upgrade_refused_by_upstream_is_plain_http():
    # The upstream answers 200 (no 101): no tunnel, a normal response.
    be = HttpBackend("plain")
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    c = RawConn(f.port("web"))
    c.send("GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    assert r.json()["name"] == "plain"


def _tunnel_idle(where):
    f, ws = _setup(tunnel="1s", where=where)
    c, _, rd = ws_handshake(f.port("web"))
    c.send(ws_encode("x"))
    assert rd.frame() == (1, b"x")
    t0 = time.monotonic()
    assert c.wait_closed(4), "idle tunnel not closed within 4s with 'timeout tunnel 1s' in the %s" % " and ".join(where)
    figure("idle tunnel closed after (timeout tunnel 1s in %s)" % "+".join(where), "%.2f" % (time.monotonic() - t0), "s")


def test_tunnel_idle_timeout():
    _tunnel_idle(("frontend", "backend"))


def test_tunnel_idle_timeout_backend_only():
    _tunnel_idle(("backend",))


def test_tunnel_idle_timeout_frontend_only():
    # The frontend accepts `timeout tunnel`; it must have an effect (defaults say 30s).
    _tunnel_idle(("frontend",))


if __name__ == "__main__":
    main()
