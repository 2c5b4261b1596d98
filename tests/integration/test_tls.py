"""TLS termination on `bind ... tls`: certificates chosen by SNI (exact, wildcard, frontend
default, refusal), per-app `tls-min`, the intermediate profile, session resumption across
workers, certificates swapped by a reload without dropping connections, PROXY protocol before
TLS, bodies and WebSockets over TLS, and clients that never finish a handshake."""
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import shutil
import time

from ferrykit.backends import HttpBackend, WsEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import figure, main, skip, tmpdir
from ferrykit.tls import TlsCerts, handshake_error, peer_cn
from ferrykit.wire import RawConn, request
from ferrykit.ws import WsReader, ws_encode

V12, V13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


def _setup(certs, frontend_extra=(), apps=None, workers=2, bind_extra=""):
    """One TLS frontend (plus a plain one) in front of one backend. `apps`: list of
    (name, hosts, certificate path, extra lines)."""
    be = HttpBackend("tls-be")
    apps = apps if apps is not None else [
        ("a", "a.test", certs.issue("cert-a", ["a.test"]), ()),
        ("w", "*.w.test", certs.issue("cert-w", ["*.w.test"]), ()),
    ]
    cfg = base_config(workers=workers) \
        + section("frontend web", "bind 127.0.0.1:0 tls" + bind_extra, "mode http", *frontend_extra) \
        + section("frontend plain", "bind 127.0.0.1:0", "mode http") \
        + backend_section("pool", [("s1", be.port)])
    for name, hosts, cert, extra in apps:
        cfg += section("app %s" % name, "hosts %s" % hosts, "backend pool", "certificate %s" % cert, *extra)
    return Ferry(cfg), be, cfg


class _OpenCounter:
    """Counts open(2)s of one file by any process, with inotify (IN_OPEN events; closes are
    watched too, since inotify merges identical events queued back to back)."""
    IN_OPEN, IN_CLOSE_NOWRITE = 0x20, 0x10

    def __init__(self, path):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, path.encode(), self.IN_OPEN | self.IN_CLOSE_NOWRITE) < 0:
            skip("inotify is not available (errno %d)" % ctypes.get_errno())
        self.opens = 0

    def count(self):
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.opens
            off = 0
            while off < len(buf):  # struct inotify_event: wd, mask, cookie, len, name[len]
                _, mask, _, n = struct.unpack_from("iIII", buf, off)
                self.opens += 1 if mask & self.IN_OPEN else 0
                off += 16 + n

    def close(self):
        os.close(self.fd)


def _get(conn, host, path="/"):
    conn.send("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host))
    return conn.read_response()


def test_sni_selects_certificate_and_routes():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    port = f.port("web")
    ctx = certs.client()
    c = RawConn(port, tls=ctx, sni="a.test")
    assert peer_cn(c) == "cert-a"
    assert c.sock.version() in ("TLSv1.3", "TLSv1.2"), c.sock.version()
    assert c.sock.selected_alpn_protocol() is None  # nothing offered by this client
    for i in range(3):  # keep-alive over TLS
        r = c.get("a.test", "/k/%d" % i)
        assert r.status == 200 and r.json()["path"] == "/k/%d" % i, r
    hdrs = dict((k.lower(), v) for k, v in be.last()["headers"])
    assert hdrs.get("x-forwarded-proto") == "https", hdrs
    assert hdrs.get("x-forwarded-for") == "127.0.0.1", hdrs
    w = RawConn(port, tls=ctx, sni="x.w.test")
    assert peer_cn(w) == "cert-w"
    assert w.get("x.w.test").status == 200
    # ALPN: h2 is preferred when offered (test_http2.py covers it); a client offering only
    # HTTP/1.1 gets HTTP/1.1.
    alpn = certs.client()
    alpn.set_alpn_protocols(["h2", "http/1.1"])
    assert RawConn(port, tls=alpn, sni="a.test").sock.selected_alpn_protocol() == "h2"
    alpn = certs.client()
    alpn.set_alpn_protocols(["http/1.1"])
    a = RawConn(port, tls=alpn, sni="a.test")
    assert a.sock.selected_alpn_protocol() == "http/1.1", a.sock.selected_alpn_protocol()
    assert a.get("a.test").status == 200
    # The plain frontend of the same process still serves plain HTTP.
    assert request(f.port("plain"), host="a.test").status == 200
    # curl, a real client, verifies the chain and the name.
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--cacert", certs.ca, "--resolve", "a.test:%d:127.0.0.1" % port,
                              "https://a.test:%d/curl" % port], capture_output=True, text=True, timeout=20)
        assert out.returncode == 0 and '"/curl"' in out.stdout, (out.returncode, out.stdout, out.stderr)


def test_unknown_name_refused_without_default_certificate():
    certs = TlsCerts()
    f, be, _ = _setup(certs)
    port = f.port("web")
    err = handshake_error(port, certs.client(verify=False), "nothing.test")
    assert err and "UNRECOGNIZED_NAME" in err.upper(), "unknown SNI: %r" % err
    err = handshake_error(port, certs.client(verify=False), None)  # no SNI at all
    assert err, "a handshake without SNI succeeded without a default certificate"
    assert RawConn(port, tls=certs.client(), sni="a.test").get("a.test").status == 200  # still serving


def test_default_certificate_for_unknown_names():
    certs = TlsCerts()
    fallback = certs.issue("cert-default", ["default.test"])
    f, be, _ = _setup(certs, frontend_extra=["default-certificate %s" % fallback])
    port = f.port("web")
    c = RawConn(port, tls=certs.client(verify=False), sni="nothing.test")
    der = c.sock.getpeercert(binary_form=True)
    with open(fallback) as fh:
        pem = fh.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    assert der == ssl.PEM_cert_to_DER_cert(pem), "unknown SNI did not get the default certificate"
    r = c.get("nothing.test")
    assert r.status == 404, r  # TLS is fine; no app has that host
    assert peer_cn(RawConn(port, tls=certs.client(), sni="a.test")) == "cert-a"


def test_tls_min_per_app_and_intermediate_profile():
    certs = TlsCerts()
    apps = [("old", "old.test", certs.issue("cert-old", ["old.test"]), ()),
            ("modern", "modern.test", certs.issue("cert-modern", ["modern.test"]), ("tls-min 1.3",))]
    f, be, _ = _setup(certs, apps=apps)
    port = f.port("web")
    tls12 = certs.client(V12, V12)
    c = RawConn(port, tls=tls12, sni="old.test")
    assert c.sock.version() == "TLSv1.2" and c.get("old.test").status == 200
    assert handshake_error(port, tls12, "modern.test"), "a TLS 1.2 client was served by a tls-min 1.3 app"
    m = RawConn(port, tls=certs.client(), sni="modern.test")
    assert m.sock.version() == "TLSv1.3" and m.get("modern.test").status == 200
    if not shutil.which("openssl"):
        return
    def s_client(*args):
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "old.test"]
                           + list(args), input="", capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout + r.stderr
    # Below TLS 1.2, CBC and RSA key exchange are all refused; ECDHE + AEAD is accepted.
    for args in (["-tls1_1"], ["-tls1"], ["-tls1_2", "-cipher", "AES128-SHA"], ["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
                 ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA"]):
        code, out = s_client(*args)
        assert code != 0, "openssl s_client %s was accepted:\n%s" % (" ".join(args), out[-600:])
    code, out = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert code == 0 and "ECDHE-ECDSA-AES128-GCM-SHA256" in out, out[-600:]
    code, out = s_client("-tls1_2", "-legacy_renegotiation")
    assert "Secure Renegotiation IS NOT supported" not in out, out[-600:]


def test_session_resumption_across_workers():
    certs = TlsCerts()
    f, be, _ = _setup(certs, workers=2)
    port = f.port("web")
    for version in (V12, V13):
        ctx = certs.client(version, version)
        first = RawConn(port, tls=ctx, sni="a.test")
        assert first.get("a.test").status == 200  # TLS 1.3 tickets arrive after the handshake
        session = first.sock.session
        first.close()
        reused = 0
        for _ in range(8):  # SO_REUSEPORT spreads these over both workers
            c = RawConn(port, tls=ctx, sni="a.test", session=session)
            reused += bool(c.sock.session_reused)
            assert c.get("a.test").status == 200
            # Like wrk and most clients, resume from the latest connection's session: on TLS 1.3
            # that needs a fresh ticket after every resumption (once, every other one was full).
            session = c.sock.session
            c.close()
        assert reused == 8, "%s: %d of 8 connections resumed" % (version, reused)
    figure("TLS resumption", "8/8 on TLS 1.2 and 1.3", "")


def test_reload_swaps_certificates_without_dropping_connections():
    certs = TlsCerts()
    old = certs.issue("cert-old", ["a.test"])
    f, be, cfg = _setup(certs, apps=[("a", "a.test", old, ())])
    port = f.port("web")
    ctx = certs.client()
    kept = RawConn(port, tls=ctx, sni="a.test")
    assert peer_cn(kept) == "cert-old" and kept.get("a.test").status == 200
    new = certs.issue("cert-new", ["a.test"])
    res = f.reload(cfg.replace(old, new))
    assert res[0] == "ok", res
    assert peer_cn(RawConn(port, tls=ctx, sni="a.test")) == "cert-new"
    r = kept.get("a.test", "/after-reload")  # the old connection lives on
    assert r.status == 200 and r.json()["path"] == "/after-reload", r
    # A broken certificate file in a reload keeps the running certificates.
    broken = os.path.join(tmpdir(), "broken.pem")
    with open(broken, "w") as fh:
        fh.write("not a certificate\n")
    res = f.reload(cfg.replace(old, broken))
    assert res[0] == "failed" and f.alive(), res
    assert "broken.pem" in f.log, "the failed reload does not name the file"
    assert peer_cn(RawConn(port, tls=ctx, sni="a.test")) == "cert-new"


def test_proxy_protocol_before_tls():
    certs = TlsCerts()
    f, be, _ = _setup(certs, frontend_extra=("proxy-senders 127.0.0.1",), bind_extra=" accept-proxy")
    header = b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 443\r\n"
    c = RawConn(f.port("web"), tls=certs.client(), sni="a.test", prefix=header)
    r = c.get("a.test")
    assert r.status == 200, r
    hdrs = dict((k.lower(), v) for k, v in be.last()["headers"])
    assert hdrs.get("x-forwarded-for") == "203.0.113.7", hdrs
    assert hdrs.get("x-forwarded-port") == "443", hdrs
    # PROXY header and ClientHello in one packet: the bytes after the header reach TLS.
    raw = socket.create_connection(("127.0.0.1", f.port("web")), timeout=5)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = certs.client().wrap_bio(incoming, outgoing, server_hostname="a.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    raw.sendall(header + outgoing.read())
    while True:
        data = raw.recv(65536)
        assert data, "connection closed during the handshake"
        incoming.write(data)
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            if outgoing.pending:
                raw.sendall(outgoing.read())
    if outgoing.pending:
        raw.sendall(outgoing.read())
    assert obj.version() in ("TLSv1.3", "TLSv1.2")
    raw.close()


def test_bodies_and_websocket_over_tls():
    certs = TlsCerts()
    ws = WsEchoBackend()
    be = HttpBackend("bodies")
    cert = certs.issue("cert-a", ["a.test", "ws.test"])
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0 tls", "mode http") \
        + backend_section("pool", [("s1", be.port)]) + backend_section("wsp", [("w1", ws.port)]) \
        + section("app a", "hosts a.test", "backend pool", "certificate %s" % cert) \
        + section("app ws", "hosts ws.test", "backend wsp", "certificate %s" % cert)
    f = Ferry(cfg)
    port = f.port("web")
    ctx = certs.client()
    c = RawConn(port, tls=ctx, sni="a.test", timeout=20)
    body = os.urandom(3 << 20)
    c.send(b"POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    r = c.read_response(timeout=20)
    assert r.status == 200 and r.json()["body_len"] == len(body), r
    assert hashlib.sha256(be.last()["body"].encode("latin-1")).digest() == hashlib.sha256(body).digest()
    r = c.get("a.test", "/big?size=%d" % (5 << 20))
    assert r.status == 200 and len(r.body) == 5 << 20, (r.status, len(r.body))
    r = c.get("a.test", "/chunked?size=300000&chunked=1")
    assert r.status == 200 and len(r.body) == 300000
    # WebSocket through TLS: upgrade, echo both ways, a 1 MiB frame.
    import base64
    key = base64.b64encode(os.urandom(16)).decode()
    w = RawConn(port, tls=ctx, sni="ws.test", timeout=20)
    w.send("GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key)
    resp = w.read_response(allow_1xx=True)
    assert resp.status == 101, resp
    rd = WsReader(w.sock, bytes(w.buf))
    for i in range(5):
        w.send(ws_encode("tls %d" % i))
        assert rd.frame() == (1, b"tls %d" % i)
    big = os.urandom(1 << 20)
    w.send(ws_encode(big, opcode=2))
    assert rd.frame() == (2, big)
    w.send(ws_encode(b"\x03\xe8", opcode=8))
    assert rd.frame() == (8, b"\x03\xe8")


def test_stalled_and_garbage_handshakes():
    certs = TlsCerts()
    be = HttpBackend("stall")
    cert = certs.issue("cert-a", ["a.test"])
    cfg = base_config(log_level="debug") \
        + section("frontend web", "bind 127.0.0.1:0 tls", "mode http", "timeout http-request 1s") \
        + backend_section("pool", [("s1", be.port)]) \
        + section("app a", "hosts a.test", "backend pool", "certificate %s" % cert)
    f = Ferry(cfg)
    port = f.port("web")
    silent = RawConn(port)
    t0 = time.monotonic()
    assert silent.wait_closed(5), "a client that never sent a ClientHello was not closed"
    waited = time.monotonic() - t0
    assert 0.5 < waited < 3, "closed after %.2fs with timeout http-request 1s" % waited
    plain = RawConn(port)
    plain.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")  # plain HTTP on a TLS port
    data = plain.read_all(5)
    assert b"HTTP/1.1 200" not in data and plain.eof, data[:200]
    half = RawConn(port)
    half.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(20))  # a truncated ClientHello
    assert half.wait_closed(5), "a truncated ClientHello kept the connection open"
    # Closing over TLS: after `Connection: close` and after a 400, the client sees the end
    # promptly (close_notify, then FIN), not after a timeout.
    ctx = certs.client()
    c = RawConn(port, tls=ctx, sni="a.test")
    c.send("GET /last HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    assert c.read_response().status == 200
    t0 = time.monotonic()
    assert c.wait_closed(3) and time.monotonic() - t0 < 1, "TLS connection not closed after Connection: close"
    bad = RawConn(port, tls=ctx, sni="a.test")
    bad.send("GET /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert bad.read_response().status == 400
    assert bad.wait_closed(3), "TLS connection not closed after a 400"
    # Still healthy afterwards.
    assert RawConn(port, tls=ctx, sni="a.test").get("a.test").status == 200
    figure("TLS handshake timeout (timeout http-request 1s)", "%.2f" % waited, "s")


def test_certificate_file_read_once_per_load():
    """A certificate file is read once per start, reload and `ferryd -c` (the engine's prepare
    loads, checks and builds from one read), however many directives name it: here two apps
    (one with tls-min 1.3) and the frontend's default-certificate."""
    certs = TlsCerts()
    pem = certs.issue("cert-ab", ["a.test", "b.test"])
    be = HttpBackend("once-be")
    cfg = base_config() \
        + section("frontend web", "bind 127.0.0.1:0 tls", "mode http", "default-certificate %s" % pem) \
        + backend_section("pool", [("s1", be.port)]) \
        + section("app a", "hosts a.test", "backend pool", "certificate %s" % pem) \
        + section("app b", "hosts b.test", "backend pool", "certificate %s" % pem, "tls-min 1.3")
    opens = _OpenCounter(pem)
    try:
        f = Ferry(cfg)
        assert opens.count() == 1, "start read the certificate %d times" % opens.count()
        res = f.reload()
        assert res[0] == "ok", res
        assert opens.count() == 2, "start + reload read the certificate %d times" % opens.count()
        code, out = run_ferryd(["-c", "-f", f.config_path])
        assert code == 0, out
        assert opens.count() == 3, "start + reload + ferryd -c read the certificate %d times" % opens.count()
        c = RawConn(f.port("web"), tls=certs.client(), sni="b.test")
        assert peer_cn(c) == "cert-ab" and c.sock.version() == "TLSv1.3", c.sock.version()
        assert _get(c, "b.test").status == 200
        c.close()
    finally:
        opens.close()


if __name__ == "__main__":
    main()
