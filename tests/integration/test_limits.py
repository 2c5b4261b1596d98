"""Size limits: 414 request line, 431 header count/size, 413 body (Content-Length and chunked)."""
from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main
from ferrykit.wire import RawConn, request


def _setup():
    be = HttpBackend("lim")
    cfg = base_config(defaults_extra=["max-body-size 64k"])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app big",
                   "http-max-request-line 1k", "http-max-header-size 4k", "http-max-headers 20")
    cfg += backend_section("pool", [("s1", be.port)])
    cfg += section("app small", "hosts small.test", "backend pool", "max-body-size 1k")
    cfg += section("app big", "hosts big.test", "backend pool")
    return Ferry(cfg), be


def _raw(port, data, timeout=5):
    c = RawConn(port)
    c.send(data)
    r = c.read_response(timeout=timeout)
    return c, r


def test_414_request_line():
    f, be = _setup()
    port = f.port("web")
    # Just under the limit passes ("GET " + path + " HTTP/1.1" <= 1024).
    ok_path = "/" + "a" * (1024 - len("GET / HTTP/1.1"))
    c, r = _raw(port, "GET %s HTTP/1.1\r\nHost: big.test\r\n\r\n" % ok_path)
    assert r.status == 200, "request line of %d bytes: %r" % (len("GET  HTTP/1.1") + len(ok_path), r)
    c, r = _raw(port, "GET /%s HTTP/1.1\r\nHost: big.test\r\n\r\n" % ("a" * 3000))
    assert r.status == 414, r
    assert c.wait_closed(3), "connection kept open after 414"
    # A request line that never ends is cut at the limit, not buffered forever.
    c = RawConn(port)
    c.send("GET /" + "b" * 5000)
    r = c.read_response()
    assert r.status == 414, r
    assert be.hits == 1


def test_431_too_many_headers():
    f, be = _setup()
    port = f.port("web")
    hdrs = "".join("X-H%d: v\r\n" % i for i in range(18))  # 18 + Host = 19 fields
    c, r = _raw(port, "GET / HTTP/1.1\r\nHost: big.test\r\n%s\r\n" % hdrs)
    assert r.status == 200, "19 header fields (limit 20): %r" % r
    hdrs = "".join("X-H%d: v\r\n" % i for i in range(40))
    c, r = _raw(port, "GET / HTTP/1.1\r\nHost: big.test\r\n%s\r\n" % hdrs)
    assert r.status == 431, r
    assert c.wait_closed(3), "connection kept open after 431"


def test_431_header_too_large():
    f, be = _setup()
    port = f.port("web")
    c, r = _raw(port, "GET / HTTP/1.1\r\nHost: big.test\r\nX-Big: %s\r\n\r\n" % ("v" * 3000))
    assert r.status == 200, "3k of headers (limit 4k): %r" % r
    c, r = _raw(port, "GET / HTTP/1.1\r\nHost: big.test\r\nX-Big: %s\r\n\r\n" % ("v" * 6000))
    assert r.status == 431, r
    c, r = _raw(port, "GET / HTTP/1.1\r\nHost: big.test\r\n" + "".join("X-%d: %s\r\n" % (i, "v" * 400) for i in range(15)) + "\r\n")
    assert r.status == 431, "15 headers of 400 bytes (6k total, limit 4k): %r" % r


def test_413_content_length():
    f, be = _setup()
    port = f.port("web")
    r = request(port, "/up", method="POST", host="small.test", body=b"x" * 1000)
    assert r.status == 200 and r.json()["body_len"] == 1000, r
    before = be.hits
    # Declared too large: rejected from the head, before any body byte is sent.
    c = RawConn(port)
    c.send("POST /up HTTP/1.1\r\nHost: small.test\r\nContent-Length: 5000\r\n\r\n")
    r = c.read_response()
    assert r.status == 413, r
    assert be.hits == before, "oversized request reached the upstream"
    # The per-app limit overrides the default: 5000 bytes are fine for big.test (64k default).
    r = request(port, "/up", method="POST", host="big.test", body=b"x" * 5000)
    assert r.status == 200, r
    r = request(port, "/up", method="POST", host="big.test", body=b"x" * 70000)
    assert r.status == 413, "70000 bytes over the 64k default: %r" % r


def test_413_chunked():
    f, be = _setup()
    port = f.port("web")
    c = RawConn(port)
    c.send("POST /up HTTP/1.1\r\nHost: small.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    ok = True
    try:
        for _ in range(4):
            c.send("258\r\n" + "y" * 600 + "\r\n")  # 4 x 600 bytes > 1k
        c.send("0\r\n\r\n")
    except OSError:
        ok = False  # Ferry may close after answering 413; the response is still readable
    r = c.read_response()
    assert r.status == 413, "chunked body of 2400 bytes over a 1k limit: %r (sent all: %s)" % (r, ok)
    # Small chunked bodies pass.
    c = RawConn(port)
    c.send("POST /up HTTP/1.1\r\nHost: small.test\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + "z" * 100 + "\r\n0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["body_len"] == 100, r


if __name__ == "__main__":
    main()
