"""HTTP/1 on the wire, client side: http.client requests, a raw socket connection with a
buffered response parser, raw request reading for scripted servers, loopback port helpers.

Everything here runs on the calling thread; RawConn registers itself with the running test
(closed after it). Errors: socket errors propagate; ConnectionError means the peer closed
before a complete message; AssertionError a malformed one."""

import http.client
import json
import socket
import time

from ferrykit.suite import register


def free_port_closed(addr="127.0.0.1"):
    """A port on the loopback address `addr` with nothing listening (bound then closed):
    connects get refused."""
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dead_port(addr="127.0.0.1"):
    """A port on `addr` that stays bound, not listening, until the test ends: connects get
    refused, and no other socket (a backend's own port-0 bind) can be given it meanwhile, as
    can happen to a free_port_closed() port."""
    s = socket.socket()
    s.bind((addr, 0))
    register(s)
    return s.getsockname()[1]


def ipv6_loopback_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


class Response:
    def __init__(self, status, reason, headers, body, version="HTTP/1.1", raw_head=b""):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.version = version
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError("response is not JSON: %d %r" % (self.status, self.body[:300]))

    def __repr__(self):
        return "<Response %s %d %r %r>" % (self.version, self.status, self.headers, self.body[:200])


def upstream_header(echo, name):
    """A request header as the JSON-echo backend saw it (None if absent; joined if repeated)."""
    vals = [v for k, v in echo["headers"] if k.lower() == name.lower()]
    return ", ".join(vals) if vals else None


def request(port, path="/", method="GET", host="app.test", headers=None, body=None, timeout=10.0,
            addr="127.0.0.1", conn=None):
    """One request with http.client. A new connection unless `conn` (HTTPConnection) is given."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data, "HTTP/1.%d" % (r.version - 10))
    finally:
        if own:
            conn.close()


def connect(port, addr="127.0.0.1", timeout=5.0, source=None, nodelay=False):
    """A TCP socket connected to addr:port, from the local address `source` if given, with
    TCP_NODELAY if `nodelay`."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((addr, port))
    if nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_all(sock, timeout=None):
    """Everything `sock` receives until the peer closes (with `timeout` set on it, if given)."""
    if timeout is not None:
        sock.settimeout(timeout)
    out = bytearray()
    while True:
        d = sock.recv(65536)
        if not d:
            return bytes(out)
        out += d


class RawConn:
    """A raw client socket with a buffered HTTP/1 response parser. With `tls` (an
    ssl.SSLContext) the connection is TLS: SNI `sni`, resuming `session` if given; `prefix`
    bytes (e.g. a PROXY header) are sent in the clear before the handshake. With `sock` (an
    already connected socket) it wraps that instead of connecting to `port`."""

    def __init__(self, port=None, addr="127.0.0.1", timeout=5.0, tls=None, sni=None, session=None, prefix=b"",
                 sock=None):
        self.sock = sock if sock is not None else connect(port, addr, timeout)
        if prefix:
            self.sock.sendall(prefix)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=sni, session=session)
        self.buf = bytearray()
        self.eof = False
        register(self)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def get(self, host, path="/"):
        """Sends `GET path` with `host` on this connection and reads the response."""
        self.send("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host))
        return self.read_response()

    def _fill(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("eof in response line/headers: %r" % bytes(self.buf[:300]))
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _read_n(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("eof in body (%d of %d bytes)" % (len(self.buf), n))
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def read_head(self, timeout=5.0):
        """Reads a status line + headers. Returns (version, status, reason, headers, raw)."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("eof before a complete response head: %r" % bytes(self.buf[:300]))
        i = self.buf.index(b"\r\n\r\n")
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError("bad status line %r" % lines[0])
        headers = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers.append((k.strip(), v.strip()))
        return parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else ""), headers, raw

    def read_response(self, head_request=False, timeout=5.0, allow_1xx=False):
        """Reads one response; skips 1xx interim responses unless allow_1xx."""
        while True:
            version, status, reason, headers, raw = self.read_head(timeout)
            if 100 <= status < 200 and status != 101 and not allow_1xx:
                continue
            break
        resp = Response(status, reason, headers, b"", version, raw)
        if head_request or 100 <= status < 200 or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                size = int(self._read_line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self._read_line() != b"":
                        pass
                    break
                body += self._read_n(size)
                if self._read_line() != b"":
                    raise AssertionError("bad chunk terminator")
            resp.body = bytes(body)
        elif resp.header("Content-Length") is not None:
            resp.body = self._read_n(int(resp.header("Content-Length")))
        else:
            while self._fill():
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def wait_closed(self, timeout=3.0):
        """True if the peer closes (EOF or reset) within timeout; extra bytes are kept in buf."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except socket.timeout:
                return False
            except OSError:
                self.eof = True
        return True

    def read_all(self, timeout=5.0):
        """Reads until EOF (or timeout); returns everything buffered."""
        self.wait_closed(timeout)
        d = bytes(self.buf)
        self.buf.clear()
        return d

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def recv_until(sock, marker, limit=1 << 20, buf=b""):
    """Reads until `marker` is in the buffer; returns (head_including_marker, rest)."""
    data = bytearray(buf)
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("eof before %r (got %r)" % (marker, bytes(data[:200])))
        data += chunk
        if len(data) > limit:
            raise ValueError("no %r within %d bytes" % (marker, limit))
    i = data.index(marker) + len(marker)
    return bytes(data[:i]), bytes(data[i:])


def read_http_request(sock, buf=b""):
    """Reads one request (head + Content-Length body) from a raw socket.

    Returns (method, target, headers {lower: value}, body, rest)."""
    head, rest = recv_until(sock, b"\r\n\r\n", buf=buf)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0") or 0)
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return method, target, headers, rest[:n], rest[n:]
