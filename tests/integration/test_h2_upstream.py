"""Upstream HTTP/2 (`server NAME ADDR proto h2c`): Ferry speaks HTTP/2 with prior knowledge to
the server, multiplexing requests of HTTP/1.1 and HTTP/2 clients as streams over a few shared
connections per worker. Against H2Backend (a stdlib h2c server) these tests check: the
request as the server sees it (:authority from Host, :scheme, X-Forwarded-*, ferry-request-id,
no connection-specific fields) and the response as the client sees it, 3 MB bodies both ways
with and without content-length (sha256), multiplexing (h2load, connection counts), trailers
end to end (HTTP/2 trailing HEADERS, HTTP/1.1 chunked trailers, `te: trailers` upstream),
failures (server down, connection killed mid-response, GOAWAY, client reset of a stream
waiting on a slow server), `ferryd -c` errors for `proto`, and pool-idle-timeout."""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

from ferrykit.config import backend_section, base_config, section
from ferrykit.fixtures import AppSetup
from ferrykit.h2backend import H2Backend
from ferrykit.h2client import ConnectionClosed, H2Conn
from ferrykit.h2frames import CANCEL, CONTINUATION, DATA, END_STREAM, HEADERS, error_name
from ferrykit.load import h2load
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import figure, main, need_tool, tmpdir, wait_until
from ferrykit.tls import TlsCerts, server_context
from ferrykit.wire import RawConn, dead_port, request

CONNECTION_SPECIFIC = ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade")


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

class Setup(AppSetup):
    """One Ferry with a plain frontend "plain" (HTTP/1.1 and h2c), optionally a tls frontend
    "web", app "a" (hosts a.test) on backend pool -> one `proto h2c` server, an H2Backend."""

    def __init__(self, tls=False, workers=2, backend=None, backend_lines=(), server_port=None, defaults_extra=(),
                 **backend_kw):
        self.be = backend if backend is not None else (H2Backend(**backend_kw) if server_port is None else None)
        port = server_port if server_port is not None else self.be.port
        super().__init__([("s1", port, "proto h2c")], tls=tls, workers=workers, defaults_extra=defaults_extra,
                         backend_lines=backend_lines)

    def last_request(self, path):
        """The backend's record of the last request for `path`."""
        with self.be.lock:
            recs = [r for r in self.be.requests if r["path"] == path]
        assert recs, "the backend never saw %s; it saw %r" % (path, [r["path"] for r in self.be.requests][-10:])
        return recs[-1]


def _fields(rec, name):
    return [v for k, v in rec["headers"] if k == name.lower()]


def _field(rec, name):
    v = _fields(rec, name)
    return ", ".join(v) if v else None


def _check_upstream_request(rec, method, path, authority, proto, what, request_id=None):
    """What the h2c server must see for a request forwarded by Ferry."""
    assert rec["method"] == method and rec["path"] == path, "%s: upstream saw %s %s" % (what, rec["method"], rec["path"])
    assert rec["authority"] == authority, "%s: :authority %r, client's Host was %r" % (what, rec["authority"], authority)
    assert rec["scheme"] == "http", "%s: :scheme %r (the upstream hop is cleartext)" % (what, rec["scheme"])
    names = [k for k, _ in rec["headers"]]
    assert all(k == k.lower() for k in names), "%s: upper-case field names on h2: %r" % (what, names)
    bad = [k for k in names if k in CONNECTION_SPECIFIC or k == "host"]
    assert not bad, "%s: the h2c server got connection-specific fields / host %r: %r" % (what, bad, rec["headers"])
    assert _field(rec, "te") in (None, "trailers"), "%s: te %r upstream" % (what, _field(rec, "te"))
    assert _field(rec, "x-forwarded-for") == "127.0.0.1", "%s: %r" % (what, rec["headers"])
    assert _field(rec, "x-forwarded-proto") == proto, "%s: x-forwarded-proto %r, want %s" % (
        what, _field(rec, "x-forwarded-proto"), proto)
    assert _field(rec, "x-forwarded-host") == authority, "%s: x-forwarded-host %r, Host %r" % (
        what, _field(rec, "x-forwarded-host"), authority)
    rid = _field(rec, "ferry-request-id")
    assert rid, "%s: no ferry-request-id upstream: %r" % (what, rec["headers"])
    if request_id is not None:
        assert rid == request_id, "%s: upstream ferry-request-id %r, the client got %r" % (what, rid, request_id)


def _no_connection_specific(fields, what):
    bad = [k.lower() for k, _ in fields if k.lower() in CONNECTION_SPECIFIC]
    assert not bad, "%s carries connection-specific fields %r: %r" % (what, bad, fields)


def _sha(data):
    return hashlib.sha256(bytes(data)).hexdigest()


def _send_chunked(conn, data, pieces=7):
    n = len(data) // pieces + 1
    for i in range(0, len(data), n):
        part = data[i:i + n]
        conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
    conn.send(b"0\r\n\r\n")


def _read_chunked_raw(conn, timeout=5.0):
    """Reads a chunked body off a RawConn (after its head). Returns (body, trailer lines, raw
    bytes after the head); raises ConnectionError if the connection ends before the last chunk."""
    body = bytearray()
    conn.sock.settimeout(timeout)
    raw = bytearray()
    while True:
        line = conn._read_line()
        raw += line + b"\r\n"
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            trailers = []
            while True:
                t = conn._read_line()
                raw += t + b"\r\n"
                if t == b"":
                    return bytes(body), trailers, bytes(raw)
                trailers.append(t.decode("latin-1"))
        d = conn._read_n(size)
        body += d
        raw += d
        crlf = conn._read_line()
        raw += crlf + b"\r\n"
        assert crlf == b"", "bad chunk terminator %r" % crlf


def _ejected(s):
    return s.f.log_lines("ejected")


# ----------------------------------------------------------------------------------------------
# 1. HTTP/1.1 client -> h2c upstream
# ----------------------------------------------------------------------------------------------

def test_http1_client_get_post_bodies_and_headers():
    s = Setup()
    c = RawConn(s.plain, timeout=10)
    # GET, with connection-specific fields the upstream must not get (one named in Connection).
    c.send("GET /h1/get?x=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: it-h1\r\nX-Custom: yes\r\n"
           "Connection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\n"
           "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.version == "HTTP/1.1", r
    assert r.header("Content-Type") == "application/json" and r.header("X-H2-Backend") == "1", r.headers
    assert r.header("Content-Length") == str(len(r.body)), "content-length %r for %d bytes" % (
        r.header("Content-Length"), len(r.body))
    assert r.header("Transfer-Encoding") is None, r.headers
    rid = r.header("Ferry-Request-Id")
    assert rid, "no Ferry-Request-Id in the response: %r" % r.headers
    echo = r.json()
    _check_upstream_request(echo, "GET", "/h1/get?x=1", "a.test", "http", "HTTP/1.1 GET", rid)
    assert echo == s.last_request("/h1/get?x=1"), "the client's body is not the server's JSON"
    assert _field(echo, "x-custom") == "yes" and _field(echo, "user-agent") == "it-h1", echo["headers"]
    assert _field(echo, "accept") == "*/*", echo["headers"]
    assert _field(echo, "x-drop-me") is None, "a field listed in Connection reached the server: %r" % echo["headers"]
    assert _field(echo, "te") is None, "te upstream although the client sent none: %r" % echo["headers"]
    assert echo["body_len"] == 0, echo

    # POST, 3 MB with content-length, on the same client connection (keep-alive).
    data = os.urandom(3 * 1024 * 1024)
    c.send(b"POST /h1/post-cl HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Length: %d\r\n\r\n" % len(data))
    c.send(data)
    r = c.read_response(timeout=20)
    assert r.status == 200, r
    echo = r.json()
    _check_upstream_request(echo, "POST", "/h1/post-cl", "a.test", "http", "HTTP/1.1 POST with content-length",
                            r.header("Ferry-Request-Id"))
    assert echo["body_len"] == len(data) and echo["body_sha256"] == _sha(data), \
        "POST with content-length: the server got %d bytes (sha %s), the client sent %d" % (
            echo["body_len"], echo["body_sha256"][:12], len(data))
    assert _field(echo, "content-length") in (None, str(len(data))), echo["headers"]
    assert _field(echo, "content-type") == "application/octet-stream", echo["headers"]

    # POST, 3 MB chunked (no content-length): DATA frames upstream, no transfer-encoding.
    data2 = os.urandom(3 * 1024 * 1024)
    c.send(b"POST /h1/post-chunked HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    _send_chunked(c, data2)
    r = c.read_response(timeout=20)
    assert r.status == 200, r
    echo = r.json()
    _check_upstream_request(echo, "POST", "/h1/post-chunked", "a.test", "http", "HTTP/1.1 chunked POST",
                            r.header("Ferry-Request-Id"))
    assert echo["body_len"] == len(data2) and echo["body_sha256"] == _sha(data2), \
        "chunked POST: the server got %d bytes, the client sent %d (or the content differs)" % (
            echo["body_len"], len(data2))
    assert _field(echo, "content-length") is None, echo["headers"]

    # A 3 MB response (the server keeps within Ferry's flow-control windows).
    n = 3 * 1024 * 1024 + 17
    c.send("GET /big/%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % n)
    r = c.read_response(timeout=20)
    assert r.status == 200 and r.header("Content-Length") == str(n), (r.status, r.headers)
    assert len(r.body) == n and _sha(r.body) == _sha(H2Backend.big_body(n)), \
        "3 MB response: %d of %d bytes arrived, or the content differs" % (len(r.body), n)

    # Host with a port becomes :authority as is.
    r = request(s.plain, "/h1/port", host="a.test:%d" % s.plain)
    assert r.status == 200, r
    _check_upstream_request(r.json(), "GET", "/h1/port", "a.test:%d" % s.plain, "http", "Host with port",
                            r.header("Ferry-Request-Id"))


def test_empty_request_body_with_content_length_0():
    """`Content-Length: 0` (an empty form POST, a DELETE with a length) must be forwarded as a
    stream that ends, not one that waits for body bytes that never come (`timeout server` 2s
    bounds the wait)."""
    s = Setup(defaults_extra=("timeout server 2s",))
    results = []
    t0 = time.monotonic()
    r = request(s.plain, "/h1/empty-post", method="POST", host="a.test", body=b"",
                headers={"Content-Length": "0"}, timeout=10)
    results.append(("HTTP/1.1 POST Content-Length: 0", r.status, time.monotonic() - t0, r.body[:80]))
    c = s.h2c()
    t0 = time.monotonic()
    sid = c.request("a.test", "/h2/empty-post", method="POST", scheme="http", headers=[("content-length", "0")])
    st = c.response(sid, timeout=10)
    results.append(("HTTP/2 POST content-length: 0", st.status, time.monotonic() - t0, bytes(st.body[:80])))
    # Without any length (END_STREAM on HEADERS) as a control.
    t0 = time.monotonic()
    sid = c.request("a.test", "/h2/empty-post-nolen", method="POST", scheme="http")
    st = c.response(sid, timeout=10)
    results.append(("HTTP/2 POST without content-length", st.status, time.monotonic() - t0, bytes(st.body[:80])))
    bad = [x for x in results if x[1] != 200 or x[2] > 1.5]
    assert not bad, "empty request bodies: %s" % "; ".join("%s -> %s after %.1fs %r" % x for x in bad)
    for path in ("/h1/empty-post", "/h2/empty-post", "/h2/empty-post-nolen"):
        rec = s.last_request(path)
        assert rec["method"] == "POST" and rec["body_len"] == 0, rec


# ----------------------------------------------------------------------------------------------
# 2. HTTP/2 clients (h2c prior knowledge, TLS h2) -> h2c upstream
# ----------------------------------------------------------------------------------------------

def _h2_client_checks(s, c, scheme, proto, what):
    sid = c.request("a.test", "/h2/get?x=1", scheme=scheme,
                    headers=[("user-agent", "it-h2"), ("x-custom", "yes"), ("cookie", "a=1"), ("cookie", "b=2")])
    r = c.response(sid)
    assert r.status == 200 and r.ended and r.reset is None, "%s: %r" % (what, r)
    assert r.header("content-type") == "application/json" and r.header("x-h2-backend") == "1", r.headers
    assert r.header("content-length") == str(len(r.body)), "%s: content-length %r for %d bytes" % (
        what, r.header("content-length"), len(r.body))
    assert r.trailers is None, "%s: trailers on a content-length response: %r" % (what, r.trailers)
    _no_connection_specific(r.headers, "%s: the response" % what)
    rid = r.header("ferry-request-id")
    assert rid, r.headers
    echo = json.loads(bytes(r.body))
    _check_upstream_request(echo, "GET", "/h2/get?x=1", "a.test", proto, "%s GET" % what, rid)
    assert echo == s.last_request("/h2/get?x=1"), "%s: the client's body is not the server's JSON" % what
    assert _field(echo, "x-custom") == "yes" and _field(echo, "user-agent") == "it-h2", echo["headers"]
    assert "a=1" in (_field(echo, "cookie") or "") and "b=2" in (_field(echo, "cookie") or ""), echo["headers"]

    # 3 MB POST with content-length.
    data = os.urandom(3 * 1024 * 1024)
    sid = c.request("a.test", "/h2/post-cl", method="POST", scheme=scheme,
                    headers=[("content-length", str(len(data))), ("content-type", "application/octet-stream")],
                    end_stream=False)
    c.send_data(sid, data, end_stream=True, timeout=20)
    r = c.response(sid, timeout=20)
    assert r.status == 200 and r.ended, "%s POST: %r" % (what, r)
    echo = json.loads(bytes(r.body))
    _check_upstream_request(echo, "POST", "/h2/post-cl", "a.test", proto, "%s POST with content-length" % what,
                            r.header("ferry-request-id"))
    assert echo["body_len"] == len(data) and echo["body_sha256"] == _sha(data), \
        "%s POST with content-length: the server got %d bytes, the client sent %d (or the content differs)" % (
            what, echo["body_len"], len(data))
    # 3 MB POST without content-length.
    data = os.urandom(3 * 1024 * 1024)
    sid = c.request("a.test", "/h2/post-nolen", method="POST", scheme=scheme, end_stream=False)
    c.send_data(sid, data, end_stream=True, timeout=20)
    r = c.response(sid, timeout=20)
    assert r.status == 200 and r.ended, "%s POST without length: %r" % (what, r)
    echo = json.loads(bytes(r.body))
    _check_upstream_request(echo, "POST", "/h2/post-nolen", "a.test", proto, "%s POST without content-length" % what,
                            r.header("ferry-request-id"))
    assert echo["body_len"] == len(data) and echo["body_sha256"] == _sha(data), \
        "%s POST without content-length: the server got %d bytes, the client sent %d (or the content differs)" % (
            what, echo["body_len"], len(data))
    assert _field(echo, "content-length") is None, echo["headers"]
    # 3 MB response.
    n = 3 * 1024 * 1024 + 5
    r = c.get("a.test", "/big/%d" % n, scheme=scheme, timeout=20)
    assert r.status == 200 and r.ended and r.header("content-length") == str(n), (r.status, r.headers)
    assert len(r.body) == n and _sha(r.body) == _sha(H2Backend.big_body(n)), \
        "%s: 3 MB response: %d of %d bytes, or the content differs" % (what, len(r.body), n)
    # Streams at once on the client connection, each answered with its own response.
    sids = [c.request("a.test", "/h2/multi/%d" % i, scheme=scheme) for i in range(20)]
    for i, sid in enumerate(sids):
        r = c.response(sid)
        assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/h2/multi/%d" % i, r
    assert c.goaway is None, c.goaway


def test_http2_clients_h2c_and_tls():
    s = Setup(tls=True)
    c = s.h2c()
    _h2_client_checks(s, c, "http", "http", "h2c client")
    c2 = s.h2()
    _h2_client_checks(s, c2, "https", "https", "TLS h2 client")
    # A real client as well: curl over TLS h2.
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--http2", "--cacert", s.certs.ca, "--resolve",
                              "a.test:%d:127.0.0.1" % s.tls_port, "-D", "-", "-w", "\n%{http_version}",
                              "https://a.test:%d/curl" % s.tls_port], capture_output=True, timeout=20)
        text = out.stdout.decode("latin-1")
        assert out.returncode == 0 and text.rstrip().endswith("\n2"), (out.returncode, text[-500:], out.stderr)
        assert re.search(r"^HTTP/2 200", text, re.M) and re.search(r"^x-h2-backend: 1", text, re.M), text[:500]
        rec = s.last_request("/curl")
        _check_upstream_request(rec, "GET", "/curl", "a.test:%d" % s.tls_port, "https", "curl h2")


# ----------------------------------------------------------------------------------------------
# 3. Multiplexing
# ----------------------------------------------------------------------------------------------

def test_multiplexing_few_upstream_connections():
    need_tool("h2load")
    workers = 2
    s = Setup(workers=workers)
    # 200 streams at once from the start (no warm-up: the first burst is part of the test).
    n, clients, streams = 2000, 4, 50
    _, req, codes, rps, _ = h2load("http://127.0.0.1:%d/mux" % s.plain, n=n, c=clients, m=streams)
    h2_conns = s.be.connections
    per_conn = {}
    for rec in s.be.requests:
        per_conn[rec["conn"]] = per_conn.get(rec["conn"], 0) + 1
    figure("h2_upstream_h2load_req_per_s", "%.0f" % rps, "req/s")
    figure("h2_upstream_h2load_requests_at_backend", len(s.be.requests))
    figure("h2_upstream_h2load_connections", h2_conns)
    figure("h2_upstream_h2load_connections_with_1_request", sum(1 for v in per_conn.values() if v == 1))
    figure("h2_upstream_h2load_max_requests_per_connection", max(per_conn.values()) if per_conn else 0)
    assert req[3] == n and codes[0] == n, (
        "h2load: requests %r, status codes %r (the backend got %d TCP connections, %d with a single request; "
        "ferryd log: %r)" % (req, codes, h2_conns, sum(1 for v in per_conn.values() if v == 1), _ejected(s)[:2]))
    assert len(s.be.requests) == n, "the backend saw %d requests, h2load sent %d" % (len(s.be.requests), n)

    # 200 HTTP/1.1 requests from 40 threads at once share the upstream connections too.
    errors, statuses = [], []
    lock = threading.Lock()
    go = threading.Event()

    def one(i):
        go.wait(5)
        try:
            for j in range(5):
                r = request(s.plain, "/mux-h1/%d/%d" % (i, j), host="a.test", timeout=10)
                with lock:
                    statuses.append(r.status)
        except Exception as e:
            with lock:
                errors.append(repr(e))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join(30)
    figure("h2_upstream_connections_after_h1_clients", s.be.connections)
    assert not errors and statuses == [200] * 200, "HTTP/1.1 clients: errors %r, statuses %r" % (
        errors[:3], sorted(set(statuses)))
    assert not _ejected(s) and s.f.alive()

    # 200 streams in flight over 2 workers: each worker needs 1-2 connections at 100 streams
    # each (the backend's SETTINGS_MAX_CONCURRENT_STREAMS); allow up to 4 per worker.
    limit = workers * 4
    assert h2_conns <= limit, (
        "%d requests (%d concurrent) used %d upstream TCP connections (want <= %d: a few per worker); "
        "%d of them carried a single request" % (n, clients * streams, h2_conns, limit,
                                                 sum(1 for v in per_conn.values() if v == 1)))
    assert s.be.connections <= limit, "after 200 HTTP/1.1 requests: %d upstream connections" % s.be.connections


# ----------------------------------------------------------------------------------------------
# 4. Trailers
# ----------------------------------------------------------------------------------------------

def test_trailers_to_http2_client():
    s = Setup()
    c = s.h2c()
    c.record = True
    sid = c.request("a.test", "/grpc/echo.Echo/Say", method="POST", scheme="http",
                    headers=[("content-type", "application/grpc"), ("te", "trailers")], body=b"\0\0\0\0\x05hello")
    r = c.response(sid)
    assert r.status == 200 and r.reset is None and r.ended, r
    assert r.header("content-type") == "application/grpc", r.headers
    assert r.trailers is not None, "no trailing HEADERS on the stream: %r" % r
    t = dict(r.trailers)
    assert t.get("grpc-status") == "0" and t.get("grpc-message") == "ok", "trailers %r" % r.trailers
    assert not any(k.startswith(":") for k, _ in r.trailers), r.trailers
    frames = [f for f in c.frames if f.stream_id == sid]
    last = frames[-1]
    assert last.type in (HEADERS, CONTINUATION) and (last.type == CONTINUATION or last.flags & END_STREAM), \
        "the stream does not end with the trailing HEADERS: %r" % frames
    heads = [f for f in frames if f.type == HEADERS]
    assert len(heads) == 2 and heads[-1].flags & END_STREAM and not heads[0].flags & END_STREAM, frames
    assert not any(f.type == DATA and f.flags & END_STREAM for f in frames), \
        "END_STREAM on DATA before the trailers: %r" % frames
    echo = json.loads(bytes(r.body))
    assert _field(echo, "te") == "trailers", "the server did not get te: trailers: %r" % echo["headers"]
    assert echo["body_len"] == 10, echo
    # nghttp, a real client, sees the trailer too.
    if shutil.which("nghttp"):
        out = subprocess.run(["nghttp", "-v", "-H", ":authority: a.test", "-H", "te: trailers",
                              "http://127.0.0.1:%d/grpc/nghttp" % s.plain], capture_output=True, timeout=20)
        text = out.stdout.decode("latin-1")
        assert out.returncode == 0, (out.returncode, text[-1500:])
        assert re.search(r"recv \(stream_id=\d+\) grpc-status: 0", text), text[-1500:]
        assert re.search(r"recv HEADERS frame <[^>]*flags=0x05, stream_id=\d+>\s*; END_STREAM \| END_HEADERS", text), text[-1500:]


def test_trailers_to_http1_client():
    s = Setup()
    c = RawConn(s.plain)
    c.send("GET /grpc/h1 HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\n\r\n")
    version, status, reason, headers, raw_head = c.read_head()
    hd = dict((k.lower(), v) for k, v in headers)
    assert status == 200 and version == "HTTP/1.1", raw_head
    assert hd.get("transfer-encoding", "").lower() == "chunked", "not chunked: %r" % raw_head
    assert "content-length" not in hd, raw_head
    body, trailers, raw = _read_chunked_raw(c)
    assert raw.endswith(b"\r\n\r\n"), raw[-100:]
    tl = [t.lower().replace(" ", "") for t in trailers]
    assert "grpc-status:0" in tl and "grpc-message:ok" in tl, \
        "no grpc-status trailer after the last chunk; raw body end: %r" % raw[-120:]
    echo = json.loads(body)
    assert _field(echo, "te") == "trailers", "the server did not get te: trailers: %r" % echo["headers"]
    assert _field(echo, "connection") is None, echo["headers"]
    # The same connection, without TE: the server gets no te; the body still ends properly.
    c.send("GET /grpc/h1-no-te HTTP/1.1\r\nHost: a.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    echo = json.loads(r.body)
    assert _field(echo, "te") is None, "te upstream although the client sent none: %r" % echo["headers"]
    # A content-length response after that, on the same connection.
    c.send("GET /plain-after HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["path"] == "/plain-after", r
    assert _field(r.json(), "te") == "trailers", r.json()["headers"]


def test_interim_and_bodiless_answers_to_http1_client():
    """Response heads come from the HTTP/2 fields themselves: a 103 goes on to an HTTP/1.1
    client before the answer, and an answer that ended with its HEADERS (no content-length)
    reaches it with Content-Length: 0 on a connection that stays usable."""
    s = Setup()
    c = RawConn(s.plain)
    c.send("GET /early/x HTTP/1.1\r\nHost: a.test\r\n\r\n")
    version, status, reason, headers, raw_head = c.read_head()
    assert status == 103, "no 103 Early Hints before the answer: %r" % raw_head
    assert ("link", "</style.css>; rel=preload") in [(k.lower(), v) for k, v in headers], raw_head
    r = c.read_response()
    assert r.status == 200 and r.json()["path"] == "/early/x", r
    for st in ("200", "204"):
        c.send("GET /empty/%s HTTP/1.1\r\nHost: a.test\r\n\r\n" % st)
        version, status, reason, headers, raw_head = c.read_head()
        hd = dict((k.lower(), v) for k, v in headers)
        assert status == int(st), raw_head
        if st == "200":
            assert hd.get("content-length") == "0", "an empty answer without its length: %r" % raw_head
        else:
            assert "content-length" not in hd and "transfer-encoding" not in hd, raw_head
        assert "connection" not in hd, "the connection was closed after an empty answer: %r" % raw_head
    c.send("GET /after-empty HTTP/1.1\r\nHost: a.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["path"] == "/after-empty", r


# ----------------------------------------------------------------------------------------------
# 5. Failures
# ----------------------------------------------------------------------------------------------

def test_backend_down():
    s = Setup(server_port=dead_port())
    r = request(s.plain, "/down", host="a.test")
    assert r.status in (502, 503), "server down: HTTP/1.1 client got %r" % r
    c = s.h2c()
    r = c.get("a.test", "/down-h2", scheme="http")
    assert r.status in (502, 503) and r.ended, "server down: HTTP/2 client got %r" % r
    assert s.f.alive()


def test_backend_kills_connection_mid_response():
    s = Setup(workers=1)
    # HTTP/1.1 client, content-length response: the body must stay short and the connection end.
    for path, framing in (("/kill/1000", "content-length"), ("/kill/1000/nolength", "chunked")):
        c = RawConn(s.plain, timeout=10)
        c.send("GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n" % path)
        try:
            version, status, reason, headers, raw_head = c.read_head()
        except ConnectionError:
            status = None  # an error before the head is an error too
        if status is not None:
            assert status == 200, raw_head  # the head was forwarded before the kill
            hd = dict((k.lower(), v) for k, v in headers)
            if framing == "content-length":
                assert hd.get("content-length") == "65536", raw_head
                rest = c.read_all(timeout=8)
                assert c.eof, "the client connection stayed open after the upstream died"
                assert len(rest) < 65536, "a complete 65536-byte body for a killed response"
            else:
                assert hd.get("transfer-encoding", "").lower() == "chunked", raw_head
                complete = None
                try:
                    body, trailers, raw = _read_chunked_raw(c, timeout=8)
                    complete = (len(body), raw[-40:])
                except (ConnectionError, OSError, socket.timeout) as e:
                    assert not isinstance(e, socket.timeout), "neither the end nor a close within 8s"
                assert complete is None, ("HTTP/1.1 client: a killed upstream response ended with the last "
                                          "chunk, as if complete: %r" % (complete,))
        c.close()
    # HTTP/2 client: RST_STREAM (or no END_STREAM), never a cleanly ended stream.
    for path in ("/kill/1000", "/kill/1000/nolength"):
        c = s.h2c()
        sid = c.request("a.test", path, scheme="http")
        try:
            r = c.response(sid, timeout=8)
        except ConnectionClosed:
            r = c.streams[sid]
        assert not (r.ended and r.reset is None), "HTTP/2 client: a killed upstream response ended cleanly: %r" % r
        assert len(r.body) < 65536, r
    # Later requests get a new upstream connection.
    r = request(s.plain, "/after-kill", host="a.test")
    assert r.status == 200 and r.json()["path"] == "/after-kill", r
    assert s.be.connections == 5, "connections %d, want 4 killed + 1" % s.be.connections
    assert not _ejected(s) and s.f.alive()


def test_backend_goaway_new_connection():
    s = Setup(workers=1, goaway_after=1, goaway_grace=0.5)
    r = request(s.plain, "/ga/1", host="a.test")
    assert r.status == 200 and r.json()["conn"] == 1, r
    wait_until(lambda: s.be.goaways_sent, timeout=3, what="the backend's GOAWAY")
    time.sleep(0.2)
    # Ferry must not use the connection after GOAWAY: the next request goes on a new one.
    r = request(s.plain, "/ga/2", host="a.test")
    assert r.status == 200 and r.json()["path"] == "/ga/2", "after GOAWAY: %r" % r
    assert r.json()["conn"] == 2 and s.be.connections == 2, "the request after GOAWAY went on connection %r" % (
        r.json()["conn"],)
    assert not s.be.refused, "streams opened after GOAWAY: %r" % s.be.refused
    # The old connection is closed (by Ferry: no streams left; else by the backend after its grace).
    wait_until(lambda: any(cl[0] == 1 for cl in s.be.closes), timeout=3, what="connection 1 to close")
    how = [cl[2] for cl in s.be.closes if cl[0] == 1][0]
    print("  connection 1 after GOAWAY closed by %s" % ("ferryd" if how == "eof" else "the backend (%s)" % how))
    # Once more: the new connection sends GOAWAY after its first response too.
    wait_until(lambda: len(s.be.goaways_sent) == 2, timeout=3, what="the second GOAWAY")
    time.sleep(0.2)
    r = request(s.plain, "/ga/3", host="a.test")
    assert r.status == 200 and r.json()["conn"] == 3, "after the second GOAWAY: %r" % r


def test_backend_goaway_under_load():
    """GOAWAY every 5 responses while 8 clients send GETs and small POSTs: streams the server
    refused (above GOAWAY's last stream id) were never processed and go to a new connection."""
    s = Setup(workers=1, goaway_after=5, goaway_grace=0.3)
    errors, results = [], []
    lock = threading.Lock()

    def client(i):
        try:
            for j in range(6):
                if j % 2:
                    r = request(s.plain, "/gal/%d/%d" % (i, j), method="POST", host="a.test", body=b"x" * 100,
                                timeout=10)
                else:
                    r = request(s.plain, "/gal/%d/%d" % (i, j), host="a.test", timeout=10)
                with lock:
                    results.append((r.status, "/gal/%d/%d" % (i, j), r.body[:120]))
        except Exception as e:
            with lock:
                errors.append(repr(e))
    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    bad = [x for x in results if x[0] != 200]
    seen = set(r["path"] for r in s.be.requests)
    bad_seen = [x[1] for x in bad if x[1] in seen]
    figure("goaway_load_connections", s.be.connections)
    figure("goaway_load_refused_streams", len(s.be.refused))
    assert not errors and not bad and len(results) == 48, (
        "under GOAWAY: %d of 48 answered, errors %r, %d non-200 (%d of them GET), e.g. %r; streams refused by "
        "GOAWAY: %d; of the failed requests, %d ever reached the backend (%r): the others were never processed "
        "and were safe to retry (RFC 9113 §8.7)" % (
            len(results), errors[:3], len(bad), sum(1 for x in bad if int(x[1].rsplit("/", 1)[1]) % 2 == 0),
            bad[:3], len(s.be.refused), len(bad_seen), bad_seen[:3]))
    # A connection serves its 5 plus what was already in flight when its GOAWAY went out
    # (at most one per client): the GOAWAYs forced at least 48 / (5 + 8) connections.
    assert s.be.connections >= 48 // (5 + 8), s.be.connections


def test_client_reset_cancels_upstream_stream():
    s = Setup(workers=1)
    c = s.h2c()
    # Warm the upstream connection.
    r = c.get("a.test", "/warm", scheme="http")
    assert r.status == 200, r
    for i in range(7):  # more than eject-after (5)
        path = "/slow/3000/%d" % i
        sid = c.request("a.test", path, scheme="http")
        wait_until(lambda: any(q["path"] == path for q in s.be.requests), timeout=5,
                   what="request %s at the backend" % path)
        up_sid = s.last_request(path)["sid"]
        up_conn = s.last_request(path)["conn"]
        t0 = time.monotonic()
        c.rst(sid, CANCEL)
        wait_until(lambda: any(x[:2] == (up_conn, up_sid) for x in s.be.resets), timeout=2,
                   what="RST_STREAM for upstream stream %d after the client's reset of %s (resets seen: %r)" % (
                         up_sid, path, s.be.resets))
        code = [x[2] for x in s.be.resets if x[:2] == (up_conn, up_sid)][0]
        assert code == CANCEL, "upstream RST_STREAM code %s" % error_name(code)
        if i == 0:
            figure("upstream_rst_after_client_reset_ms", "%.0f" % ((time.monotonic() - t0) * 1000), "ms")
    # The server is not ejected; requests go on, on the same upstream connection.
    r = c.get("a.test", "/after-resets", scheme="http")
    assert r.status == 200 and json.loads(bytes(r.body))["path"] == "/after-resets", r
    other = s.h2c()
    r = other.get("a.test", "/other-client", scheme="http")
    assert r.status == 200, r
    r = request(s.plain, "/after-resets-h1", host="a.test")
    assert r.status == 200, r
    assert not _ejected(s), "the server was ejected after client resets: %r" % _ejected(s)
    assert s.be.connections == 1, "client resets cost upstream connections: %d" % s.be.connections
    assert not s.be.closes, s.be.closes
    assert c.goaway is None, c.goaway
    for sid in range(3, 3 + 2 * 7, 2):
        assert c.streams[sid].headers is None, "a response on a reset stream: %r" % c.streams[sid]


# ----------------------------------------------------------------------------------------------
# 6. Config errors
# ----------------------------------------------------------------------------------------------

def _check_config(server_line, pattern, what):
    cfg = ("defaults\n    timeout client 5s\nfrontend web\n    bind 127.0.0.1:0\n    default-app a\n"
           "backend b\n%s\napp a\n    backend b\n" % server_line)
    path = os.path.join(tmpdir(), "proto.conf")
    with open(path, "w") as f:
        f.write(cfg)
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 1, "ferryd -c accepted %s (exit %d):\n%s" % (what, code, out)
    assert re.search(pattern, out, re.M), "%s: diagnostic does not match /%s/:\n%s" % (what, pattern, out)
    return out


def test_config_proto_errors():
    # Valid: h2c, h1.
    for opt in ("proto h2c", "proto h1", "weight 2 proto h2c maxconn 10", "proto h2 verify none sni x.test"):
        cfg = ("defaults\n    timeout client 5s\nfrontend web\n    bind 127.0.0.1:0\n    default-app a\n"
               "backend b\n    server s1 127.0.0.1:9 %s\napp a\n    backend b\n" % opt)
        path = os.path.join(tmpdir(), "ok.conf")
        with open(path, "w") as f:
            f.write(cfg)
        code, out = run_ferryd(["-c", "-f", path])
        assert code == 0 and "Configuration file is valid" in out, "%r rejected (exit %d):\n%s" % (opt, code, out)
    # TLS options only with `proto h2`; a CA file that does not exist.
    _check_config("    server s1 127.0.0.1:9 proto h2c sni x.test", r"proto\.conf:7:\d+: error: .*only", "'sni' on h2c")
    _check_config("    server s1 127.0.0.1:9 proto h2 ca-file /nonexistent/ca.pem",
                  r"/nonexistent/ca\.pem: cannot load CA certificates", "a missing ca-file")
    # h2c with send-proxy (either order) and send-proxy-v2.
    for line in ("    server s1 127.0.0.1:9 proto h2c send-proxy", "    server s1 127.0.0.1:9 send-proxy-v2 proto h2c"):
        _check_config(line, r"proto\.conf:7:\d+: error: .*send-proxy", "'%s'" % line.strip())
    # An unknown value.
    line = "    server s1 127.0.0.1:9 proto spdy"
    col = line.index("spdy") + 1
    _check_config(line, r"proto\.conf:7:%d: error: .*(spdy|proto)" % col, "'proto spdy'")
    # A missing value.
    _check_config("    server s1 127.0.0.1:9 proto", r"proto\.conf:7:\d+: error: .*proto", "'proto' without value")


# ----------------------------------------------------------------------------------------------
# 6b. proto h2: HTTP/2 over TLS to the server
# ----------------------------------------------------------------------------------------------

def _tls_backend(certs, name, alpn=("h2",)):
    return H2Backend(tls_ctx=server_context(certs.issue("upstream-" + name, [name]), alpn))


def _tls_ferry(port, server_opts):
    cfg = base_config(workers=1, defaults_extra=["timeout connect 2s", "timeout server 5s"])
    cfg += section("frontend plain", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("pool", [("s1", port, "proto h2 " + server_opts)], "eject-after 0")
    cfg += section("app a", "hosts a.test", "backend pool")
    return Ferry(cfg)


def test_proto_h2_over_tls():
    certs = TlsCerts()
    be = _tls_backend(certs, "backend.test")
    f = _tls_ferry(be.port, "ca-file %s sni backend.test" % certs.ca)
    # HTTP/1.1 and HTTP/2 clients alike, verified TLS with ALPN h2, :scheme https.
    r = request(f.port("plain"), "/tls-up", host="a.test")
    assert r.status == 200, r
    e = r.json()
    assert e["scheme"] == "https" and e["authority"] == "a.test" and e["path"] == "/tls-up", e
    c = H2Conn.connect(f.port("plain"))
    g = c.get("a.test", "/grpc/tls", scheme="http", headers=[("te", "trailers")])
    assert g.status == 200 and g.trailers and dict(g.trailers).get("grpc-status") == "0", g
    assert be.alpn and all(a == "h2" for a in be.alpn), be.alpn
    assert be.connections == 1, be.connections  # both requests shared one TLS connection

    # A certificate for another name: refused (verification on), logged, no request reaches it.
    f2 = _tls_ferry(be.port, "ca-file %s sni other.test" % certs.ca)
    n = len(be.requests)
    r = request(f2.port("plain"), "/wrong-name", host="a.test")
    assert r.status in (502, 503), r
    assert len(be.requests) == n
    f2.wait_log(r"TLS to upstream other\.test failed")
    # `verify none` accepts it.
    f3 = _tls_ferry(be.port, "verify none sni other.test")
    assert request(f3.port("plain"), "/no-verify", host="a.test").status == 200

    # A TLS server that does not choose h2: refused with the reason.
    h1only = _tls_backend(certs, "h1.test", alpn=("http/1.1",))
    f4 = _tls_ferry(h1only.port, "ca-file %s sni h1.test" % certs.ca)
    r = request(f4.port("plain"), "/h1-only", host="a.test")
    assert r.status in (502, 503), r
    f4.wait_log(r"did not choose ALPN h2")


# ----------------------------------------------------------------------------------------------
# 7. Idle upstream connections
# ----------------------------------------------------------------------------------------------

def test_idle_upstream_connection_closed_after_pool_idle_timeout():
    s = Setup(workers=1, backend_lines=("pool-idle-timeout 1s",))
    c = RawConn(s.plain)
    # Busy for longer than the idle timeout: requests keep the connection in use.
    for i in range(6):
        if i:
            time.sleep(0.3)
        c.send("GET /idle/%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i)
        r = c.read_response()
        t0 = time.monotonic()  # the connection's last use
        assert r.status == 200 and r.json()["conn"] == 1, r
    assert not s.be.closes, "the upstream connection closed while in use: %r" % s.be.closes
    wait_until(lambda: s.be.closes, timeout=4, what="the idle upstream connection to be closed")
    conn, t_close, how = s.be.closes[0]
    idle = t_close - t0
    figure("h2_upstream_idle_close_after", "%.2f" % idle, "s")
    assert conn == 1 and how == "eof", s.be.closes
    assert 0.8 <= idle <= 2.0, "idle upstream connection closed after %.2fs (pool-idle-timeout 1s)" % idle
    assert s.be.open_connections == 0, s.be.open_connections
    # The next request opens a new one.
    c.send("GET /idle/after HTTP/1.1\r\nHost: a.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["conn"] == 2, r
    assert not _ejected(s)


if __name__ == "__main__":
    main()
