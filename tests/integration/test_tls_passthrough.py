"""TLS passthrough (`mode tcp` + `route sni`): TLS backends with their own certificates behind
one frontend, picked by the ClientHello's server name; Ferry never terminates TLS. Unknown or
missing SNI goes to the frontend's `app`, else is refused with an unrecognized_name alert;
a ClientHello trickling in one byte at a time works; a client that sends nothing (or half a
ClientHello) is closed at `timeout client`; http apps are not reachable by SNI; the server
gets its `send-proxy` header and then the client's bytes unchanged; `ferryd -c` errors."""
import os
import signal
import socket
import ssl
import time

from ferrykit.backends import HttpBackend, ProxyProtoBackend, TcpServer
from ferrykit.config import backend_section, base_config, section
from ferrykit.proxyproto import proxy_v1
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import main, tmpdir, wait_until
from ferrykit.tls import TlsCerts, client_context, handshake_error, peer_cn, server_context
from ferrykit.wire import RawConn, connect, dead_port, read_http_request, recv_all, request


def _tls_backend(name, pem):
    """A TLS server with certificate `pem`: answers one HTTP request with `backend=NAME`
    and records the SNI it saw."""
    sctx = server_context(pem)
    srv = None

    def on_sni(sslsock, server_name, ctx):
        srv.record(("sni", server_name))

    sctx.sni_callback = on_sni

    def serve(c, server):
        c.settimeout(10)
        try:
            t = sctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError) as e:
            server.record(("handshake-failed", str(e)))
            return
        method, target, headers, body, rest = read_http_request(t)
        payload = ("backend=%s path=%s" % (name, target)).encode()
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(payload), payload))
        t.close()

    srv = TcpServer(serve, name=name)
    return srv


def _setup(certs, log_level="debug"):
    dead = dead_port()
    be = {n: _tls_backend(n, certs.issue("cert-" + n, sans)) for n, sans in
          (("a", ["a.test"]), ("b", ["b.test", "*.b.test"]), ("fallback", ["fallback.test"]))}
    web = HttpBackend("web")
    cfg = base_config(log_level=log_level, global_extra=["access-log stderr json"]) \
        + section("frontend pass", "bind 127.0.0.1:0", "mode tcp", "route sni") \
        + section("frontend pass-default", "bind 127.0.0.1:0", "bind 127.0.0.1:0 accept-proxy", "mode tcp",
                  "route sni", "app fallback", "proxy-senders 127.0.0.1") \
        + section("frontend pass-short", "bind 127.0.0.1:0", "mode tcp", "route sni", "timeout client 1s") \
        + section("frontend web", "bind 127.0.0.1:0", "mode http") \
        + backend_section("pool-a", [("dead", dead), ("a1", be["a"].port)], "balance roundrobin", "retries 2") \
        + backend_section("pool-b", [("b1", be["b"].port)]) \
        + backend_section("pool-c", [("c1", be["fallback"].port)]) \
        + backend_section("pool-web", [("w1", web.port)]) \
        + section("app a", "mode tcp", "hosts a.test", "backend pool-a") \
        + section("app b", "mode tcp", "hosts b.test *.b.test", "backend pool-b") \
        + section("app fallback", "mode tcp", "backend pool-c") \
        + section("app web", "hosts web.test", "backend pool-web")
    return Ferry(cfg), be, web


def test_sni_routes_to_the_right_backend():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    port = f.port("pass")
    ctx = certs.client()  # verifies the chain and the name: the backend's own certificate
    for sni, cn, name in (("a.test", "cert-a", "a"), ("b.test", "cert-b", "b"), ("x.b.test", "cert-b", "b")):
        for i in range(3):  # pool-a has a dead server first: connect failures are retried
            c = RawConn(port, tls=ctx, sni=sni)
            assert peer_cn(c) == cn, (sni, peer_cn(c))
            r = c.get(sni, "/%s/%d" % (sni, i))
            assert r.status == 200 and r.body == ("backend=%s path=/%s/%d" % (name, sni, i)).encode(), (sni, r, r.body)
            c.close()
    # Wildcards match at any depth, like Host routing (the certificate's wildcard does not:
    # this client does not verify).
    d = RawConn(port, tls=certs.client(verify=False), sni="x.y.b.test")
    assert d.get("x.y.b.test").body.startswith(b"backend=b")
    d.close()  # the record is written when the tunnel ends
    # The server name reached the backends unchanged (Ferry forwarded the ClientHello as sent).
    assert ("sni", "a.test") in be["a"].records, be["a"].records
    assert ("sni", "x.y.b.test") in be["b"].records, be["b"].records
    f.wait_log(r"frontend pass: SNI 'a\.test' -> app a")
    f.wait_log(r"frontend pass: SNI 'x\.y\.b\.test' -> app b")
    f.wait_log(r'"host":"x\.y\.b\.test","status":200,.*"app":"b","server":"b1"')


def test_unknown_or_missing_sni_without_default_is_refused():
    certs = TlsCerts()
    f, be, web = _setup(certs)
    port = f.port("pass")
    err = handshake_error(port, certs.client(), "c.test")
    assert err is not None and "UNRECOGNIZED_NAME" in err.upper(), err
    # An http app's hosts are not reachable by SNI.
    err = handshake_error(port, certs.client(), "web.test")
    assert err is not None and "UNRECOGNIZED_NAME" in err.upper(), err
    # No SNI at all.
    err = handshake_error(port, certs.client(verify=False), None)
    assert err is not None and "UNRECOGNIZED_NAME" in err.upper(), err
    assert sum(b.accepted for b in be.values()) == 0, [b.accepted for b in be.values()]
    f.wait_log(r"frontend pass: SNI 'c\.test' matches no app and there is no default app")
    # One access-log record per refused connection, with the server name as the host.
    f.wait_log(r'"frontend":"pass","proto":"tcp".*"host":"c\.test","status":404.*"termination":"no-route"')
    # The http frontend of the same process still routes web.test by Host.
    assert request(f.port("web"), host="web.test").status == 200


def test_default_app():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    port = f.port("pass-default")
    c = RawConn(port, tls=certs.client(verify=False), sni="unknown.test")
    r = c.get("unknown.test")
    assert r.body.startswith(b"backend=fallback"), r.body
    n = RawConn(port, tls=certs.client(verify=False), sni=None)
    assert n.get("x").body.startswith(b"backend=fallback")
    # Known names still win over the default.
    a = RawConn(port, tls=certs.client(), sni="a.test")
    assert peer_cn(a) == "cert-a"
    assert a.get("a.test").body.startswith(b"backend=a")
    # The accept-proxy bind: PROXY header first, then the ClientHello.
    pport = f.port("pass-default", 1)
    p = RawConn(pport, tls=certs.client(), sni="b.test", prefix=proxy_v1("192.0.2.7", "192.0.2.1", 4000, 443))
    assert peer_cn(p) == "cert-b"
    assert p.get("b.test").body.startswith(b"backend=b")


def test_client_hello_one_byte_at_a_time():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    ctx = certs.client()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="b.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert len(hello) > 200 and hello[0] == 22, hello[:10]
    s = connect(f.port("pass"), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(hello)):
        s.sendall(hello[i:i + 1])
        if i % 8 == 0:
            time.sleep(0.002)  # let Ferry read the pieces separately
    # Finish the handshake through the memory BIOs.
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = out.read()
            if pending:
                s.sendall(pending)
            d = s.recv(65536)
            assert d, "Ferry closed during the handshake"
            inc.write(d)
    s.sendall(out.read())
    cert = tls.getpeercert()
    cn = [v for rdn in cert["subject"] for k, v in rdn if k == "commonName"]
    assert cn == ["cert-b"], cn
    tls.write(b"GET /slow HTTP/1.1\r\nHost: b.test\r\n\r\n")
    s.sendall(out.read())
    body = b""
    while b"backend=b path=/slow" not in body:
        d = s.recv(65536)
        if not d:
            break
        inc.write(d)
        try:
            body += tls.read(65536)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            break
    assert b"backend=b path=/slow" in body, body
    s.close()


def test_silent_or_stalled_client_closed_at_timeout():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    port = f.port("pass-short")  # timeout client 1s
    for prefix in (b"", b"\x16\x03\x01\x02\x00\x01"):  # nothing, then half a ClientHello
        c = RawConn(port)
        if prefix:
            c.send(prefix)
        t0 = time.monotonic()
        assert c.wait_closed(5), "connection not closed at timeout client"
        dt = time.monotonic() - t0
        assert 0.7 < dt < 3.0, "closed after %.2fs, timeout client is 1s" % dt
        assert c.buf == b"", bytes(c.buf)
    assert sum(b.accepted for b in be.values()) == 0
    f.wait_log(r"frontend pass-short: no complete ClientHello within timeout client", count=2)


def test_drain_closes_clients_still_before_their_client_hello():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    c = RawConn(f.port("pass"))  # timeout client 10s, timeout drain 5s
    time.sleep(0.2)
    t0 = time.monotonic()
    f.signal(signal.SIGTERM)
    assert c.wait_closed(4), "a connection waiting for its ClientHello held up the drain"
    code = f.wait(10)
    dt = time.monotonic() - t0
    assert code == 0 and dt < 3.0, (code, dt)


def test_not_tls_is_closed():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    c = RawConn(f.port("pass-default"))
    c.send(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    assert c.wait_closed(3), "a plain HTTP request on a route sni frontend was not closed"
    assert c.buf == b"", bytes(c.buf)
    assert sum(b.accepted for b in be.values()) == 0
    f.wait_log(r"frontend pass-default: no ClientHello \(not a TLS handshake record\)")


def test_bytes_forwarded_unchanged_after_send_proxy():
    """The server gets its PROXY header, then exactly the client's bytes: the ClientHello as
    sent (in two writes here), then whatever followed it."""
    pp = ProxyProtoBackend("pp", tcp=True)  # PROXY v2 header, then echoes bytes
    cfg = base_config() \
        + section("frontend pass", "bind 127.0.0.1:0", "mode tcp", "route sni") \
        + backend_section("pool", [("p1", pp.port, "send-proxy-v2")]) \
        + section("app pp", "mode tcp", "hosts pp.test", "backend pool")
    f = Ferry(cfg)
    s = connect(f.port("pass"))
    raw = _client_hello_bytes("pp.test")
    s.sendall(raw[:50])
    time.sleep(0.05)
    s.sendall(raw[50:] + b"after the hello")
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s, timeout=10)
    assert got == raw + b"after the hello", (len(got), len(raw))
    wait_until(lambda: pp.records, what="the PROXY header at the server")
    rec = pp.records[0]
    assert rec.get("version") == 2 and rec.get("src") == "127.0.0.1", rec


def _client_hello_bytes(sni):
    ctx = client_context(verify=False)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def test_check_reports_mode_errors():
    path = os.path.join(tmpdir(), "bad.conf")
    with open(path, "w") as f:
        f.write(base_config(admin=False)
                + section("frontend web", "bind 127.0.0.1:0", "route sni", "default-app pass")
                + section("frontend pass", "bind 127.0.0.1:0 tls", "mode tcp", "route sni", "app web")
                + backend_section("pool", [("s", 9)])
                + section("app web", "hosts web.test", "backend pool")
                + section("app pass", "mode tcp", "hosts pass.test", "backend pool", "certificate x.pem"))
    code, out = run_ferryd(["-c", "-f", path])
    assert code != 0, out
    lines = open(path).read().splitlines()
    def at(needle, text):  # "file:line:col: error: ..." pointing at `needle` on its line
        for i, l in enumerate(lines):
            if needle in l:
                return "%s:%d:%d: error: %s" % (path, i + 1, l.index(needle) + 1, text)
        raise AssertionError(needle)
    assert at("route sni", "'route sni' is for tcp frontends") in out, out
    assert "error: app 'pass' is a tcp app (TLS passthrough): it cannot be the default-app" in out, out
    assert "error: 'tls' on a 'route sni' frontend 'pass'" in out, out
    assert "error: app 'web' is an http app: the default app of a 'route sni' frontend" in out, out
    assert "error: 'certificate' has no effect on a tcp app" in out, out


if __name__ == "__main__":
    main()
