"""Fake upstream servers on 127.0.0.1 port 0, each closed (by object or PID) after the test:

  HttpBackend        threaded HTTP/1.1, answers JSON describing the request (or a body of N
                     bytes, a status, a delay, extra headers: chosen per request by the query)
  BackendProcess     the same in a child process (`python3 -m ferrykit http-backend`), to kill -9
  TcpServer          accept loop running handler(sock, server) per connection in a thread
  RawBackend         reads one request head, sends scripted bytes, closes
  WsEchoBackend      RFC 6455 handshake + echo
  TcpEchoBackend     echoes bytes; reports the count after the peer's half-close
  ProxyProtoBackend  receives a PROXY v1/v2 header, then speaks HTTP/1.1 (or echoes)

Threads: each server accepts on its own thread and serves each connection on another; the
counters and records a test reads are guarded by the server's `lock`."""

import http.server
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse

from ferrykit.proxyproto import parse_proxy_header
from ferrykit.suite import kit_process, register
from ferrykit.wire import read_http_request, recv_until
from ferrykit.ws import WsReader, ws_accept_key, ws_encode


class _ThreadingHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ferry-it-backend"
    sys_version = ""
    disable_nagle_algorithm = True  # like real servers: no 40 ms Nagle/delayed-ACK stalls

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        b = self.server.backend
        with b.lock:
            b.connections += 1
            self.conn_id = b.connections
            b.open_socks.add(self.connection)

    def finish(self):
        b = self.server.backend
        with b.lock:
            b.open_socks.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        b = self.server.backend
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)

        def qv(k, default=None):
            return q[k][0] if k in q else default

        try:
            body = self._read_body()
        except (ValueError, ConnectionError):
            self.close_connection = True
            return
        rec = {
            "name": b.name,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
            "body_len": len(body),
            "client": "%s:%d" % self.client_address[:2],
            "conn": self.conn_id,
        }
        is_health = url.path == b.health_path
        counted = not is_health  # in b.in_flight
        with b.lock:
            if is_health:
                b.health_hits += 1
            else:
                b.hits += 1
                b.requests.append(rec)
                b.in_flight += 1
                b.max_in_flight = max(b.max_in_flight, b.in_flight)
        try:
            if is_health:
                ok = b.healthy
                self._send(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", "text/plain", [])
                return
            delay = float(qv("delay", b.delay))
            if delay > 0:
                time.sleep(delay)
            status = int(qv("status", b.status))
            extra = []
            for h in q.get("hdr", []):
                k, _, v = h.partition(":")
                extra.append((k, v))
            if b.respond_headers is not None:  # per-request extra headers chosen by the test
                extra += list(b.respond_headers(rec) or ())
            if "size" in q:
                payload = b"x" * int(qv("size"))
                ctype = "application/octet-stream"
            else:
                payload = (json.dumps(rec) + "\n").encode()
                ctype = "application/json"
            if qv("close") == "1":
                extra.append(("Connection", "close"))
                self.close_connection = True
            chunked = qv("chunked", "1" if b.chunked else "0") == "1"
            # Counted out before the response goes out: once the proxy has the whole response it
            # may send the next request, which must not find this one still counted.
            with b.lock:
                b.in_flight -= 1
                counted = False
            self._send(status, payload, ctype, extra, chunked=chunked)
        finally:
            if counted:
                with b.lock:
                    b.in_flight -= 1

    def _send(self, status, payload, ctype, extra, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        head_only = self.command == "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not head_only:
                n = max(1, len(payload) // 3)
                for i in range(0, len(payload), n):
                    part = payload[i:i + n]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(payload)))
            if not head_only:
                self._headers_buffer.append(b"\r\n" + payload)  # head and body in one write
                self.flush_headers()
            else:
                self.end_headers()
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class HttpBackend:
    """Threaded HTTP/1.1 backend on 127.0.0.1:<random port>.

    Every non-health response is JSON: name, method, path, version, headers [[k, v]...], body,
    body_len, client ("ip:port" of the upstream connection), conn (connection sequence number).
    Query parameters: delay=SECONDS, status=N, chunked=1, size=N (N bytes of 'x' instead of JSON),
    hdr=Name:Value (repeatable, extra response header), close=1. Attributes delay, status,
    chunked, healthy (GET <health_path> answers 200 "ok" or 503) may be changed while it runs;
    respond_headers, when set, is called with each request's record (the dict above) and returns
    extra response headers [(name, value)] (or None).
    """

    def __init__(self, name, delay=0.0, status=200, chunked=False, health_path="/healthz", host="127.0.0.1", port=0):
        self.name = name
        self.delay = delay
        self.status = status
        self.chunked = chunked
        self.healthy = True
        self.health_path = health_path
        self.respond_headers = None
        self.lock = threading.Lock()
        self.hits = 0
        self.health_hits = 0
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = []
        self.open_socks = set()
        srv_cls = _ThreadingHTTPServer
        if ":" in host:
            class _V6(_ThreadingHTTPServer):
                address_family = socket.AF_INET6
            srv_cls = _V6
        self.server = srv_cls((host, port), _Handler)
        self.server.backend = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="backend-%s" % name)
        self.thread.start()
        self._closed = False
        register(self)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def reset(self):
        with self.lock:
            self.hits = 0
            self.requests.clear()

    def kill(self):
        """Closes the listener and every open connection at once (like a crashed server)."""
        if self._closed:
            return
        self._closed = True
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            socks = list(self.open_socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    close = kill

    def __repr__(self):
        return "HttpBackend(%s:%d)" % (self.name, self.port)


class BackendProcess:
    """HttpBackend in a child process (`python3 -m ferrykit http-backend`), so it can be kill -9'ed."""

    def __init__(self, name, delay=0.0, status=200):
        self.name = name
        self.proc = kit_process(["http-backend", "--name", name, "--delay", str(delay), "--status", str(status)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
        register(self)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            self.close()
            raise AssertionError("backend process %s did not start: %r" % (name, line))
        self.port = int(m.group(1))
        self.pid = self.proc.pid

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self):
        self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __repr__(self):
        return "BackendProcess(%s pid=%d)" % (self.name, self.proc.pid)


class TcpServer:
    """Accepts on 127.0.0.1:0 and runs handler(sock, server) per connection in a thread."""

    def __init__(self, handler, name="tcp", host="127.0.0.1"):
        self.name = name
        self.handler = handler
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0
        self.conns = set()
        self.records = []  # whatever handlers want to record
        self.errors = []
        self._closed = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True, name="tcp-%s" % name)
        self.thread.start()
        register(self)

    def _accept_loop(self):
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.add(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.handler(c, self)
        except Exception as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            with self.lock:
                self.conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def record(self, item):
        with self.lock:
            self.records.append(item)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def __repr__(self):
        return "TcpServer(%s:%d)" % (self.name, self.port)


class RawBackend(TcpServer):
    """Reads one request head per connection, then sends `response` bytes and closes.

    `response` may be bytes or a callable(request_head_bytes) -> bytes; `after` seconds of
    sleep before answering; response=None means "close without answering"."""

    def __init__(self, response, delay=0.0, name="raw"):
        self.response = response
        self.delay = delay
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(10)
        head, _ = recv_until(c, b"\r\n\r\n")
        self.record(head)
        if self.delay:
            time.sleep(self.delay)
        resp = self.response(head) if callable(self.response) else self.response
        if resp:
            c.sendall(resp)
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        time.sleep(0.05)


class WsEchoBackend(TcpServer):
    """Minimal RFC 6455 server: handshake, echoes text/binary frames, answers ping and close.

    Records each handshake's request headers. A request without `Upgrade: websocket` gets a
    plain 200 "not a websocket" response."""

    def __init__(self, name="ws"):
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        method, target, headers, _, rest = read_http_request(c)
        self.record({"target": target, "headers": headers})
        if headers.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in headers:
            body = b"not a websocket\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            return
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n" % ws_accept_key(headers["sec-websocket-key"])).encode())
        r = WsReader(c, rest)
        while True:
            op, payload = r.frame()
            if op in (1, 2):
                c.sendall(ws_encode(payload, opcode=op, mask=False))
            elif op == 9:
                c.sendall(ws_encode(payload, opcode=10, mask=False))
            elif op == 8:
                c.sendall(ws_encode(payload[:2], opcode=8, mask=False))
                return


class TcpEchoBackend(TcpServer):
    """Echoes bytes as they arrive; on EOF from the peer (half-close) it sends
    b"--eof after N bytes--\\n" and then closes its side."""

    def __init__(self, name="echo"):
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        total = 0
        while True:
            data = c.recv(65536)
            if not data:
                break
            total += len(data)
            c.sendall(data)
        self.record(total)
        c.sendall(b"--eof after %d bytes--\n" % total)
        c.shutdown(socket.SHUT_WR)


class ProxyProtoBackend(TcpServer):
    """Expects a PROXY v1/v2 header on each connection, records it, then serves HTTP/1.1
    keep-alive requests, answering JSON {"name", "proxy": <header info>, "path", "headers"}.
    With tcp=True it echoes bytes instead of speaking HTTP."""

    def __init__(self, name="pp", tcp=False):
        self.tcp = tcp
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        try:
            info, rest = parse_proxy_header(c)
        except (ValueError, ConnectionError) as e:
            self.record({"error": str(e)})
            return
        self.record(info)
        if self.tcp:
            if rest:
                c.sendall(rest)
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
        while True:
            try:
                method, target, headers, body, rest = read_http_request(c, rest)
            except ConnectionError:
                return
            payload = json.dumps({"name": self.name, "proxy": info, "path": target, "headers": headers}).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(payload), payload))
