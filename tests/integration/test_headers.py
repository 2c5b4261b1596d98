"""Forwarding headers: Ferry-Request-Id, X-Forwarded-*, Via, hop-by-hop removal, trust-forwarded."""
import re

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main, skip
from ferrykit.wire import RawConn, ipv6_loopback_available, request, upstream_header

up = upstream_header


def _setup(trusted=None):
    be = HttpBackend("hdr")
    cfg = base_config()
    fe = ["bind 127.0.0.1:0", "mode http", "default-app a"]
    if trusted:
        fe.append("trust-forwarded " + trusted)
    cfg += section("frontend web", *fe)
    cfg += backend_section("pool", [("s1", be.port)])
    cfg += section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


def test_request_id_and_forwarded_headers():
    f, be = _setup()
    port = f.port("web")
    r = request(port, "/h?x=1", host="app.test", headers={"X-End-To-End": "kept"})
    assert r.status == 200, r
    rid = r.header("Ferry-Request-Id")
    assert rid and re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", rid), "bad Ferry-Request-Id %r" % rid
    e = r.json()
    assert e["path"] == "/h?x=1", e["path"]
    assert up(e, "Ferry-Request-Id") == rid, "upstream saw %r, client got %r" % (up(e, "Ferry-Request-Id"), rid)
    assert up(e, "X-Forwarded-For") == "127.0.0.1", up(e, "X-Forwarded-For")
    assert up(e, "X-Forwarded-Proto") == "http", up(e, "X-Forwarded-Proto")
    assert up(e, "X-Forwarded-Host") == "app.test", up(e, "X-Forwarded-Host")
    assert up(e, "X-Forwarded-Port") == str(port), "X-Forwarded-Port %r, frontend port %d" % (up(e, "X-Forwarded-Port"), port)
    assert up(e, "Host") == "app.test", "Host not passed through: %r" % up(e, "Host")
    assert "1.1 ferry" in (up(e, "Via") or ""), "Via %r" % up(e, "Via")
    assert up(e, "X-End-To-End") == "kept"
    assert "ferry" in (r.header("Via") or "").lower() or r.header("Via") is None  # response Via optional
    # Ids are unique per request.
    ids = {request(port).header("Ferry-Request-Id") for _ in range(20)}
    assert len(ids) == 20, "request ids repeat: %r" % ids


def test_client_supplied_headers_replaced_when_untrusted():
    f, be = _setup()
    r = request(f.port("web"), headers={"Ferry-Request-Id": "spoofed-id-123456",
                                        "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https",
                                        "X-Forwarded-Host": "evil.test", "X-Forwarded-Port": "1"})
    assert r.status == 200, r
    e = r.json()
    assert r.header("Ferry-Request-Id") != "spoofed-id-123456", "client request id was kept"
    assert up(e, "Ferry-Request-Id") == r.header("Ferry-Request-Id")
    assert up(e, "X-Forwarded-For") == "127.0.0.1", "XFF %r" % up(e, "X-Forwarded-For")
    assert up(e, "X-Forwarded-Proto") == "http", up(e, "X-Forwarded-Proto")
    assert up(e, "X-Forwarded-Host") == "app.test", up(e, "X-Forwarded-Host")
    assert up(e, "X-Forwarded-Port") == str(f.port("web")), up(e, "X-Forwarded-Port")


def test_trusted_client_headers_kept():
    f, be = _setup(trusted="127.0.0.0/8 ::1/128")
    r = request(f.port("web"), headers={"Ferry-Request-Id": "edge-abc-123456", "X-Forwarded-For": "192.0.2.1"})
    assert r.status == 200, r
    e = r.json()
    assert r.header("Ferry-Request-Id") == "edge-abc-123456", "trusted request id replaced: %r" % r.header("Ferry-Request-Id")
    assert up(e, "Ferry-Request-Id") == "edge-abc-123456"
    xff = [x.strip() for x in (up(e, "X-Forwarded-For") or "").split(",")]
    assert xff == ["192.0.2.1", "127.0.0.1"], "XFF should be appended to: %r" % xff


def test_hop_by_hop_removed():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("GET /?hdr=Connection:X-Resp-Hop&hdr=X-Resp-Hop:secret&hdr=Keep-Alive:timeout%3D99&hdr=X-Resp-Kept:1 HTTP/1.1\r\n"
           "Host: app.test\r\nConnection: keep-alive, X-Req-Hop\r\nX-Req-Hop: secret\r\n"
           "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: deflate, trailers;q=1\r\n"
           "X-Req-Kept: 1\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    seen = {k.lower() for k, _ in e["headers"]}
    # RFC 9110 7.6.1: fields named in Connection, plus Keep-Alive and Proxy-Connection.
    for h in ("x-req-hop", "keep-alive", "proxy-connection"):
        assert h not in seen, "hop-by-hop request header %r reached the upstream: %r" % (h, e["headers"])
    conn = (up(e, "Connection") or "").lower()
    assert "x-req-hop" not in conn, "Connection upstream: %r" % conn
    # The client's TE is not forwarded; Ferry states its own "TE: trailers" (it forwards
    # trailers), as a hop-by-hop field of its connection.
    assert up(e, "TE") == "trailers", e["headers"]
    assert conn == "te", "Connection upstream: %r" % conn
    assert up(e, "X-Req-Kept") == "1"
    names = {k.lower() for k, _ in r.headers}
    assert "x-resp-hop" not in names, "hop-by-hop response header reached the client: %r" % r.headers
    assert r.header("Keep-Alive") != "timeout=99", "upstream Keep-Alive forwarded: %r" % r.headers
    assert r.header("X-Resp-Kept") == "1"
    # The connection is still usable.
    c.send("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert c.read_response().status == 200


def test_ipv6_client_forwarded_for():
    if not ipv6_loopback_available():
        skip("no IPv6 loopback")
    be = HttpBackend("v6")
    cfg = base_config() + section("frontend web6", "bind [::1]:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    r = request(f.port("web6"), addr="::1")
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "::1", up(r.json(), "X-Forwarded-For")


if __name__ == "__main__":
    main()
