"""Host routing: exact before wildcard, port stripped, case-insensitive, default-app, 404."""
from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main
from ferrykit.wire import RawConn, request


def _setup():
    be = {n: HttpBackend(n) for n in ("exact", "wild", "other", "fallback")}
    cfg = base_config()
    cfg += section("frontend withdefault", "bind 127.0.0.1:0", "mode http", "default-app fallback")
    cfg += section("frontend nodefault", "bind 127.0.0.1:0", "mode http")
    for n, b in be.items():
        cfg += backend_section("pool-" + n, [("s-" + n, b.port)])
    cfg += section("app exact", "hosts www.example.test", "backend pool-exact")
    cfg += section("app wild", "hosts *.example.test", "backend pool-wild")
    cfg += section("app other", "hosts other.test Alias.Other.Test", "backend pool-other")
    cfg += section("app fallback", "hosts fallback.test", "backend pool-fallback")
    return Ferry(cfg), be


def _who(port, host):
    r = request(port, "/route", host=host)
    if r.status != 200:
        return r.status
    return r.json()["name"]


def test_host_routing():
    f, be = _setup()
    p = f.port("nodefault")
    cases = [
        ("www.example.test", "exact"),
        ("www.example.test:8080", "exact"),        # port stripped
        ("WWW.Example.TEST", "exact"),             # case-insensitive
        ("foo.example.test", "wild"),              # wildcard
        ("Foo.Example.Test:81", "wild"),
        ("other.test", "other"),
        ("alias.other.test", "other"),             # hosts given in mixed case in the config
        ("fallback.test", "fallback"),
        ("example.test", 404),                     # *.example.test does not match the bare domain
        ("unknown.test", 404),
        ("xexample.test", 404),
    ]
    bad = []
    for host, want in cases:
        got = _who(p, host)
        if got != want:
            bad.append("Host %r: expected %r, got %r" % (host, want, got))
    assert not bad, "\n".join(bad)


def test_default_app():
    f, be = _setup()
    p = f.port("withdefault")
    assert _who(p, "unknown.test") == "fallback"
    assert _who(p, "example.test") == "fallback"
    assert _who(p, "www.example.test") == "exact"   # matching apps still win over the default
    assert _who(p, "a.example.test") == "wild"


def test_404_body_and_keepalive():
    f, be = _setup()
    p = f.port("nodefault")
    c = RawConn(p)
    c.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 404, r
    assert 0 < len(r.body) < 1024, "404 body should be a short text: %r" % r.body
    assert r.header("Ferry-Request-Id"), "404 without Ferry-Request-Id: %r" % r
    # A routing miss is not a protocol error: the connection stays usable.
    c.send("GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
    r2 = c.read_response()
    assert r2.status == 200 and r2.json()["name"] == "exact", r2
    for b in be.values():
        if b.name != "exact":
            assert b.hits == 0, "%s got %d requests" % (b.name, b.hits)


def test_absolute_form_uses_its_authority():
    # RFC 9112 3.2.2: with an absolute-form target the Host header is ignored for routing.
    f, be = _setup()
    p = f.port("nodefault")
    c = RawConn(p)
    c.send("GET http://www.example.test/abs HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["name"] == "exact", r


def test_missing_host_is_400():
    # RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    f, be = _setup()
    c = RawConn(f.port("withdefault"))
    c.send("GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n")
    r = c.read_response()
    assert r.status == 400, "HTTP/1.1 without Host: expected 400, got %r" % r
    assert sum(b.hits for b in be.values()) == 0


def test_dedicated_app_ip():
    """`app ... ip ADDR`: a connection made to that address goes to the app whatever its Host
    (HTTP/1.1 and raw TCP); other addresses of the same frontend route by Host as usual."""
    ded, web = HttpBackend("dedicated"), HttpBackend("web")
    cfg = base_config()
    cfg += section("frontend front", "bind 127.0.0.1:0", "bind 127.0.0.3:0", "mode http")
    cfg += backend_section("pool-ded", [("s-ded", ded.port)])
    cfg += backend_section("pool-web", [("s-web", web.port)])
    cfg += section("app ded", "ip 127.0.0.3", "backend pool-ded")
    cfg += section("app web", "hosts www.example.test", "backend pool-web")
    f = Ferry(cfg)
    on_ded = f.port("front", 1)
    for host in ("www.example.test", "anything.test", ""):
        r = request(on_ded, "/x", host=host, addr="127.0.0.3")
        assert r.status == 200 and r.json()["name"] == "dedicated", (host, r.status)
    assert _who(f.port("front", 0), "www.example.test") == "web"
    assert _who(f.port("front", 0), "anything.test") == 404


if __name__ == "__main__":
    main()
