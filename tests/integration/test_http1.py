"""HTTP/1.1 semantics through Ferry: keep-alive, pipelining, chunked both ways, 100-continue,
HTTP/1.0 clients, HEAD, large bodies."""
import hashlib
import http.client
import os
import socket
import time

from ferrykit.backends import HttpBackend, TcpServer
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, oneline
from ferrykit.wire import RawConn, read_http_request, request


def _setup(chunked=False):
    be = HttpBackend("h1", chunked=chunked)
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


def test_keepalive_reuses_connection():
    f, be = _setup()
    conn = http.client.HTTPConnection("127.0.0.1", f.port("web"), timeout=5)
    socks = set()
    upstream_conns = set()
    for i in range(10):
        r = request(f.port("web"), "/ka/%d" % i, conn=conn)
        assert r.status == 200, r
        assert (r.header("Connection") or "").lower() != "close", r.headers
        socks.add(id(conn.sock))
        upstream_conns.add(r.json()["conn"])
    conn.close()
    assert len(socks) == 1, "client connection was not kept alive"
    figure("upstream connections for 10 keep-alive requests", len(upstream_conns))
    assert len(upstream_conns) <= 2, "upstream connections not pooled: %d for 10 sequential requests" % len(upstream_conns)


def test_pipelining_in_order():
    f, be = _setup()
    c = RawConn(f.port("web"))
    reqs = "".join("GET /p/%d?delay=%s HTTP/1.1\r\nHost: app.test\r\n\r\n" % (i, "0.2" if i == 0 else "0")
                   for i in range(5))
    reqs += "POST /p/5 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello"
    reqs += "GET /p/6 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
    c.send(reqs)
    paths = []
    for i in range(7):
        r = c.read_response()
        assert r.status == 200, r
        paths.append(r.json()["path"].split("?")[0])
        if i == 5:
            assert r.json()["body"] == "hello"
    assert paths == ["/p/%d" % i for i in range(7)], "out of order: %r" % paths
    assert c.wait_closed(3), "Connection: close not honoured"


def test_pipelined_request_arriving_during_an_exchange():
    """A request sent while the previous one is still with the upstream (its bytes arrive while
    Ferry reads nothing from the client) is answered as soon as the first is, not after the
    keep-alive timeout: the socket's 'drained' mark (net/read_hint.h) must not hide it. The
    same for a client that half-closes meanwhile: the second request is still answered."""
    f, be = _setup()
    for half_close in (False, True):
        c = RawConn(f.port("web"))
        c.send("GET /slow?delay=0.4 HTTP/1.1\r\nHost: app.test\r\n\r\n")
        time.sleep(0.15)  # Ferry has read the first request and waits on the upstream
        t0 = time.monotonic()
        c.send("GET /next HTTP/1.1\r\nHost: app.test\r\n\r\n")
        if half_close:
            c.sock.shutdown(socket.SHUT_WR)
        r1 = c.read_response()
        r2 = c.read_response()
        took = time.monotonic() - t0
        figure("pipelined during an exchange%s: both answered after (s)" % (" + half-close" if half_close else ""),
               "%.2f" % took)
        assert r1.status == 200 and r1.json()["path"].startswith("/slow"), r1
        assert r2.status == 200 and r2.json()["path"] == "/next", r2
        assert took < 2.0, "second request answered after %.1f s" % took
        c.close()


def _late_bytes_reset(port, head):
    """Sends `head`, reads the response to its end (the server's FIN), then sends a few late
    bytes: True if the server answered them with a reset (it had closed the socket), False if
    it read and discarded them (a lingering close)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(head)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 "), data[:100]
    try:
        s.sendall(b"late bytes")
        time.sleep(0.2)  # the reset, if any, has come back over loopback by now
        s.recv(100)
        s.sendall(b"more")
        time.sleep(0.1)
        s.recv(100)
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.close()


def test_client_close_is_immediate_server_close_lingers():
    # The client said `Connection: close` after a bodiless request: it must send nothing more
    # (RFC 9112 9.6), so Ferry closes at once instead of waiting up to 500 ms for its FIN.
    f, be = _setup()
    assert _late_bytes_reset(f.port("web"), b"GET /c HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    # A close Ferry decides (a 400 here) may cross bytes the client is still sending: those are
    # read and discarded, so no reset can destroy the response in the client's receive buffer.
    assert not _late_bytes_reset(f.port("web"), b"GET /c HTTP/1.1\r\nHost: app.test\r\nBad Header\r\n\r\n")
    # So is a close with a pipelined request behind the closing one.
    assert not _late_bytes_reset(f.port("web"), b"GET /c HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
                                 b"GET /d HTTP/1.1\r\nHost: app.test\r\n\r\n")


def test_chunked_request_body():
    f, be = _setup()
    c = RawConn(f.port("web"))
    parts = [b"first-", b"x" * 10000, b"-last"]
    c.send(b"POST /chunked HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    for p in parts:
        c.send(b"%x\r\n%s\r\n" % (len(p), p))
        time.sleep(0.05)
    c.send(b"0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    assert e["body"].encode("latin-1") == b"".join(parts), "upstream body mismatch (%d bytes)" % e["body_len"]


def test_chunked_response_body():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("GET /?chunked=1&size=100000 HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    assert len(r.body) == 100000 and r.body == b"x" * 100000, "got %d bytes" % len(r.body)
    # Framing is either chunked or a Content-Length, never both.
    assert not (r.header("Content-Length") and r.header("Transfer-Encoding")), r.headers
    c.send("GET /after HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert c.read_response().json()["path"] == "/after"


def test_large_bodies_both_directions():
    f, be = _setup()
    body = os.urandom(3 * 1024 * 1024)
    r = request(f.port("web"), "/big", method="PUT", body=body, timeout=30)
    assert r.status == 200, r
    e = r.json()
    assert e["body_len"] == len(body), e["body_len"]
    assert hashlib.sha256(e["body"].encode("latin-1")).hexdigest() == hashlib.sha256(body).hexdigest()
    r = request(f.port("web"), "/?size=%d" % (8 * 1024 * 1024), timeout=30)
    assert r.status == 200 and len(r.body) == 8 * 1024 * 1024, (r.status, len(r.body))


def test_expect_100_continue():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("POST /expect HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
    interim = c.read_response(allow_1xx=True, timeout=3)
    assert interim.status == 100, "expected 100 Continue before the body, got %r" % interim
    c.send("hello world")
    extra_1xx = 0
    while True:
        r = c.read_response(allow_1xx=True)
        if r.status != 100:
            break
        extra_1xx += 1
    assert r.status == 200, r
    assert r.json()["body"] == "hello world" and r.json()["body_len"] == 11, r.json()
    if extra_1xx:
        print("  note: %d extra 100 Continue forwarded after Ferry's own" % extra_1xx)


def test_expect_100_rejected_before_body():
    # With a Content-Length over max-body-size, Ferry answers 413 instead of 100.
    be = HttpBackend("h1")
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool", "max-body-size 1k")
    f = Ferry(cfg)
    c = RawConn(f.port("web"))
    c.send("POST /expect HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
    r = c.read_response(allow_1xx=True, timeout=3)
    assert r.status == 413, "expected 413 without 100 Continue, got %r" % r


def test_http10_client():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("GET /old HTTP/1.0\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    assert r.version in ("HTTP/1.0", "HTTP/1.1"), r.version
    assert (r.header("Transfer-Encoding") or "") == "", "chunked sent to an HTTP/1.0 client: %r" % r.headers
    assert r.json()["path"] == "/old"
    assert c.wait_closed(3), "HTTP/1.0 connection without keep-alive not closed"
    # A chunked upstream response must be de-chunked (close-delimited or Content-Length) for 1.0.
    c = RawConn(f.port("web"))
    c.send("GET /?chunked=1&size=5000 HTTP/1.0\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == b"x" * 5000, (r.status, r.headers, r.body[:60])
    assert (r.header("Transfer-Encoding") or "") == "", r.headers
    # HTTP/1.0 with a body (Content-Length).
    c = RawConn(f.port("web"))
    c.send("POST /old HTTP/1.0\r\nHost: app.test\r\nContent-Length: 4\r\n\r\nabcd")
    r = c.read_response()
    assert r.status == 200 and r.json()["body"] == "abcd", r


def test_http10_keepalive():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("GET /a HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    if (r.header("Connection") or "").lower() == "keep-alive":
        c.send("GET /b HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
        assert c.read_response().json()["path"] == "/b"
    else:
        assert c.wait_closed(3), "no keep-alive announced but connection left open"


def test_head_request():
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send("HEAD /h?size=1234 HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r = c.read_response(head_request=True)
    assert r.status == 200, r
    assert r.header("Content-Length") in ("1234", None), r.headers
    c.send("GET /after-head HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["path"] == "/after-head", "HEAD broke framing: %r" % r


def test_upstream_connection_close_honoured():
    # The upstream closes after each response; Ferry must not reuse that connection.
    f, be = _setup()
    conn = http.client.HTTPConnection("127.0.0.1", f.port("web"), timeout=5)
    for i in range(5):
        r = request(f.port("web"), "/c/%d?close=1" % i, conn=conn)
        assert r.status == 200, r
    conn.close()


def test_pooled_connection_closed_by_server_is_not_reused():
    """A server that closes an idle keep-alive connection: the next request (a POST, which
    must not be retried after its bytes were sent) goes on a new connection, not the dead one."""
    def serve(c, srv):
        c.settimeout(10)
        method, target, headers, body, _ = read_http_request(c)
        srv.record((method, body))
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        time.sleep(0.1)  # idle briefly, then close like a server's keep-alive timeout
        c.shutdown(socket.SHUT_RDWR)

    be = TcpServer(serve, name="closes-idle")
    cfg = base_config(workers=1) + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)], "retries 0") + section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    for i in range(3):
        r = request(f.port("web"), "/p/%d" % i, method="POST", body=b"data%d" % i)
        assert r.status == 200, "request %d: %r" % (i, r)
        time.sleep(0.4)  # the server closed the pooled connection meanwhile
    assert be.accepted == 3, "expected a new upstream connection per request, got %d" % be.accepted
    assert [b for _, b in be.records] == [b"data0", b"data1", b"data2"], be.records


def test_get_on_a_connection_closed_right_after_its_response_is_answered_once():
    """A server that closes each connection right after its response without saying so: a GET
    that follows at once may be sent on the dead pooled connection (Ferry skips the check for
    a connection pooled moments ago when the request is idempotent), and is then retried on a
    new connection at no cost, even with `retries 0`. Every GET is answered, and processed once."""
    def serve(c, srv):
        c.settimeout(10)
        method, target, headers, body, _ = read_http_request(c)
        srv.record((method, target))
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        c.shutdown(socket.SHUT_RDWR)

    be = TcpServer(serve, name="closes-at-once")
    cfg = base_config(workers=1) + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)], "retries 0") + section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    conn = http.client.HTTPConnection("127.0.0.1", f.port("web"), timeout=5)
    for i in range(20):
        r = request(f.port("web"), "/g/%d" % i, conn=conn)
        assert r.status == 200, "request %d: %r" % (i, r)
    conn.close()
    assert [t for _, t in be.records] == ["/g/%d" % i for i in range(20)], be.records


def test_concurrent_mixed_traffic():
    # 16 clients x 40 requests, keep-alive and not, GET/POST/chunked, random body sizes: every
    # response must be the right one (path and body checksum echoed back).
    import random
    import threading
    f, be = _setup()
    port = f.port("web")
    errors = []

    def client(k):
        rnd = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10) if k % 2 else None
        for i in range(40):
            path = "/m/%d/%d" % (k, i)
            try:
                kind = rnd.choice(["get", "post", "chunked"])
                if kind == "get":
                    r = request(port, path, conn=conn)
                    body = b""
                elif kind == "post":
                    body = os.urandom(rnd.choice([0, 10, 1000, 70000]))
                    r = request(port, path, method="POST", body=body, conn=conn)
                else:
                    body = os.urandom(rnd.choice([1, 5000, 60000]))
                    # An iterable body without a length: http.client sends it chunked.
                    r = request(port, path, method="PUT", body=iter([body[:len(body) // 2], body[len(body) // 2:]]),
                                conn=conn)
                e = r.json()
                if r.status != 200 or e["path"] != path or e["body"].encode("latin-1") != body:
                    errors.append("client %d #%d %s: status %d path %r body %d/%d" % (
                        k, i, kind, r.status, e.get("path"), e.get("body_len"), len(body)))
            except Exception as ex:
                errors.append("client %d #%d: %s" % (k, i, oneline(ex)))
                if conn:
                    conn.close()
        if conn:
            conn.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    figure("16x40 mixed requests", "%.2f" % (time.monotonic() - t0), "s")
    assert not errors, "%d errors:\n%s" % (len(errors), "\n".join(errors[:20]))


if __name__ == "__main__":
    main()
