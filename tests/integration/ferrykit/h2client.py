"""A raw HTTP/2 client connection for tests (RFC 9113): preface and SETTINGS, auto-ACK of the
server's SETTINGS and PINGs, requests with flow-controlled bodies, per-stream results (status,
fields, body, trailers, reset code), GOAWAY.

One H2Conn is used from one thread; it registers itself with the running test (closed after
it), as wire.RawConn does. Errors: socket.timeout from read_frame() when nothing
arrives in time; AssertionError when a wait times out; ConnectionClosed when the server closes
while a test waits for something."""

import socket
import ssl
import struct
import time

from ferrykit.h2frames import (ACK, CANCEL, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS,
                               MAX_WINDOW, PING, PREFACE, RST_STREAM, SETTINGS, SETTINGS_ENABLE_PUSH,
                               SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE, WINDOW_UPDATE,
                               data_frame, error_name, headers_frames, parse_frame, ping_frame, rst_frame,
                               settings_frame, window_update_frame)
from ferrykit.hpack import Decoder, encode_headers
from ferrykit.suite import register


class StreamResult:
    """What the server sent on one stream."""

    def __init__(self, sid):
        self.sid = sid
        self.headers = None      # [(name, value)] of the final response head
        self.informational = []  # 1xx heads
        self.trailers = None
        self.body = bytearray()
        self.ended = False       # END_STREAM received
        self.reset = None        # RST_STREAM error code

    @property
    def status(self):
        v = self.header(":status")
        return int(v) if v is not None else None

    def header(self, name, default=None):
        for k, v in self.headers or ():
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers or () if k == name]

    @property
    def done(self):
        return self.ended or self.reset is not None

    def __repr__(self):
        return "<Stream %d status=%s ended=%s reset=%s headers=%r body=%r>" % (
            self.sid, self.status, self.ended, None if self.reset is None else error_name(self.reset),
            self.headers, bytes(self.body[:200]))


class ConnectionClosed(Exception):
    pass


class H2Conn:
    """One client connection. `sock`: a connected socket (TLS with ALPN h2, or plain for h2c).

    On creation sends the preface and SETTINGS (ours: `settings`, by default a large initial
    window and no push) and opens the connection window wide, so the server is never blocked
    by us unless a test means it. Frames are processed as read: the server's SETTINGS are
    acknowledged (when auto_ack), PINGs answered, HEADERS/DATA/RST_STREAM gathered per stream,
    GOAWAY remembered in .goaway = (last_stream_id, error_code, debug)."""

    def __init__(self, sock, settings=None, send_preface=True, auto_ack=True, window=MAX_WINDOW):
        self.sock = sock
        self.buf = bytearray()
        self.decoder = Decoder()
        self.streams = {}
        self.next_sid = 1
        self.server_settings = None   # from the server's first SETTINGS frame
        self.settings_acked = 0       # ACKs of our SETTINGS received
        self.goaway = None
        self.goaways = []
        self.eof = False
        self.frames = []              # every frame received (type, flags, sid, len) when record
        self.record = False
        self.auto_ack = auto_ack
        self.pings = []               # payloads of PING ACKs received
        self.send_window = 65535      # connection-level, for our DATA
        self.stream_windows = {}
        self.initial_send_window = 65535
        self.max_frame = 16384
        self._hdr_sid = None          # a header block in progress (HEADERS without END_HEADERS)
        self._hdr_block = bytearray()
        self._hdr_flags = 0
        register(self)
        if send_preface:
            s = {SETTINGS_ENABLE_PUSH: 0, SETTINGS_INITIAL_WINDOW_SIZE: window}
            if settings:
                s.update(settings)
            out = PREFACE + settings_frame(s)
            if window > 65535:
                out += window_update_frame(0, window - 65535)
            self.send(out)

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def connect(cls, port, addr="127.0.0.1", tls=None, sni=None, timeout=5.0, rcvbuf=None, **kw):
        """h2c with prior knowledge (tls=None) or h2 over TLS (tls: an ssl.SSLContext; ALPN "h2"
        is offered and required)."""
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((addr, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            s = tls.wrap_socket(s, server_hostname=sni)
            if s.selected_alpn_protocol() != "h2":
                s.close()
                raise AssertionError("ALPN chose %r, not h2" % s.selected_alpn_protocol())
        return cls(s, **kw)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending -------------------------------------------------------------------------------

    def send(self, data):
        self.sock.sendall(data)

    def new_sid(self):
        sid = self.next_sid
        self.next_sid += 2
        return sid

    def send_headers(self, sid, fields, end_stream=True, end_headers=True, max_frame=None):
        self.streams.setdefault(sid, StreamResult(sid))
        self.stream_windows.setdefault(sid, self.initial_send_window)
        self.send(headers_frames(sid, encode_headers(fields), end_stream, end_headers, max_frame or self.max_frame))

    def send_data(self, sid, data, end_stream=False, flow=True, timeout=10.0):
        """Sends `data` in DATA frames; with flow, waits for window as the server opens it."""
        view = memoryview(bytes(data))
        if not view and end_stream:
            self.send(data_frame(sid, b"", True))
            return
        deadline = time.monotonic() + timeout
        while view:
            n = min(len(view), self.max_frame)
            if flow:
                while min(self.send_window, self.stream_windows.get(sid, 0)) <= 0:
                    if time.monotonic() > deadline:
                        raise AssertionError("no flow-control window from the server within %.0fs" % timeout)
                    if self.streams.get(sid) and self.streams[sid].done:
                        raise AssertionError("stream %d ended while sending its body: %r" % (sid, self.streams[sid]))
                    self.read_frame(timeout=max(0.01, deadline - time.monotonic()))
                n = min(n, self.send_window, self.stream_windows.get(sid, 0))
            chunk, view = view[:n], view[n:]
            self.send(data_frame(sid, bytes(chunk), end_stream and not view))
            self.send_window -= n
            self.stream_windows[sid] = self.stream_windows.get(sid, 0) - n

    def request(self, authority, path="/", method="GET", scheme="https", headers=(), body=None,
                end_stream=None, sid=None):
        """Opens a stream: HEADERS (+ DATA when body is given). Returns the stream id."""
        sid = sid or self.new_sid()
        fields = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
        fields += list(headers)
        if end_stream is None:
            end_stream = body is None
        self.send_headers(sid, fields, end_stream=end_stream)
        if body is not None:
            self.send_data(sid, body, end_stream=True)
        return sid

    def ping(self, data=b"12345678"):
        self.send(ping_frame(data))

    def rst(self, sid, code=CANCEL):
        self.send(rst_frame(sid, code))

    # -- receiving -----------------------------------------------------------------------------

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            chunk = b""
        except OSError as e:
            if isinstance(e, socket.timeout):
                raise
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_frame(self, timeout=5.0):
        """Reads and processes one frame. Returns it, or None at EOF; socket.timeout if none
        arrives in time."""
        deadline = time.monotonic() + timeout
        while True:
            f = parse_frame(self.buf)
            if f is not None:
                self._process(f)
                return f
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame within %.1fs" % timeout)
            if not self._fill(left):
                if len(self.buf) < 9:
                    return None

    def _stream(self, sid):
        st = self.streams.get(sid)
        if st is None:
            st = self.streams[sid] = StreamResult(sid)
        return st

    def _process(self, f):
        if self.record:
            self.frames.append(f)
        t = f.type
        if t == SETTINGS:
            if f.flags & ACK:
                self.settings_acked += 1
                return
            s = f.settings()
            if self.server_settings is None:
                self.server_settings = dict(s)
            else:
                self.server_settings.update(s)
            if SETTINGS_INITIAL_WINDOW_SIZE in s:
                delta = s[SETTINGS_INITIAL_WINDOW_SIZE] - self.initial_send_window
                self.initial_send_window = s[SETTINGS_INITIAL_WINDOW_SIZE]
                for k in self.stream_windows:
                    self.stream_windows[k] += delta
            if SETTINGS_MAX_FRAME_SIZE in s:
                self.max_frame = s[SETTINGS_MAX_FRAME_SIZE]
            if self.auto_ack:
                self.send(settings_frame(ack=True))
        elif t == PING:
            if f.flags & ACK:
                self.pings.append(f.payload)
            elif self.auto_ack:
                self.send(ping_frame(f.payload, ack=True))
        elif t == WINDOW_UPDATE:
            inc = struct.unpack("!I", f.payload[:4])[0] & 0x7FFFFFFF
            if f.stream_id == 0:
                self.send_window += inc
            else:
                self.stream_windows[f.stream_id] = self.stream_windows.get(f.stream_id, self.initial_send_window) + inc
        elif t == GOAWAY:
            last, code = struct.unpack("!II", f.payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, f.payload[8:])
            self.goaways.append(self.goaway)
        elif t == RST_STREAM:
            self._stream(f.stream_id).reset = f.error_code()
        elif t in (HEADERS, CONTINUATION):
            if t == HEADERS:
                self._hdr_sid, self._hdr_flags, self._hdr_block = f.stream_id, f.flags, bytearray(f.content())
            else:
                if self._hdr_sid != f.stream_id:
                    raise AssertionError("CONTINUATION for stream %d without HEADERS" % f.stream_id)
                self._hdr_block += f.payload
            if f.flags & END_HEADERS:
                fields = self.decoder.decode(bytes(self._hdr_block))
                st = self._stream(self._hdr_sid)
                status = dict(fields).get(":status")
                if st.headers is None and status and status.startswith("1"):
                    st.informational.append(fields)
                elif st.headers is None:
                    st.headers = fields
                else:
                    st.trailers = fields
                if self._hdr_flags & END_STREAM:
                    st.ended = True
                self._hdr_sid = None
        elif t == DATA:
            st = self._stream(f.stream_id)
            st.body += f.content()
            if f.flags & END_STREAM:
                st.ended = True

    def read_until(self, pred, timeout=10.0, what="condition"):
        """Processes frames until pred() is true. Raises AssertionError on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
            try:
                f = self.read_frame(timeout=left)
            except socket.timeout:
                continue
            if f is None and not pred():
                raise ConnectionClosed("connection closed while waiting for %s (goaway=%r)" % (what, self.goaway))
        return True

    def get(self, authority, path="/", scheme="https", headers=(), timeout=10.0):
        """One GET on this connection; returns its StreamResult once the stream ended."""
        return self.response(self.request(authority, path, scheme=scheme, headers=headers), timeout)

    def response(self, sid, timeout=10.0):
        """Waits until stream `sid` ends (END_STREAM or RST_STREAM); returns its StreamResult."""
        st = self._stream(sid)
        self.read_until(lambda: st.done, timeout, what="the end of stream %d" % sid)
        return st

    def wait_closed(self, timeout=5.0):
        """Reads (processing frames) until EOF; True if the server closed within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                f = self.read_frame(timeout=left)
            except socket.timeout:
                return False
            if f is None:
                return True
