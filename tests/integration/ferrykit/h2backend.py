"""An HTTP/2 server for upstream tests (h2c with prior knowledge, or h2 over TLS): answers
each stream with a JSON description of the request (or a gRPC-like answer with trailers, a
large body, a slow answer, a connection killed mid-body), sends GOAWAY after N responses on
request, and records what it saw (requests, resets, closes).

Threads: one reader thread per connection (a backends.TcpServer handler); each response is
sent by its own thread within the client's flow-control windows; records are guarded by
the backend's `lock`, a connection's windows by its `cond`."""

import hashlib
import json
import select
import socket
import ssl
import struct
import threading
import time

from ferrykit.backends import TcpServer
from ferrykit.h2frames import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, NO_ERROR,
                               PING, PREFACE, RST_STREAM, SETTINGS, SETTINGS_INITIAL_WINDOW_SIZE,
                               SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_FRAME_SIZE, WINDOW_UPDATE,
                               data_frame, goaway_frame, headers_frames, parse_frame, ping_frame,
                               settings_frame, window_update_frame)
from ferrykit.hpack import Decoder, encode_headers


class _H2BackendConn:
    """One connection of an H2Backend: the handler thread reads frames; each response is sent
    by its own thread, within the client's flow-control windows (so a slow or large response
    never blocks the other streams, nor the reading of WINDOW_UPDATE frames)."""

    def __init__(self, backend, sock, number):
        self.be = backend
        self.sock = sock
        self.number = number
        self.wlock = threading.Lock()        # one frame sequence at a time on the socket
        self.cond = threading.Condition()    # windows, resets, death
        self.send_window = 65535
        self.initial_window = 65535
        self.stream_windows = {}
        self.max_frame = 16384
        self.reset_sids = set()
        self.dead = False
        self.max_sid = 0                     # highest stream id received
        self.goaway_last = None              # our GOAWAY's last stream id, once sent
        self.responded = 0
        self.pending = 0                     # responses not yet completely sent

    def send(self, data):
        with self.wlock:
            self.sock.sendall(data)

    def reserve(self, sid, want, timeout=10.0):
        """Takes up to `want` bytes of window for `sid`; 0 if the stream or connection died."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if self.dead or sid in self.reset_sids:
                    return 0
                n = min(want, self.max_frame, self.send_window, self.stream_windows.get(sid, 0))
                if n > 0:
                    self.send_window -= n
                    self.stream_windows[sid] -= n
                    return n
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("h2 backend: no window for stream %d within %.0fs" % (sid, timeout))
                self.cond.wait(left)

    def kill(self):
        """Closes the connection abruptly (no GOAWAY)."""
        with self.cond:
            self.dead = True
            self.cond.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class H2Backend:
    """An HTTP/2 cleartext server on 127.0.0.1:0 (backends.TcpServer per connection thread).

    Each request gets: HEADERS (:status 200, content-type, x-h2-backend: 1) and a JSON body
    {"method", "path", "authority", "scheme", "headers": [[name, value]...], "body_len",
    "body_sha256", "conn", "sid"}; with content-length unless the path starts with /grpc, which
    answers like gRPC: no length, then trailers grpc-status: 0 and grpc-message: ok (END_STREAM
    on the trailers). Paths:
      /slow/<ms>   waits first (in the stream's own thread: other streams go on).
      /big/<n>     n bytes (a fixed pseudo-random pattern, big_body(n)) instead of JSON, with
                   content-length, within the client's flow-control windows.
      /kill/<n>    HEADERS announcing content-length 65536 (none when the path has "nolength"),
                   n bytes of DATA, then the connection is closed abruptly.
      /early/...   a 103 (link: </style.css>; rel=preload) before the usual answer.
      /empty/<st>  only HEADERS :status <st> with END_STREAM: no body, no content-length.
    `goaway_after=N`: after the Nth response on a connection, GOAWAY (NO_ERROR, last stream =
    the highest received); later streams are ignored (RFC 9113 §6.8), the connection is closed
    once its streams are answered and the peer closes (or after `goaway_grace` seconds).

    Records: `requests` (every complete request, in arrival order), `connections` (accepted so
    far), `open_connections`, `resets` [(conn, sid, error code)] of RST_STREAM received,
    `refused` [(conn, sid)] streams ignored after our GOAWAY, `goaways_sent` [(conn, last)],
    `closes` [(conn, monotonic time, how)] with how "eof" (the client closed), "killed" (/kill),
    "goaway" (closed by us after GOAWAY), "error". Windows are reopened as request data
    arrives, so large uploads flow."""

    def __init__(self, goaway_after=None, max_streams=100, goaway_grace=2.0, tls_ctx=None):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.open_connections = 0
        self.resets = []
        self.refused = []
        self.goaways_sent = []
        self.closes = []
        self.goaway_after = goaway_after
        self.goaway_grace = goaway_grace
        self.max_streams = max_streams
        self.conns = []
        # `tls_ctx`: an ssl.SSLContext (server side, ALPN h2 set by the caller): HTTP/2 over TLS.
        self.tls_ctx = tls_ctx
        self.alpn = []  # ALPN chosen per TLS connection
        self.server = TcpServer(self._handle, name="h2backend")
        self.port = self.server.port

    @staticmethod
    def big_body(n):
        """The body of /big/<n>."""
        block = bytes((i * 131 + (i >> 8) * 7 + 13) & 0xFF for i in range(65536))
        return (block * (n // 65536 + 1))[:n]

    def _closed(self, c, how):
        with self.lock:
            self.open_connections -= 1
            self.closes.append((c.number, time.monotonic(), how))

    def _handle(self, sock, server):
        if self.tls_ctx is not None:
            sock.settimeout(10)
            sock = self.tls_ctx.wrap_socket(sock, server_side=True)
            with self.lock:
                self.alpn.append(sock.selected_alpn_protocol())
        with self.lock:
            self.connections += 1
            self.open_connections += 1
            c = _H2BackendConn(self, sock, self.connections)
            self.conns.append(c)
        how = "error"
        try:
            how = self._serve(c)
        finally:
            with c.cond:
                c.dead = True
                c.cond.notify_all()
            self._closed(c, how)

    def _recv(self, c, buf, timeout=None):
        # With goaway_after, poll: another thread may send our GOAWAY while we wait here.
        wait = timeout if timeout is not None else (0.1 if self.goaway_after else 30)
        if self.tls_ctx is not None:
            return self._recv_tls(c, buf, wait)
        c.sock.settimeout(wait)
        try:
            chunk = c.sock.recv(262144)
        except socket.timeout:
            return None
        except OSError:
            chunk = b""
        if not chunk:
            return False
        buf += chunk
        return True

    def _recv_tls(self, c, buf, wait):
        # An OpenSSL connection must not be read and written by two threads at once, and
        # Python's SSLSocket releases the GIL inside SSL_read/SSL_write (a concurrent response
        # thread lost a request about once in 60 runs). So wait for readability without the
        # lock, then read without blocking under the same lock the senders hold.
        if not c.sock.pending():
            try:
                readable, _, _ = select.select([c.sock], [], [], wait)
            except (OSError, ValueError):
                return False
            if not readable:
                return None
        with c.wlock:
            c.sock.setblocking(False)
            try:
                chunk = c.sock.recv(262144)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return None
            except OSError:
                chunk = b""
            finally:
                try:
                    c.sock.settimeout(10)
                except OSError:
                    pass
        if not chunk:
            return False
        buf += chunk
        return True

    def _serve(self, c):
        buf = bytearray()
        while len(buf) < len(PREFACE):
            if not self._recv(c, buf):
                return "eof"
        if bytes(buf[:len(PREFACE)]) != PREFACE:
            return "error"
        del buf[:len(PREFACE)]
        c.send(settings_frame({SETTINGS_MAX_CONCURRENT_STREAMS: self.max_streams}))
        dec = Decoder()
        streams = {}   # sid -> {"fields": [...], "body": bytearray}
        block, block_sid, block_flags = bytearray(), None, 0
        goaway_deadline = None
        while True:
            f = parse_frame(buf)
            while f is None:
                if c.dead:
                    return "killed"
                timeout = None
                if c.goaway_last is not None:
                    if goaway_deadline is None:
                        goaway_deadline = time.monotonic() + self.goaway_grace
                    with c.cond:
                        done = c.pending == 0
                    left = goaway_deadline - time.monotonic()
                    if left <= 0 and done:
                        return "goaway"
                    timeout = max(0.05, min(0.2, left))
                r = self._recv(c, buf, timeout)
                if r is False:
                    return "killed" if c.dead else "eof"
                f = parse_frame(buf)
            ftype, flags, sid, payload, n = f.type, f.flags, f.stream_id, f.payload, len(f.payload)
            if ftype == SETTINGS and not flags & ACK:
                s = f.settings()
                with c.cond:
                    if SETTINGS_INITIAL_WINDOW_SIZE in s:
                        delta = s[SETTINGS_INITIAL_WINDOW_SIZE] - c.initial_window
                        c.initial_window = s[SETTINGS_INITIAL_WINDOW_SIZE]
                        for k in c.stream_windows:
                            c.stream_windows[k] += delta
                    if SETTINGS_MAX_FRAME_SIZE in s:
                        c.max_frame = s[SETTINGS_MAX_FRAME_SIZE]
                    c.cond.notify_all()
                c.send(settings_frame(ack=True))
            elif ftype == PING and not flags & ACK:
                c.send(ping_frame(payload, ack=True))
            elif ftype == WINDOW_UPDATE:
                inc = struct.unpack("!I", payload[:4])[0] & 0x7FFFFFFF
                with c.cond:
                    if sid == 0:
                        c.send_window += inc
                    elif sid in c.stream_windows:
                        c.stream_windows[sid] += inc
                    c.cond.notify_all()
            elif ftype in (HEADERS, CONTINUATION):
                if ftype == HEADERS:
                    block, block_sid, block_flags = bytearray(f.content()), sid, flags
                else:
                    block += payload
                if flags & END_HEADERS:
                    fields = dec.decode(bytes(block))  # always, to keep the HPACK table in step
                    if c.goaway_last is not None and block_sid > c.goaway_last:
                        with self.lock:
                            self.refused.append((c.number, block_sid))
                        continue
                    c.max_sid = max(c.max_sid, block_sid)
                    with c.cond:
                        c.stream_windows.setdefault(block_sid, c.initial_window)
                    st = streams.setdefault(block_sid, {"fields": [], "body": bytearray()})
                    if not st["fields"]:
                        st["fields"] = fields
                    if block_flags & END_STREAM:
                        self._start(c, block_sid, streams.pop(block_sid))
            elif ftype == DATA:
                payload = f.content()
                st = streams.get(sid)
                if n:
                    c.send(window_update_frame(0, n) + (window_update_frame(sid, n) if not flags & END_STREAM else b""))
                if st is not None:
                    st["body"] += payload
                    if flags & END_STREAM:
                        self._start(c, sid, streams.pop(sid))
            elif ftype == RST_STREAM:
                code = struct.unpack("!I", payload[:4])[0]
                with self.lock:
                    self.resets.append((c.number, sid, code))
                with c.cond:
                    c.reset_sids.add(sid)
                    c.cond.notify_all()
                streams.pop(sid, None)
            elif ftype == GOAWAY:
                return "eof"

    def _start(self, c, sid, st):
        fields = st["fields"]
        get = dict((k, v) for k, v in fields)
        path = get.get(":path", "")
        rec = {"method": get.get(":method"), "path": path, "authority": get.get(":authority"),
               "scheme": get.get(":scheme"), "headers": [[k, v] for k, v in fields if not k.startswith(":")],
               "body_len": len(st["body"]), "body_sha256": hashlib.sha256(bytes(st["body"])).hexdigest(),
               "conn": c.number, "sid": sid}
        with self.lock:
            self.requests.append(rec)
        with c.cond:
            c.pending += 1
        t = threading.Thread(target=self._respond_thread, args=(c, sid, rec), daemon=True)
        t.start()

    def _respond_thread(self, c, sid, rec):
        try:
            self._respond(c, sid, rec)
        except OSError:
            pass
        finally:
            goaway = None
            with c.cond:
                c.pending -= 1
                c.responded += 1
                if (self.goaway_after and c.responded >= self.goaway_after and c.goaway_last is None
                        and not c.dead):
                    c.goaway_last = goaway = c.max_sid
            if goaway is not None:
                with self.lock:
                    self.goaways_sent.append((c.number, goaway))
                try:
                    c.send(goaway_frame(goaway, NO_ERROR, b"goaway_after"))
                except OSError:
                    pass

    def _data(self, c, sid, body, end_stream):
        """DATA frames within the windows; False if the stream or connection died."""
        view = memoryview(body)
        while view:
            n = c.reserve(sid, len(view))
            if n == 0:
                return False
            chunk, view = view[:n], view[n:]
            c.send(data_frame(sid, bytes(chunk), end_stream=end_stream and not view))
        return True

    def _respond(self, c, sid, rec):
        path = rec["path"]
        if path.startswith("/slow/"):
            deadline = time.monotonic() + int(path.split("/")[2].split("?")[0]) / 1000.0
            with c.cond:
                while not (c.dead or sid in c.reset_sids) and time.monotonic() < deadline:
                    c.cond.wait(max(0.0, deadline - time.monotonic()))
        with c.cond:
            if c.dead or sid in c.reset_sids:
                return
        grpc = path.startswith("/grpc")
        if path.startswith("/empty/"):
            c.send(headers_frames(sid, encode_headers([(":status", path.split("/")[2].split("?")[0])]), end_stream=True))
            return
        if path.startswith("/early/"):
            c.send(headers_frames(sid, encode_headers([(":status", "103"), ("link", "</style.css>; rel=preload")]),
                                  end_stream=False))
        if path.startswith("/kill/"):
            n = int(path.split("/")[2].split("?")[0])
            head = [(":status", "200"), ("content-type", "application/octet-stream"), ("x-h2-backend", "1")]
            if "nolength" not in path:
                head.append(("content-length", "65536"))
            c.send(headers_frames(sid, encode_headers(head), end_stream=False))
            self._data(c, sid, b"k" * n, end_stream=False)
            time.sleep(0.1)
            c.kill()
            return
        if path.startswith("/big/"):
            body = self.big_body(int(path.split("/")[2].split("?")[0]))
            ctype = "application/octet-stream"
        else:
            body = json.dumps(rec).encode()
            ctype = "application/grpc" if grpc else "application/json"
        head = [(":status", "200"), ("content-type", ctype), ("x-h2-backend", "1")]
        if not grpc:
            head.append(("content-length", str(len(body))))
        c.send(headers_frames(sid, encode_headers(head), end_stream=not body and not grpc))
        if body and not self._data(c, sid, body, end_stream=not grpc):
            return
        if grpc:
            c.send(headers_frames(sid, encode_headers([("grpc-status", "0"), ("grpc-message", "ok")]), end_stream=True))

    def close(self):
        self.server.close()
        for c in list(self.conns):
            c.kill()
