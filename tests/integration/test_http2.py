"""Downstream HTTP/2 (nghttp2): h2 over TLS (ALPN) and h2c with prior knowledge on plain binds,
each stream forwarded to HTTP/1.1 upstreams through routing, the app budget, balancing and
retries. Real clients (curl, nghttp, h2load) and a raw frame client (ferrykit.h2client) check:
headers both ways (Host from :authority, X-Forwarded-*, cookie crumbs, no connection-specific fields),
bodies both ways with and without content-length, SETTINGS, the header list limits (431 on
the stream), errors on a stream (404, 50x, budget 503), floods (rapid reset, CONTINUATION,
PING, SETTINGS) with bounded CPU and memory, idle GOAWAY, SIGTERM drain, and client resets
of in-flight streams."""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from ferrykit.backends import HttpBackend, TcpServer
from ferrykit.config import backend_section, section
from ferrykit.fixtures import AppSetup
from ferrykit.h2client import ConnectionClosed, H2Conn
from ferrykit.h2frames import (CANCEL, CONTINUATION, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM, HEADERS,
                               INTERNAL_ERROR, NO_ERROR, PREFACE, PROTOCOL_ERROR, REFUSED_STREAM,
                               SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS,
                               SETTINGS_MAX_HEADER_LIST_SIZE, data_frame, error_name, frame, headers_frames,
                               ping_frame, rst_frame, settings_frame)
from ferrykit.hpack import encode_headers
from ferrykit.load import h2load
from ferrykit.proxyproto import proxy_v1
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, need_tool, tmpdir, wait_until
from ferrykit.wire import RawConn, connect, dead_port, free_port_closed, recv_until, upstream_header

CONNECTION_SPECIFIC = ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade")


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

class Setup(AppSetup):
    """One Ferry: a `tls` frontend "web" (when certs are made) and a plain frontend "plain",
    app "a" (hosts a.test) on backend pool -> HttpBackend, plus any extra sections."""

    def __init__(self, tls=False, workers=2, frontend_extra=(), defaults_extra=(), app_extra=(), extra="",
                 backend_delay=0.0, more_servers=()):
        self.be = HttpBackend("h2-be", delay=backend_delay)
        super().__init__([("s1", self.be.port)] + list(more_servers), tls=tls, workers=workers,
                         frontend_extra=frontend_extra, defaults_extra=defaults_extra, app_extra=app_extra,
                         extra=extra)

    def curl(self, path, *args, tls=True, host="a.test", timeout=30, stdin=None):
        """curl over h2 (TLS, --http2) or h2c (--http2-prior-knowledge). Returns
        (CompletedProcess, http_version, status, headers [(lower name, value)], body bytes)."""
        d = tmpdir()
        hdr, body = os.path.join(d, "curl.hdr"), os.path.join(d, "curl.body")
        port = self.tls_port if tls else self.plain
        url = "%s://%s:%d%s" % ("https" if tls else "http", host, port, path)
        cmd = ["curl", "-sS", "--resolve", "%s:%d:127.0.0.1" % (host, port), "-D", hdr, "-o", body,
               "-w", "%{http_version} %{http_code}", "--max-time", str(timeout)]
        cmd += ["--http2", "--cacert", self.certs.ca] if tls else ["--http2-prior-knowledge"]
        cmd += list(args) + [url]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10, stdin=stdin)
        assert p.returncode == 0, "curl failed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace"))
        version, status = p.stdout.decode().split()
        headers = []
        with open(hdr, "rb") as fh:
            for line in fh.read().decode("latin-1").split("\r\n")[1:]:
                if ":" in line:
                    k, _, v = line.partition(":")
                    headers.append((k.strip().lower(), v.strip()))
        with open(body, "rb") as fh:
            data = fh.read()
        return p, version, int(status), headers, data


def _hdr(echo, name):
    return upstream_header(echo, name)


def _hdr_count(echo, name):
    return sum(1 for k, _ in echo["headers"] if k.lower() == name.lower())


def _no_connection_specific(fields, what):
    names = [k.lower() for k, _ in fields]
    bad = [n for n in names if n in CONNECTION_SPECIFIC]
    assert not bad, "%s carries connection-specific fields %r: %r" % (what, bad, fields)


def _usage(pid):
    """(CPU seconds user+system, VmRSS bytes) of a process."""
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


class Budget:
    """Asserts a flood cost ferryd less than max_cpu seconds and max_rss bytes of RSS growth."""

    def __init__(self, f, name, max_cpu=2.0, max_rss=64 << 20):
        self.f, self.name, self.max_cpu, self.max_rss = f, name, max_cpu, max_rss
        self.cpu0, self.rss0 = _usage(f.pid)

    def check(self):
        cpu1, rss1 = _usage(self.f.pid)
        cpu, rss = cpu1 - self.cpu0, rss1 - self.rss0
        figure("%s_ferryd_cpu" % self.name, "%.2f" % cpu, "s")
        figure("%s_ferryd_rss_growth" % self.name, "%.1f" % (rss / 1048576.0), "MiB")
        assert cpu < self.max_cpu, "%s: ferryd used %.2fs of CPU (bound %.1fs)" % (self.name, cpu, self.max_cpu)
        assert rss < self.max_rss, "%s: ferryd RSS grew by %.1f MiB (bound %.0f MiB)" % (
            self.name, rss / 1048576.0, self.max_rss / 1048576.0)


def _still_serves(s, what):
    c = s.h2c()
    path = "/after-" + what.replace(" ", "-")
    r = c.get("a.test", path, scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == path, \
        "after the %s, a new connection was not served: %r" % (what, r)
    c.close()
    assert s.f.alive(), "ferryd died during the %s" % what


def _send_or_closed(conn, data):
    """sendall; False if the server has closed/reset the connection."""
    try:
        conn.sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        return False
    except socket.timeout:
        return True  # the server is not reading right now


def _drain_nonblocking(conn):
    """Processes whatever frames are already readable; False at EOF."""
    while True:
        try:
            f = conn.read_frame(timeout=0.001)
        except socket.timeout:
            return True
        except (ConnectionResetError, OSError):
            return False
        if f is None:
            return False


# ----------------------------------------------------------------------------------------------
# 1. h2 over TLS
# ----------------------------------------------------------------------------------------------

def test_tls_curl_routing_and_forwarded_headers():
    need_tool("curl")
    s = Setup(tls=True)
    p, version, status, headers, body = s.curl("/hello?x=1")
    assert version == "2", "curl did not negotiate HTTP/2 over TLS: %r" % version
    assert status == 200, (status, body[:300])
    echo = json.loads(body)
    assert echo["path"] == "/hello?x=1" and echo["method"] == "GET", echo
    assert _hdr(echo, "Host") == "a.test:%d" % s.tls_port, "Host is not :authority: %r" % echo["headers"]
    assert _hdr_count(echo, "Host") == 1, echo["headers"]
    assert _hdr(echo, "X-Forwarded-Proto") == "https", echo["headers"]
    assert _hdr(echo, "X-Forwarded-For") == "127.0.0.1", echo["headers"]
    assert echo["version"] == "HTTP/1.1", echo
    rid = dict(headers).get("ferry-request-id")
    assert rid, "no ferry-request-id in the h2 response: %r" % headers
    assert _hdr(echo, "Ferry-Request-Id") == rid, "upstream saw request id %r, client %r" % (
        _hdr(echo, "Ferry-Request-Id"), rid)
    _no_connection_specific(headers, "curl's h2 response")
    assert int(dict(headers)["content-length"]) == len(body), headers


def test_tls_raw_client_headers_cookies_and_connection_fields():
    s = Setup(tls=True)
    c = s.h2()
    assert c.sock.selected_alpn_protocol() == "h2"
    # The backend answers with every kind of connection-specific field, chunked.
    path = ("/raw?chunked=1&hdr=Keep-Alive:timeout%3D5&hdr=Connection:X-Drop-Me&hdr=X-Drop-Me:1"
            "&hdr=Proxy-Connection:keep-alive&hdr=Upgrade:h2c&hdr=X-Keep:yes&hdr=Set-Cookie:a%3D1"
            "&hdr=Set-Cookie:b%3D2")
    sid = c.request("a.test", path, headers=[("cookie", "a=1"), ("cookie", "b=2"), ("user-agent", "h2raw"),
                                                ("cookie", "c=3")])
    r = c.response(sid)
    assert r.status == 200 and r.ended and r.reset is None, r
    echo = json.loads(bytes(r.body))
    assert _hdr_count(echo, "Cookie") == 1, "cookie crumbs not joined into one field: %r" % echo["headers"]
    assert _hdr(echo, "Cookie") == "a=1; b=2; c=3", "cookie crumbs joined wrongly: %r" % _hdr(echo, "Cookie")
    assert _hdr(echo, "Host") == "a.test" and _hdr(echo, "X-Forwarded-Proto") == "https", echo["headers"]
    assert _hdr(echo, "User-Agent") == "h2raw", echo["headers"]
    names = [k for k, _ in r.headers]
    assert names[0] == ":status", r.headers
    assert all(k == k.lower() for k in names), "upper-case field names on h2: %r" % names
    _no_connection_specific(r.headers, "the h2 response")
    assert "x-drop-me" not in names, "a field listed in Connection reached the client: %r" % r.headers
    assert r.header("x-keep") == "yes", r.headers
    assert r.header_all("set-cookie") == ["a=1", "b=2"], r.headers
    assert r.header("ferry-request-id"), r.headers
    # A non-chunked response carries its content-length, and it is right.
    r2 = c.get("a.test", "/raw2?size=1000")
    assert r2.status == 200 and int(r2.header("content-length")) == 1000 == len(r2.body), r2
    # Several streams at once on the connection, answered independently.
    sids = [c.request("a.test", "/multi/%d" % i) for i in range(10)]
    for i, sid in enumerate(sids):
        r = c.response(sid)
        assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/multi/%d" % i, r


def test_stream_state_does_not_reach_the_next_stream():
    """Ferry reuses a connection's stream state (fields, body buffers) for its later streams:
    nothing of one request may reach the next one's upstream request."""
    s = Setup()
    c = s.h2c()
    # A stream kept open (its body not sent yet), so the connection is never idle and the
    # state of each finished stream is kept for the next.
    hold = c.request("a.test", "/hold", method="POST", scheme="http", end_stream=False,
                     headers=[("content-length", "4")])
    sid = c.request("a.test", "/one", method="POST", scheme="http", body=b"first-body",
                    headers=[("content-length", "10"), ("cookie", "a=1"), ("x-secret", "s1"),
                             ("user-agent", "one")])
    r = c.response(sid)
    assert r.status == 200, r
    rec = s.be.last()
    assert rec["path"] == "/one" and rec["body"] == "first-body" and _hdr(rec, "Cookie") == "a=1", rec
    r = c.get("a.test", "/two", scheme="http")
    assert r.status == 200, r
    rec = s.be.last()
    assert rec["path"] == "/two" and rec["method"] == "GET" and rec["body"] == "", rec
    for name in ("Cookie", "X-Secret", "Content-Length", "User-Agent"):
        assert _hdr(rec, name) is None, (name, rec["headers"])
    # Streams at once, each with its own field: each upstream request has its own only.
    s.be.requests.clear()
    sids = [c.request("a.test", "/n/%d" % i, scheme="http", headers=[("x-n", str(i))] * (1 + i % 3))
            for i in range(12)]
    for sid in sids:
        assert c.response(sid).status == 200
    for rec in s.be.requests:
        i = rec["path"].rsplit("/", 1)[1]
        assert [v for k, v in rec["headers"] if k.lower() == "x-n"] == [i] * (1 + int(i) % 3), rec
    c.send_data(hold, b"last", end_stream=True)
    r = c.response(hold)
    assert r.status == 200 and s.be.last()["body"] == "last", (r, s.be.last())


def test_tls_bodies_both_ways():
    need_tool("curl")
    s = Setup(tls=True)
    data = os.urandom(3 * 1024 * 1024)
    path = os.path.join(tmpdir(), "upload.bin")
    with open(path, "wb") as fh:
        fh.write(data)
    digest = hashlib.sha256(data).hexdigest()
    # POST with content-length (curl knows the size).
    p, version, status, headers, body = s.curl("/upload-cl?size=10", "--data-binary", "@" + path,
                                               "-H", "Content-Type: application/octet-stream")
    assert version == "2" and status == 200, (version, status, body[:200])
    rec = s.be.last()
    assert rec["path"] == "/upload-cl?size=10" and rec["method"] == "POST", rec["path"]
    assert _hdr(rec, "Content-Length") == str(len(data)) and _hdr(rec, "Transfer-Encoding") is None, rec["headers"]
    got = rec["body"].encode("latin-1")
    assert len(got) == len(data) and hashlib.sha256(got).hexdigest() == digest, \
        "POST with content-length: %d bytes arrived, %d sent, or content differs" % (len(got), len(data))
    # POST without content-length (curl -T - streams stdin of unknown size): chunked upstream.
    with open(path, "rb") as stdin:
        p, version, status, headers, body = s.curl("/upload-chunked?size=10", "-X", "POST", "-T", "-",
                                                   stdin=stdin)
    assert version == "2" and status == 200, (version, status, body[:200])
    rec = s.be.last()
    assert rec["path"] == "/upload-chunked?size=10", rec["path"]
    assert _hdr(rec, "Content-Length") is None, rec["headers"]
    assert (_hdr(rec, "Transfer-Encoding") or "").lower() == "chunked", rec["headers"]
    got = rec["body"].encode("latin-1")
    assert len(got) == len(data) and hashlib.sha256(got).hexdigest() == digest, \
        "POST without content-length: %d bytes arrived, %d sent, or content differs" % (len(got), len(data))
    # A 5 MB response, with content-length and chunked from the upstream.
    n = 5 * 1024 * 1024
    want = hashlib.sha256(b"x" * n).hexdigest()
    for chunked in ("0", "1"):
        p, version, status, headers, body = s.curl("/big?size=%d&chunked=%s" % (n, chunked))
        assert version == "2" and status == 200, (version, status)
        assert len(body) == n and hashlib.sha256(body).hexdigest() == want, \
            "5 MB response (chunked=%s): %d bytes arrived" % (chunked, len(body))
        cl = dict(headers).get("content-length")
        assert cl == (str(n) if chunked == "0" else None), "content-length %r for chunked=%s" % (cl, chunked)


def test_raw_post_without_content_length_in_one_packet():
    """A request without content-length whose DATA (END_STREAM) arrives in the same read as its
    HEADERS (as gRPC and many clients send small bodies) must reach the upstream complete."""
    s = Setup()
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    for body in (b"hello world", os.urandom(20000)):
        sid = c.new_sid()
        block = encode_headers([(":method", "POST"), (":scheme", "http"), (":authority", "a.test"),
                                (":path", "/one-packet?size=2"), ("content-type", "application/octet-stream")])
        data = b"".join(data_frame(sid, body[i:i + 16384], end_stream=i + 16384 >= len(body))
                        for i in range(0, len(body), 16384))
        c.send(headers_frames(sid, block, end_stream=False) + data)
        r = c.response(sid)
        assert r.status == 200, r
        rec = s.be.last()
        got = rec["body"].encode("latin-1")
        assert got == body, ("request body lost: upstream got %d bytes (framing: content-length=%r "
                             "transfer-encoding=%r), client sent %d" % (len(got), _hdr(rec, "Content-Length"),
                                                                        _hdr(rec, "Transfer-Encoding"), len(body)))
    # The same with HEADERS and DATA in separate packets (the stream coroutine is running).
    sid = c.request("a.test", "/two-packets?size=2", method="POST", scheme="http", end_stream=False)
    time.sleep(0.2)
    c.send_data(sid, b"second packet", end_stream=True)
    r = c.response(sid)
    rec = s.be.last()
    assert r.status == 200 and rec["body"] == "second packet", (r, rec["body"], rec["headers"])


def test_raw_bodies_flow_control():
    """1 MB up without content-length (the client waits for window updates: the server must open
    the windows as bytes reach the upstream) and a 1 MB chunked response down."""
    s = Setup()
    c = s.h2c()
    data = os.urandom(1024 * 1024)
    sid = c.request("a.test", "/flow?size=3", method="POST", scheme="http", end_stream=False)
    c.send_data(sid, data, end_stream=True, timeout=10)
    r = c.response(sid)
    assert r.status == 200, r
    got = s.be.last()["body"].encode("latin-1")
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "%d of %d bytes" % (len(got), len(data))
    # The connection window we may still use never exceeds Ferry's 4 MiB (nghttp2 credits at
    # most what it received; this guards the invariant, not the exact batching).
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # take the WINDOW_UPDATEs still in flight
        try:
            c.read_frame(timeout=0.1)
        except socket.timeout:
            pass
    assert c.send_window <= 4 * 1024 * 1024, "connection window grew to %d" % c.send_window
    r = c.get("a.test", "/down?size=1048576&chunked=1", scheme="http")
    assert r.status == 200 and bytes(r.body) == b"x" * 1048576, (r.status, len(r.body))


# ----------------------------------------------------------------------------------------------
# 2. h2c with prior knowledge
# ----------------------------------------------------------------------------------------------

def test_h2c_prior_knowledge_curl_nghttp_and_http1_same_bind():
    need_tool("curl")
    need_tool("nghttp")
    s = Setup()
    p, version, status, headers, body = s.curl("/h2c", tls=False)
    assert version == "2" and status == 200, (version, status, body[:200])
    echo = json.loads(body)
    assert echo["path"] == "/h2c" and _hdr(echo, "X-Forwarded-Proto") == "http", echo
    assert _hdr(echo, "Host") == "a.test:%d" % s.plain, echo["headers"]
    assert dict(headers).get("ferry-request-id"), headers
    _no_connection_specific(headers, "h2c response")
    # nghttp: prior knowledge for http:// URIs.
    out = subprocess.run(["nghttp", "-v", "-H", ":authority: a.test", "http://127.0.0.1:%d/nghttp" % s.plain],
                         capture_output=True, timeout=20)
    text = out.stdout.decode("latin-1")
    assert out.returncode == 0, (out.returncode, text[-2000:], out.stderr)
    assert re.search(r"recv \(stream_id=\d+\) :status: 200", text), text[-2000:]
    assert '"path": "/nghttp"' in text, text[-2000:]
    assert re.search(r"SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100", text), text[:2000]
    assert "recv GOAWAY" not in text, text[-2000:]
    # Plain HTTP/1.1 on the same bind, keep-alive included.
    c = RawConn(s.plain)
    for i in range(2):
        c.send("GET /h1/%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i)
        r = c.read_response()
        assert r.status == 200 and r.version == "HTTP/1.1" and r.json()["path"] == "/h1/%d" % i, r
    # The h2c preface arriving a few bytes at a time is still recognised.
    sock = connect(s.plain)
    for i in range(0, len(PREFACE), 5):
        sock.sendall(PREFACE[i:i + 5])
        time.sleep(0.02)
    c2 = H2Conn(sock, send_preface=False)
    c2.send(settings_frame({SETTINGS_ENABLE_PUSH: 0}))
    r = c2.get("a.test", "/slow-preface", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/slow-preface", r


# ----------------------------------------------------------------------------------------------
# 3. h2load
# ----------------------------------------------------------------------------------------------

def test_h2load_tls_and_h2c():
    need_tool("h2load")
    s = Setup(tls=True)
    for name, url in (("tls", "https://127.0.0.1:%d/load" % s.tls_port),
                      ("h2c", "http://127.0.0.1:%d/load" % s.plain)):
        text, req, codes, rps, proto = h2load(url)
        assert proto == "h2" if name == "tls" else proto in ("h2c", "h2"), (name, proto, text[-800:])
        assert req[0] == 5000 and req[3] == 5000 and req[4] == 0 and req[5] == 0 and req[6] == 0, (name, req)
        assert codes[0] == 5000, "%s: status codes %r" % (name, codes)
        figure("h2load_%s_req_per_s" % name, "%.0f" % rps, "req/s")
    assert s.f.alive()


# ----------------------------------------------------------------------------------------------
# 4. SETTINGS
# ----------------------------------------------------------------------------------------------

def test_settings_max_concurrent_streams_default_and_configured():
    s = Setup()
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    st = c.server_settings
    assert st.get(SETTINGS_MAX_CONCURRENT_STREAMS) == 100, "default MAX_CONCURRENT_STREAMS: %r" % st
    assert st.get(SETTINGS_MAX_HEADER_LIST_SIZE) == 32 * 1024, "MAX_HEADER_LIST_SIZE: %r" % st
    assert st.get(0x9) == 1, "SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218): %r" % st
    c.read_until(lambda: c.settings_acked >= 1, what="the ACK of our SETTINGS")

    s7 = Setup(frontend_extra=["http2-max-concurrent-streams 7"], backend_delay=0.6)
    c = s7.h2c()
    c.read_until(lambda: c.server_settings is not None and c.settings_acked >= 1, what="SETTINGS exchange")
    assert c.server_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS) == 7, c.server_settings
    # Seven slow streams run at once; all complete.
    sids = [c.request("a.test", "/c/%d" % i, scheme="http") for i in range(7)]
    for sid in sids:
        r = c.response(sid, timeout=10)
        assert r.status == 200, r
    assert s7.be.max_in_flight == 7, "7 allowed streams did not run concurrently: %d" % s7.be.max_in_flight
    # An eighth concurrent stream is refused (stream or connection error) and never reaches the upstream.
    c2 = s7.h2c()
    c2.read_until(lambda: c2.server_settings is not None and c2.settings_acked >= 1, what="SETTINGS exchange")
    s7.be.max_in_flight = 0
    sids = [c2.request("a.test", "/d/%d" % i, scheme="http") for i in range(8)]
    try:
        c2.read_until(lambda: all(c2.streams[x].done for x in sids[:7]) or c2.goaway is not None, timeout=10,
                      what="the streams")
    except ConnectionClosed:
        pass
    eighth = c2.streams[sids[7]]
    assert eighth.reset in (REFUSED_STREAM, PROTOCOL_ERROR) or c2.goaway is not None, \
        "an 8th stream over MAX_CONCURRENT_STREAMS=7 was accepted: %r" % eighth
    assert s7.be.max_in_flight <= 7, s7.be.max_in_flight
    assert "/d/7" not in [r["path"] for r in s7.be.requests], "the refused stream reached the upstream"


# ----------------------------------------------------------------------------------------------
# 5. Header list limits
# ----------------------------------------------------------------------------------------------

def test_header_limits_431_on_the_stream():
    s = Setup(frontend_extra=["http-max-header-size 4k", "http-max-headers 20"])
    c = s.h2c()
    # One field making the list larger than 4k.
    r = c.get("a.test", "/big-header", scheme="http", headers=[("x-big", "v" * 6000)])
    assert r.status == 431, "over http-max-header-size: %r" % r
    assert bytes(r.body).startswith(b"431 "), r
    assert r.header("content-type", "").startswith("text/plain"), r.headers
    assert c.goaway is None, c.goaway
    r = c.get("a.test", "/after-big", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/after-big", r
    # Many small fields, each well under the size limit.
    r = c.get("a.test", "/many", scheme="http", headers=[("x-h%d" % i, "v") for i in range(30)])
    assert r.status == 431, "over http-max-headers: %r" % r
    r = c.get("a.test", "/after-many", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/after-many", r
    # 20 fields are allowed (the limit counts regular fields, not pseudo-headers).
    r = c.get("a.test", "/twenty", scheme="http", headers=[("x-h%d" % i, "v") for i in range(20)])
    assert r.status == 200, "20 fields with http-max-headers 20: %r" % r
    # A header block over several CONTINUATION frames, within the limit, is fine.
    sid = c.new_sid()
    block = encode_headers([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"),
                            (":path", "/continued"), ("x-a", "a" * 1500), ("x-b", "b" * 1500)])
    c.send(headers_frames(sid, block, end_stream=True, max_frame=1000))
    r = c.response(sid)
    assert r.status == 200, r
    rec = s.be.last()
    assert rec["path"] == "/continued" and _hdr(rec, "x-b") == "b" * 1500, rec["path"]
    assert all(p["path"] not in ("/big-header", "/many") for p in s.be.requests), "a 431 request was forwarded"
    assert c.goaway is None, c.goaway


# ----------------------------------------------------------------------------------------------
# 6. Errors on a stream: unknown host, backend down, app budget
# ----------------------------------------------------------------------------------------------

def test_unknown_host_backend_down_and_budget():
    slow = HttpBackend("slow", delay=1.0)
    extra = backend_section("dead", [("d1", dead_port())]) \
        + section("app down", "hosts down.test", "backend dead") \
        + backend_section("slowpool", [("sl1", slow.port)]) \
        + section("app budget", "hosts budget.test", "backend slowpool", "concurrency hard 1 queue 0")
    s = Setup(extra=extra)
    c = s.h2c()
    r = c.get("nope.test", "/x", scheme="http")
    assert r.status == 404 and b"nope.test" in bytes(r.body), r
    assert r.header("ferry-request-id"), r.headers
    assert bytes(r.body).startswith(b"404 "), r
    r = c.get("down.test", "/x", scheme="http")
    assert r.status in (502, 503), r
    assert re.match(rb"50[23] ", bytes(r.body)) and r.header("content-type", "").startswith("text/plain"), r
    assert int(r.header("content-length")) == len(r.body), r
    assert r.header("ferry-request-id"), r.headers
    # Budget: three streams at once on an app with hard 1, queue 0.
    t0 = time.monotonic()
    sids = [c.request("budget.test", "/b/%d" % i, scheme="http") for i in range(3)]
    results = [c.response(sid, timeout=10) for sid in sids]
    statuses = sorted(r.status for r in results)
    assert statuses == [200, 503, 503], "budget hard 1 queue 0: %r" % [(r.status, bytes(r.body)) for r in results]
    for r in results:
        if r.status == 503:
            assert r.header("retry-after") == "1", r.headers
            assert b"concurrency" in bytes(r.body), r
    assert slow.hits == 1, "the upstream saw %d requests" % slow.hits
    assert time.monotonic() - t0 < 5
    # The connection is still good.
    assert c.get("a.test", "/still", scheme="http").status == 200


# ----------------------------------------------------------------------------------------------
# 7. Floods
# ----------------------------------------------------------------------------------------------

def _flood_setup():
    return Setup(workers=1)


def _rapid_reset_connection(s, block, limit):
    """One connection sending HEADERS (END_STREAM) + RST_STREAM pairs, 500 per write, until the
    server ends it or `limit` pairs were sent. Returns (pairs sent, ended, H2Conn)."""
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    sent = 0
    while sent < limit:
        batch = bytearray()
        for _ in range(500):
            sid = 1 + 2 * sent
            batch += frame(HEADERS, END_HEADERS | END_STREAM, sid, block) + rst_frame(sid, CANCEL)
            sent += 1
        if not _send_or_closed(c, bytes(batch)):
            return sent, True, c
        if not _drain_nonblocking(c):
            return sent, True, c
        if c.goaway is not None:
            break
    ended = c.wait_closed(timeout=5)
    c.close()
    return sent, ended, c


def test_rapid_reset_flood():
    s = _flood_setup()
    budget = Budget(s.f, "rapid_reset")
    block = encode_headers([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/rr")])
    t0 = time.monotonic()
    total, conns = 0, 0
    # Tens of thousands of reset streams, over as many connections as it takes.
    while total < 30000 and conns < 60:
        sent, ended, c = _rapid_reset_connection(s, block, 20000)
        total += sent
        conns += 1
        assert ended, "connection %d survived %d HEADERS+RST_STREAM pairs (goaway=%r)" % (conns, sent, c.goaway)
        # The client may write everything before the server has read any of it (loopback
        # buffers hold megabytes), so "cut short" is judged by the GOAWAY's last stream id.
        assert c.goaway is not None or sent < 20000, \
            "all %d reset streams of connection %d were accepted" % (sent, conns)
        if c.goaway is not None:
            # libnghttp2's RST_STREAM rate limiter (CVE-2023-44487 fix; burst 1000 as Ferry sets it)
            # ends the session with GOAWAY INTERNAL_ERROR; Ferry's own flood limits use
            # ENHANCE_YOUR_CALM. Either way the connection must end, after about the burst.
            assert c.goaway[1] in (ENHANCE_YOUR_CALM, INTERNAL_ERROR), \
                "rapid reset ended with GOAWAY %s" % error_name(c.goaway[1])
            assert c.goaway[0] <= 2 * 1100 + 1, \
                "%d streams were accepted before the GOAWAY" % ((c.goaway[0] + 1) // 2)
        if conns == 1:
            figure("rapid_reset_goaway", "%s last_stream_id=%s" % (
                error_name(c.goaway[1]), c.goaway[0]) if c.goaway else None)
    figure("rapid_reset_pairs_sent", total)
    figure("rapid_reset_connections", conns)
    figure("rapid_reset_seconds", "%.2f" % (time.monotonic() - t0), "s")
    figure("rapid_reset_upstream_requests", s.be.hits)
    assert s.be.hits < 500, "reset streams still produced %d upstream requests" % s.be.hits
    budget.check()
    _still_serves(s, "rapid reset flood")


def test_continuation_flood():
    s = _flood_setup()
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    budget = Budget(s.f, "continuation")
    block = encode_headers([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/cf")])
    ok = _send_or_closed(c, frame(HEADERS, END_STREAM, 1, block))  # no END_HEADERS
    sent = 0
    empty = frame(CONTINUATION, 0, 1, b"")
    while ok and sent < 10000:
        ok = _send_or_closed(c, empty * 500)
        sent += 500
        if ok and not _drain_nonblocking(c):
            break
    ended = (not ok) or c.wait_closed(timeout=5)
    figure("continuation_frames_sent", sent)
    figure("continuation_goaway", error_name(c.goaway[1]) if c.goaway else None)
    assert ended, "the connection survived %d empty CONTINUATION frames (goaway=%r)" % (sent, c.goaway)
    assert sent < 10000 or c.goaway is not None, "10000 CONTINUATION frames accepted"
    assert s.be.hits == 0, s.be.hits
    # The same with CONTINUATION frames that each add a field: memory must stay bounded.
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    ok = _send_or_closed(c, frame(HEADERS, END_STREAM, 1, block))
    sent = 0
    while ok and sent < 5000:
        batch = b"".join(frame(CONTINUATION, 0, 1, encode_headers([("x-f%d" % (sent + i), "v" * 1000)]))
                         for i in range(100))
        ok = _send_or_closed(c, batch)
        sent += 100
        if ok and not _drain_nonblocking(c):
            break
    ended = (not ok) or c.wait_closed(timeout=5)
    assert ended, "the connection survived %d field-carrying CONTINUATION frames" % sent
    budget.check()
    _still_serves(s, "CONTINUATION flood")


def _ack_flood(s, name, frame_bytes, limit_frames=400000, seconds=8.0):
    """Sends `frame_bytes` repeatedly without reading anything; returns (closed, frames sent)."""
    c = s.h2c(rcvbuf=4096)
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    c.sock.settimeout(0.5)
    budget = Budget(s.f, name)
    batch = frame_bytes * 1000
    sent = 0
    closed = False
    deadline = time.monotonic() + seconds
    while sent < limit_frames and time.monotonic() < deadline:
        if not _send_or_closed(c, batch):
            closed = True
            break
        sent += 1000
    if not closed:
        # Stop sending; everything we did not read is still queued: the server must have closed.
        closed = c.wait_closed(timeout=5)
    figure("%s_frames_written_by_client" % name, sent)
    budget.check()
    return closed, sent


def test_ping_flood_without_reading():
    s = _flood_setup()
    closed, sent = _ack_flood(s, "ping_flood", ping_frame(b"floodpng"))
    assert closed, "a client sending %d PINGs without reading the ACKs was not disconnected" % sent
    _still_serves(s, "PING flood")


def test_settings_flood_without_reading():
    s = _flood_setup()
    closed, sent = _ack_flood(s, "settings_flood", settings_frame({SETTINGS_ENABLE_PUSH: 0}))
    assert closed, "a client sending %d SETTINGS frames without reading the ACKs was not disconnected" % sent
    # One SETTINGS frame with more entries than allowed (max 32 per frame): ENHANCE_YOUR_CALM.
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    c.send(settings_frame([(SETTINGS_ENABLE_PUSH, 0)] * 100))
    assert c.wait_closed(timeout=5), "a SETTINGS frame with 100 entries did not end the connection"
    assert c.goaway is not None and c.goaway[1] == ENHANCE_YOUR_CALM, \
        "100-entry SETTINGS frame: goaway %r" % (c.goaway,)
    _still_serves(s, "SETTINGS flood")


# ----------------------------------------------------------------------------------------------
# 8. Lifecycle: idle GOAWAY, SIGTERM drain
# ----------------------------------------------------------------------------------------------

def test_idle_connection_gets_goaway_after_keep_alive_timeout():
    s = Setup(defaults_extra=["timeout http-keep-alive 1s"])
    c = s.h2c()
    r = c.get("a.test", "/idle", scheme="http")
    assert r.status == 200, r
    t0 = time.monotonic()
    c.read_until(lambda: c.goaway is not None, timeout=5, what="GOAWAY on an idle connection")
    waited = time.monotonic() - t0
    last, code, _ = c.goaway
    assert code == NO_ERROR and last == 1, "idle GOAWAY: %r" % (c.goaway,)
    assert 0.7 <= waited <= 3.0, "idle GOAWAY after %.2fs with http-keep-alive 1s" % waited
    assert c.wait_closed(timeout=3), "the idle connection was not closed after its GOAWAY"
    figure("idle_goaway_after", "%.2f" % waited, "s")
    # A connection that never opened a stream is timed out the same way (last stream 0).
    c = s.h2c()
    c.read_until(lambda: c.goaway is not None, timeout=5, what="GOAWAY on a connection without streams")
    assert c.goaway[:2] == (0, NO_ERROR), c.goaway
    assert c.wait_closed(timeout=3)


def test_incomplete_header_block_times_out():
    # HEADERS without END_HEADERS and no CONTINUATION: the block must complete within
    # `timeout http-request`, else GOAWAY PROTOCOL_ERROR and close (slowloris).
    s = Setup(defaults_extra=["timeout http-request 1s"])
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    block = encode_headers([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/slow")])
    t0 = time.monotonic()
    c.send(frame(HEADERS, END_STREAM, 1, block))  # no END_HEADERS
    c.read_until(lambda: c.goaway is not None, timeout=5, what="GOAWAY for an incomplete header block")
    waited = time.monotonic() - t0
    assert c.goaway[1] == PROTOCOL_ERROR, c.goaway
    assert 0.7 <= waited <= 3.0, "GOAWAY after %.2fs with http-request 1s" % waited
    assert c.wait_closed(timeout=3)
    assert s.be.hits == 0
    assert s.h2c().get("a.test", "/after", scheme="http").status == 200


def test_head_error_page_has_no_body():
    s = Setup()
    c = s.h2c()
    sid = c.request("unknown.test", "/", method="HEAD", scheme="http")
    r = c.response(sid)
    assert r.status == 404 and r.ended and r.reset is None, r
    assert bytes(r.body) == b"", "a HEAD response carried DATA: %r" % bytes(r.body)
    assert int(r.header("content-length")) > 0, r.headers


def test_h2c_preface_in_the_same_segment_as_the_proxy_header():
    s = Setup(frontend_extra=())
    cfg = s.cfg.replace("bind 127.0.0.1:0\n", "bind 127.0.0.1:0 accept-proxy\n    proxy-senders 127.0.0.0/8\n")
    assert cfg != s.cfg
    f = Ferry(cfg)
    port = f.port("plain")
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(proxy_v1("192.0.2.7", "127.0.0.1", 5555, port) + PREFACE + settings_frame({}))
    c = H2Conn(sock, send_preface=False)
    r = c.get("a.test", "/pp", scheme="http")
    assert r.status == 200, r
    assert upstream_header(json.loads(bytes(r.body)), "X-Forwarded-For") == "192.0.2.7"


def test_sigterm_drain_completes_stream_then_goaway():
    s = Setup()
    c = s.h2c()
    idle = s.h2c()
    assert idle.get("a.test", "/idle-before", scheme="http").status == 200
    sid = c.request("a.test", "/drain?delay=1.5", scheme="http")
    wait_until(lambda: s.be.in_flight == 1, timeout=5, what="the slow request at the backend")
    t0 = time.monotonic()
    s.f.signal(signal.SIGTERM)
    # The busy connection is told at once too (no new streams), before its stream ends.
    c.read_until(lambda: c.goaway is not None, timeout=1.0, what="GOAWAY on the busy connection at drain")
    assert c.goaway[1] == NO_ERROR and c.goaway[0] >= sid, c.goaway
    assert not c.streams[sid].ended, "the GOAWAY came only after the stream ended"
    # The idle connection is told to go away at once.
    idle.read_until(lambda: idle.goaway is not None, timeout=3, what="GOAWAY on the idle connection at drain")
    assert idle.goaway[1] == NO_ERROR and idle.goaway[0] == 1, idle.goaway
    assert idle.wait_closed(timeout=3), "the idle h2 connection was not closed at drain"
    # The in-flight stream completes, then GOAWAY and close.
    r = c.response(sid, timeout=10)
    assert r.status == 200 and r.ended and r.reset is None, r
    assert json.loads(bytes(r.body))["path"] == "/drain?delay=1.5", r
    assert time.monotonic() - t0 >= 1.0, "the response came before the backend's delay"
    t1 = time.monotonic()
    closed_at = None
    try:
        c.read_until(lambda: c.goaway is not None, timeout=8, what="GOAWAY after the drained stream")
    except (ConnectionClosed, AssertionError):
        closed_at = time.monotonic() - t1 if c.eof else None
    waited = time.monotonic() - t1
    assert c.goaway is not None and waited < 2.0, (
        "drain: the connection's last stream ended, then %s; ferryd log: %r" % (
            "GOAWAY only after %.1fs" % waited if c.goaway is not None else
            ("no GOAWAY, and ferryd closed the connection %.1fs later" % closed_at if closed_at is not None
             else "no GOAWAY and no close within 8s"), s.f.log_lines("drain")))
    assert c.goaway[1] == NO_ERROR and c.goaway[0] >= sid, c.goaway
    assert c.wait_closed(timeout=5), "the drained connection was not closed"
    code = s.f.wait(timeout=10)
    assert code == 0, "ferryd exit code %r after drain" % code


# ----------------------------------------------------------------------------------------------
# 9. Client resets an in-flight stream
# ----------------------------------------------------------------------------------------------

def test_client_reset_closes_upstream_connection():
    events = []
    lock = threading.Lock()

    def handler(sock, srv):
        sock.settimeout(10)
        head, _ = recv_until(sock, b"\r\n\r\n")
        with lock:
            events.append(("request", time.monotonic(), head.split(b"\r\n")[0]))
        try:
            d = sock.recv(4096)  # the proxy should close this connection when the client resets
        except socket.timeout:
            d = b"timeout"
        except OSError:
            d = b""
        with lock:
            events.append(("eof" if not d else "data", time.monotonic(), d[:50]))

    hold = TcpServer(handler, name="hold")
    extra = backend_section("holdpool", [("h1", hold.port)]) + section("app hold", "hosts hold.test",
                                                                       "backend holdpool")
    s = Setup(extra=extra)
    c = s.h2c()
    sid = c.request("hold.test", "/held", scheme="http")
    wait_until(lambda: any(e[0] == "request" for e in events), timeout=5, what="the request at the upstream")
    t0 = time.monotonic()
    c.rst(sid, CANCEL)
    wait_until(lambda: len(events) >= 2, timeout=5, what="the upstream connection to be closed after RST_STREAM")
    kind, t1, data = events[1]
    assert kind == "eof", "after the client's reset the upstream connection saw %r %r" % (kind, data)
    assert t1 - t0 < 2.0, "upstream connection closed %.2fs after the reset" % (t1 - t0)
    # The connection and Ferry keep serving; nothing is written for the reset stream.
    r = c.get("a.test", "/after-reset", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/after-reset", r
    assert c.streams[sid].headers is None, "a response was sent on the reset stream: %r" % c.streams[sid]
    assert c.goaway is None, c.goaway
    # Same with the JSON backend (a pooled keep-alive upstream): the reset request's connection
    # must not be reused for the next request (its response would be read as the next one's).
    s.be.delay = 0.8
    sid = c.request("a.test", "/reset-me", scheme="http")
    wait_until(lambda: s.be.in_flight == 1, timeout=5, what="the request at the backend")
    c.rst(sid, CANCEL)
    time.sleep(0.1)
    s.be.delay = 0.0
    for i in range(3):
        r = c.get("a.test", "/next/%d" % i, scheme="http")
        assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/next/%d" % i, \
            "request after a reset got another request's response: %r" % r
    time.sleep(1.0)  # the backend finishes the reset request
    wait_until(lambda: len(s.be.open_socks) <= 1, timeout=5,
               what="upstream connections left open after the reset (%d)" % len(s.be.open_socks))
    r = c.get("a.test", "/final", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/final", r
    assert s.f.alive()


def _reset_streams(s, phase):
    """Resets 8 requests to app a: 'connect' right after HEADERS (in the same packet, while the
    upstream connection is being set up), 'inflight' once the request is at the upstream."""
    c = s.h2c()
    c.read_until(lambda: c.server_settings is not None, what="server SETTINGS")
    block = encode_headers([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"),
                            (":path", "/reset?delay=0.4")])
    for i in range(8):
        sid = c.new_sid()
        if phase == "connect":
            c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, block) + rst_frame(sid, CANCEL))
            time.sleep(0.05)
        else:
            c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
            deadline = time.monotonic() + 5
            while s.be.in_flight < 1 and not c._stream(sid).done and time.monotonic() < deadline:
                _drain_nonblocking(c)
                time.sleep(0.01)
            st = c._stream(sid)
            assert s.be.in_flight >= 1, ("request %d of this client, after %d reset in flight, did not reach the "
                                         "backend: %s %r; ferryd log: %r" % (i + 1, i, st.status, bytes(st.body),
                                                                            s.f.log_lines("ejected")[:2]))
            c.rst(sid, CANCEL)
            wait_until(lambda: s.be.in_flight == 0, timeout=5, what="the backend to finish")
    _drain_nonblocking(c)
    assert c.goaway is None, c.goaway
    # Another client, on a new connection, must still be served by the (healthy) server.
    other = s.h2c()
    r = other.get("a.test", "/other-client", scheme="http")
    ejected = s.f.log_lines("ejected")
    assert r.status == 200 and not ejected, (
        "after one client reset 8 of its own streams (%s), another client got %s %r; ferryd log: %r"
        % (phase, r.status, bytes(r.body), ejected[:2]))


def test_client_resets_during_connect_do_not_eject_the_server():
    s = Setup()
    _reset_streams(s, "connect")


def test_client_resets_in_flight_do_not_eject_the_server():
    s = Setup()
    _reset_streams(s, "inflight")


def test_client_reset_is_not_retried_on_another_server():
    """A request the client has reset is abandoned, not replayed to the next server."""
    b2 = HttpBackend("h2-be2", delay=0.5)
    s = Setup(backend_delay=0.5, more_servers=[("s2", b2.port)])
    c = s.h2c()
    sid = c.request("a.test", "/abandoned", scheme="http")
    wait_until(lambda: s.be.in_flight + b2.in_flight >= 1, timeout=5, what="the request at a backend")
    c.rst(sid, CANCEL)
    time.sleep(1.2)  # both backends' delay, and then some
    hits = s.be.hits + b2.hits
    assert hits == 1, "a request reset by the client reached %d servers (s1 %d, s2 %d)" % (hits, s.be.hits, b2.hits)


if __name__ == "__main__":
    main()
