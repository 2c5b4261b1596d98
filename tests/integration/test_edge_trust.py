"""Edge trust at the seams between protocols (issue 13): what a client can make Ferry believe or
forward. Each test is an attack that worked before its fix:

  - CONNECT / Upgrade: no raw tunnel except after a 101 to a request that asked for it;
    `Upgrade: h2c` is never passed on.
  - Host vs absolute-form target vs :authority vs SNI: one authority, validated, always sent.
  - Trailers: the same field rules as headers, plus RFC 9110 §6.5.1's forbidden fields.
  - Client-address aliases (`_` spellings, Forwarded, X-Real-IP) from untrusted clients.
  - Request-targets outside RFC 9112 §3.2's grammar.
"""
import socket
import ssl
import threading

from ferrykit.backends import HttpBackend, TcpServer
from ferrykit.config import backend_section, base_config, section
from ferrykit.h2client import H2Conn
from ferrykit.runner import Ferry
from ferrykit.suite import main, wait_until
from ferrykit.tls import TlsCerts
from ferrykit.wire import RawConn, Response, recv_until, upstream_header

up = upstream_header
V12, V13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


def _setup(backend_port, frontend_extra=(), apps=(("a", "a.test"), ("b", "b.test")), trusted=None):
    fe = ["bind 127.0.0.1:0", "mode http"] + list(frontend_extra)
    if trusted:
        fe.append("trust-forwarded " + trusted)
    cfg = base_config() + section("frontend web", *fe) + backend_section("pool", [("s1", backend_port)])
    for name, hosts in apps:
        cfg += section("app %s" % name, "hosts %s" % hosts, "backend pool")
    return Ferry(cfg)


class RecordingBackend(TcpServer):
    """Reads requests (head, then a Content-Length or chunked body with its trailers, kept raw)
    and answers each with `answer(head)` bytes (default: 200 with an empty body). Records
    every request's raw bytes, and any bytes that arrive after a response that ended the
    exchange (a tunnel) in `after`."""

    def __init__(self, answer=None):
        self.answer = answer or (lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.after = []
        super().__init__(self._serve, name="recording")

    def _serve(self, c, srv):
        c.settimeout(5)
        buf = b""
        while True:
            try:
                head, buf = recv_until(c, b"\r\n\r\n", buf=buf)
            except (ConnectionError, OSError, ValueError):
                return
            lower = head.lower()
            body = b""
            if b"transfer-encoding: chunked" in lower:
                while not (b"\r\n0\r\n" in b"\r\n" + body and body.endswith(b"\r\n\r\n")):
                    if not buf:
                        chunk = c.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    body += buf[:1]
                    buf = buf[1:]
            else:
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":", 1)[1])
                        while len(buf) < n:
                            buf += c.recv(65536)
                        body, buf = buf[:n], buf[n:]
            self.record(head + body)
            resp = self.answer(head)
            c.sendall(resp)
            if resp.startswith(b"HTTP/1.1 101") or resp.startswith(b"HTTP/1.1 200 Connection established"):
                # Whatever follows is tunnelled bytes, if the proxy made it a tunnel.
                try:
                    data = buf + c.recv(65536)
                except OSError:
                    data = buf
                with self.lock:
                    self.after.append(data)
                return


def _raw(port, data, timeout=5.0):
    """Sends raw bytes; returns (status or None, everything read until close or timeout)."""
    c = RawConn(port, timeout=timeout)
    c.send(data)
    try:
        r = c.read_response(timeout=timeout)
    except (ConnectionError, AssertionError, OSError):
        return None, bytes(c.buf)
    return r.status, r


# ---------------------------------------------------------------------------------------------
# 1. CONNECT and upgrades
# ---------------------------------------------------------------------------------------------

def test_connect_is_refused_not_tunnelled():
    be = RecordingBackend(lambda head: b"HTTP/1.1 200 Connection established\r\n\r\n")
    f = _setup(be.port, frontend_extra=["default-app a"])
    c = RawConn(f.port("web"))
    c.send("CONNECT a.test:80 HTTP/1.1\r\nHost: a.test:80\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n"
           "GET /smuggled HTTP/1.1\r\nHost: b.test\r\nFerry-Client-IP: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
    r = c.read_response()
    assert r.status == 501, "CONNECT answered %r" % r
    assert c.wait_closed(3), "the connection stayed open after a refused CONNECT"
    assert be.accepted == 0 and not be.records, "CONNECT reached the backend: %r" % be.records


def test_upgrade_answered_200_is_an_ordinary_response():
    be = RecordingBackend()  # 200 with a body to everything
    f = _setup(be.port)
    c = RawConn(f.port("web"))
    c.send("GET /up HTTP/1.1\r\nHost: a.test\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == b"ok", r
    # The connection is still HTTP: the next request is parsed, routed and rewritten by Ferry.
    c.send("GET /next HTTP/1.1\r\nHost: b.test\r\nFerry-Client-IP: 6.6.6.6\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    wait_until(lambda: len(be.records) == 2, what="two requests at the backend")
    second = be.records[1]
    assert second.startswith(b"GET /next HTTP/1.1\r\n"), second
    assert b"6.6.6.6" not in second, "a client Ferry-Client-IP passed through: %r" % second
    assert b"Ferry-Client-IP: 127.0.0.1" in second, second
    assert not be.after, "bytes were tunnelled: %r" % be.after


def test_101_without_upgrade_request_is_502():
    be = RecordingBackend(lambda head: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n")
    f = _setup(be.port)
    c = RawConn(f.port("web"))
    c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: b.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 502, "a 101 to a plain request was passed on: %r" % r


def test_h2c_upgrade_is_not_forwarded():
    be = HttpBackend("h2c")
    f = _setup(be.port)
    c = RawConn(f.port("web"))
    c.send("GET /h2c HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
           "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    assert up(e, "Upgrade") is None and up(e, "HTTP2-Settings") is None, e["headers"]
    assert "upgrade" not in (up(e, "Connection") or "").lower(), e["headers"]


# ---------------------------------------------------------------------------------------------
# 2, 7. One authority: absolute-form vs Host, :authority vs host, Host always sent
# ---------------------------------------------------------------------------------------------

def test_absolute_form_target_and_host():
    be = HttpBackend("abs")
    f = _setup(be.port)
    port = f.port("web")
    status, _ = _raw(port, "GET http://a.test/x HTTP/1.1\r\nHost: b.test\r\n\r\n")
    assert status == 400, "absolute-form a.test with Host b.test answered %r" % status
    assert be.hits == 0, "the mismatched request reached the backend: %r" % be.requests
    status, r = _raw(port, "GET http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
    assert status == 200, r
    e = r.json()
    assert up(e, "Host") == "a.test" and e["path"] == "/x?y=1", (up(e, "Host"), e["path"])
    status, r = _raw(port, "GET http://b.test HTTP/1.0\r\n\r\n")
    assert status == 200, r
    e = r.json()
    assert up(e, "Host") == "b.test" and e["path"] == "/", (up(e, "Host"), e["path"])


def test_host_always_sent_upstream():
    be = HttpBackend("host")
    f = _setup(be.port, frontend_extra=["default-app a"])
    port = f.port("web")
    status, r = _raw(port, "GET /ten HTTP/1.0\r\n\r\n")
    assert status == 200, r
    assert up(r.json(), "Host") == "a.test", "HTTP/1.0 without Host went upstream with Host %r" % up(r.json(), "Host")
    status, r = _raw(port, "GET /c HTTP/1.1\r\nHost: b.test\r\nConnection: host, close\r\n\r\n")
    assert status == 200, r
    e = r.json()
    assert up(e, "Host") == "b.test", "Connection: host removed Host: %r" % e["headers"]


def test_h2_authority_rules():
    be = HttpBackend("h2auth")
    f = _setup(be.port)
    c = H2Conn.connect(f.port("web"))
    st = c.get("a.test", "/ok", scheme="http")
    assert st.status == 200, st
    assert up(Response(200, "", [], st.body).json(), "Host") == "a.test"
    for authority, extra in (("evil@a.test", ()), ("a.test", (("host", "b.test"),)), ("a.test/x", ()),
                             ("a.test:", ())):
        st = c.get(authority, "/bad", scheme="http", headers=extra)
        # Refused by Ferry (400) or already by nghttp2's own checks (stream reset).
        assert st.status == 400 or (st.status is None and st.reset is not None), \
            "%r %r answered %r" % (authority, extra, st)
    assert be.hits == 1, "a malformed authority reached the backend: %r" % be.requests[1:]
    c.close()


# ---------------------------------------------------------------------------------------------
# 3. SNI vs Host on TLS binds
# ---------------------------------------------------------------------------------------------

def test_sni_host_mismatch_is_421():
    certs = TlsCerts()
    be = HttpBackend("sni")
    cfg = base_config() \
        + section("frontend web", "bind 127.0.0.1:0 tls", "mode http") \
        + backend_section("pool", [("s1", be.port)]) \
        + section("app lax", "hosts lax.test", "backend pool",
                  "certificate %s" % certs.issue("cert-lax", ["lax.test"])) \
        + section("app strict", "hosts strict.test", "backend pool",
                  "certificate %s" % certs.issue("cert-strict", ["strict.test"]), "tls-min 1.3") \
        + section("app shared", "hosts shared.test", "backend pool",
                  "certificate %s" % certs.issue("cert-shared", ["shared.test", "other.test"])) \
        + section("app other", "hosts other.test", "backend pool",
                  "certificate %s" % certs.issue("cert-shared2", ["shared.test", "other.test"]))
    f = Ferry(cfg)
    port = f.port("web")
    tls12 = certs.client(maximum=V12)
    # TLS 1.2 for lax.test, then a request for the tls-min 1.3 app: misdirected.
    c = RawConn(port, tls=tls12, sni="lax.test")
    assert c.sock.version() == "TLSv1.2"
    c.send("GET / HTTP/1.1\r\nHost: strict.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 421, "Host strict.test over lax.test's TLS 1.2 handshake answered %r" % r
    assert be.hits == 0, "the request reached strict's backend: %r" % be.requests
    c.close()
    # The same over HTTP/2.
    h2ctx = certs.client(maximum=V12)
    c2 = H2Conn.connect(port, tls=h2ctx, sni="lax.test")
    st = c2.get("strict.test", "/")
    assert st.status == 421, "h2: %r" % st
    st = c2.get("lax.test", "/")
    assert st.status == 200, "h2 same host: %r" % st
    c2.close()
    # Matching names are served; a TLS 1.3 handshake for strict is served.
    c = RawConn(port, tls=certs.client(), sni="strict.test")
    c.send("GET / HTTP/1.1\r\nHost: strict.test\r\n\r\n")
    assert c.read_response().status == 200
    c.close()
    # Different certificate files, even for the same names: a different handshake, 421.
    c = RawConn(port, tls=certs.client(), sni="shared.test")
    c.send("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n")
    assert c.read_response().status == 421
    c.close()


# ---------------------------------------------------------------------------------------------
# 4. Trailers
# ---------------------------------------------------------------------------------------------

def test_request_trailers_are_filtered():
    be = RecordingBackend()
    f = _setup(be.port, trusted="127.0.0.0/8")  # even a trusted client's trailers carry no forwarding data
    c = RawConn(f.port("web"))
    c.send("POST /t HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n"
           "5\r\nhello\r\n0\r\n"
           "Grpc-Status: 0\r\nFerry-Client-IP: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.7\r\nFerry_Region: fake\r\n"
           "Content-Length: 1000\r\nHost: evil.test\r\nAuthorization: Basic Zm9vOmJhcg==\r\nX-Sum: 42\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    wait_until(lambda: be.records, what="the request at the backend")
    got = be.records[0]
    body = got[got.index(b"\r\n\r\n") + 4:]
    trailer = body[body.index(b"\r\n0\r\n") + 5:]
    assert b"Grpc-Status: 0\r\n" in trailer and b"X-Sum: 42\r\n" in trailer, got
    for bad in (b"6.6.6.6", b"6.6.6.7", b"fake", b"Content-Length: 1000", b"evil.test", b"Authorization"):
        assert bad not in trailer, "trailer %r forwarded: %r" % (bad, trailer)


# ---------------------------------------------------------------------------------------------
# 5. Client-address aliases
# ---------------------------------------------------------------------------------------------

def test_client_address_aliases_dropped():
    be = HttpBackend("alias")
    f = _setup(be.port)
    c = RawConn(f.port("web"))
    c.send("GET /a HTTP/1.1\r\nHost: a.test\r\nFerry_Client_IP: 6.6.6.1\r\nX_Forwarded_For: 6.6.6.2\r\n"
           "X-Real-IP: 6.6.6.3\r\nForwarded: for=6.6.6.4\r\nx_real_ip: 6.6.6.5\r\nX_Forwarded_Proto: https\r\n"
           "Ferry_Region: fake\r\nMy_Header: kept\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    names = [k.lower() for k, _ in e["headers"]]
    for v in ("6.6.6.", "fake"):
        assert v not in str(e["headers"]), "spoofed %r reached the backend: %r" % (v, e["headers"])
    assert "x_forwarded_proto" not in names and "forwarded" not in names and "x-real-ip" not in names, names
    assert up(e, "My_Header") == "kept", e["headers"]
    assert up(e, "Ferry-Client-IP") == "127.0.0.1" and up(e, "X-Forwarded-For") == "127.0.0.1", e["headers"]


def test_trusted_proxy_keeps_forwarded_but_not_aliases():
    be = HttpBackend("alias-trusted")
    f = _setup(be.port, trusted="127.0.0.0/8")
    c = RawConn(f.port("web"))
    c.send("GET /a HTTP/1.1\r\nHost: a.test\r\nX-Real-IP: 198.51.100.3\r\nForwarded: for=198.51.100.4\r\n"
           "X_Forwarded_For: 6.6.6.2\r\nFerry_Client_IP: 6.6.6.1\r\n\r\n")
    r = c.read_response()
    e = r.json()
    assert up(e, "X-Real-IP") == "198.51.100.3" and up(e, "Forwarded") == "for=198.51.100.4", e["headers"]
    assert "6.6.6." not in str(e["headers"]), e["headers"]


# ---------------------------------------------------------------------------------------------
# 8. Request-target grammar
# ---------------------------------------------------------------------------------------------

def test_request_target_grammar():
    be = HttpBackend("target")
    f = _setup(be.port, frontend_extra=["default-app a"])
    port = f.port("web")
    bad = ["GET * HTTP/1.1", "GET a.test:80 HTTP/1.1", "GET /a#frag HTTP/1.1", "GET /%zz HTTP/1.1",
           "GET /caf\xc3\xa9 HTTP/1.1", "GET /a\\b HTTP/1.1", "GET /{x} HTTP/1.1", "GET ftp://a.test/ HTTP/1.1",
           "GET http://u@a.test/ HTTP/1.1", "GET x HTTP/1.1", "POST * HTTP/1.1"]
    for line in bad:
        status, _ = _raw(port, line + "\r\nHost: a.test\r\n\r\n")
        assert status == 400, "%r answered %r" % (line, status)
    status, _ = _raw(port, "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n")
    assert status == 200, "OPTIONS * answered %r" % status
    assert be.hits == 1, "a malformed target reached the backend: %r" % [r["path"] for r in be.requests]


if __name__ == "__main__":
    main()
