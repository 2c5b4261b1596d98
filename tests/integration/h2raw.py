"""A small raw HTTP/2 client for Ferry's integration tests (stdlib only, RFC 9113 / RFC 7541).

Frames are built and parsed by hand so tests can send what real clients never would (floods,
resets right after HEADERS, header blocks split across CONTINUATION frames, no reading) and
see exactly what the server sends back (SETTINGS values, RST_STREAM and GOAWAY error codes,
literal response fields).

  - frame(type, flags, stream_id, payload) -> bytes; read frames with H2Conn.read_frame().
  - encode_headers(fields): HPACK "literal without indexing, new name", no Huffman.
  - Decoder: full HPACK decoding of the server's blocks (static + dynamic table, Huffman).
  - H2Conn: preface + SETTINGS, auto-ACK of the server's SETTINGS and PINGs, requests with
    flow-controlled bodies, per-stream responses (status, fields, body, reset code), GOAWAY.
"""
import socket
import ssl
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
               6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}
# Flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
# Error codes
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED, \
    FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM, \
    INADEQUATE_SECURITY, HTTP_1_1_REQUIRED = range(14)
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
               8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
               12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
# Settings
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

MAX_WINDOW = 2 ** 31 - 1


def error_name(code):
    return ERROR_NAMES.get(code, "0x%x" % code)


# ----------------------------------------------------------------------------------------------
# Frames
# ----------------------------------------------------------------------------------------------

def frame(ftype, flags, stream_id, payload=b""):
    n = len(payload)
    return struct.pack("!BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags, stream_id & 0x7FFFFFFF) + payload


def settings_frame(entries=(), ack=False):
    """entries: iterable of (id, value) (or a dict)."""
    if isinstance(entries, dict):
        entries = entries.items()
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in entries))


def ping_frame(data=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def rst_frame(stream_id, code=CANCEL):
    return frame(RST_STREAM, 0, stream_id, struct.pack("!I", code))


def window_update_frame(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack("!I", increment))


def goaway_frame(last_stream_id, code=NO_ERROR, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack("!II", last_stream_id, code) + debug)


def data_frame(stream_id, data, end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, stream_id, data)


def headers_frames(stream_id, block, end_stream=True, end_headers=True, max_frame=16384):
    """A HEADERS frame, plus CONTINUATION frames when `block` is larger than max_frame."""
    first, rest = block[:max_frame], block[max_frame:]
    out = []
    flags = END_STREAM if end_stream else 0
    if not rest and end_headers:
        flags |= END_HEADERS
    out.append(frame(HEADERS, flags, stream_id, first))
    while rest:
        part, rest = rest[:max_frame], rest[max_frame:]
        out.append(frame(CONTINUATION, END_HEADERS if (not rest and end_headers) else 0, stream_id, part))
    return b"".join(out)


class Frame:
    __slots__ = ("type", "flags", "stream_id", "payload")

    def __init__(self, ftype, flags, stream_id, payload):
        self.type, self.flags, self.stream_id, self.payload = ftype, flags, stream_id, payload

    @property
    def name(self):
        return FRAME_NAMES.get(self.type, "0x%x" % self.type)

    def settings(self):
        return {struct.unpack("!H", self.payload[i:i + 2])[0]: struct.unpack("!I", self.payload[i + 2:i + 6])[0]
                for i in range(0, len(self.payload) - 5, 6)}

    def error_code(self):
        if self.type == RST_STREAM:
            return struct.unpack("!I", self.payload[:4])[0]
        if self.type == GOAWAY:
            return struct.unpack("!I", self.payload[4:8])[0]
        raise ValueError("no error code in %s" % self.name)

    def __repr__(self):
        extra = ""
        if self.type in (RST_STREAM, GOAWAY):
            extra = " " + error_name(self.error_code())
        if self.type == GOAWAY:
            extra += " last=%d debug=%r" % (struct.unpack("!I", self.payload[:4])[0] & 0x7FFFFFFF, self.payload[8:60])
        return "<%s flags=0x%x sid=%d len=%d%s>" % (self.name, self.flags, self.stream_id, len(self.payload), extra)


# ----------------------------------------------------------------------------------------------
# HPACK
# ----------------------------------------------------------------------------------------------

def encode_int(value, prefix_bits, first_byte=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = bytearray([first_byte | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _bytes(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode("latin-1")


def encode_headers(fields):
    """HPACK block: every field a "literal without indexing, new name", no Huffman (RFC 7541
    §6.2.2). Names are sent as given (HTTP/2 requires lowercase: tests may break that)."""
    out = bytearray()
    for name, value in fields:
        n, v = _bytes(name), _bytes(value)
        out += b"\x00" + encode_int(len(n), 7) + n + encode_int(len(v), 7) + v
    return bytes(out)


STATIC_TABLE = [
    None,
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
    (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
    ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
    ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
    ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
    ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
    ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
    ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
]

# RFC 7541 Appendix B: (code, bit length) for symbols 0..255 and EOS (256).
HUFFMAN = [
    (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28), (0xfffffe4, 28), (0xfffffe5, 28), (0xfffffe6, 28), (0xfffffe7, 28),
    (0xfffffe8, 28), (0xffffea, 24), (0x3ffffffc, 30), (0xfffffe9, 28), (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28), (0xfffffec, 28),
    (0xfffffed, 28), (0xfffffee, 28), (0xfffffef, 28), (0xffffff0, 28), (0xffffff1, 28), (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28),
    (0xffffff4, 28), (0xffffff5, 28), (0xffffff6, 28), (0xffffff7, 28), (0xffffff8, 28), (0xffffff9, 28), (0xffffffa, 28), (0xffffffb, 28),
    (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12), (0x1ff9, 13), (0x15, 6), (0xf8, 8), (0x7fa, 11),
    (0x3fa, 10), (0x3fb, 10), (0xf9, 8), (0x7fb, 11), (0xfa, 8), (0x16, 6), (0x17, 6), (0x18, 6),
    (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6), (0x1a, 6), (0x1b, 6), (0x1c, 6), (0x1d, 6),
    (0x1e, 6), (0x1f, 6), (0x5c, 7), (0xfb, 8), (0x7ffc, 15), (0x20, 6), (0xffb, 12), (0x3fc, 10),
    (0x1ffa, 13), (0x21, 6), (0x5d, 7), (0x5e, 7), (0x5f, 7), (0x60, 7), (0x61, 7), (0x62, 7),
    (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7), (0x67, 7), (0x68, 7), (0x69, 7), (0x6a, 7),
    (0x6b, 7), (0x6c, 7), (0x6d, 7), (0x6e, 7), (0x6f, 7), (0x70, 7), (0x71, 7), (0x72, 7),
    (0xfc, 8), (0x73, 7), (0xfd, 8), (0x1ffb, 13), (0x7fff0, 19), (0x1ffc, 13), (0x3ffc, 14), (0x22, 6),
    (0x7ffd, 15), (0x3, 5), (0x23, 6), (0x4, 5), (0x24, 6), (0x5, 5), (0x25, 6), (0x26, 6),
    (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7), (0x28, 6), (0x29, 6), (0x2a, 6), (0x7, 5),
    (0x2b, 6), (0x76, 7), (0x2c, 6), (0x8, 5), (0x9, 5), (0x2d, 6), (0x77, 7), (0x78, 7),
    (0x79, 7), (0x7a, 7), (0x7b, 7), (0x7ffe, 15), (0x7fc, 11), (0x3ffd, 14), (0x1ffd, 13), (0xffffffc, 28),
    (0xfffe6, 20), (0x3fffd2, 22), (0xfffe7, 20), (0xfffe8, 20), (0x3fffd3, 22), (0x3fffd4, 22), (0x3fffd5, 22), (0x7fffd9, 23),
    (0x3fffd6, 22), (0x7fffda, 23), (0x7fffdb, 23), (0x7fffdc, 23), (0x7fffdd, 23), (0x7fffde, 23), (0xffffeb, 24), (0x7fffdf, 23),
    (0xffffec, 24), (0xffffed, 24), (0x3fffd7, 22), (0x7fffe0, 23), (0xffffee, 24), (0x7fffe1, 23), (0x7fffe2, 23), (0x7fffe3, 23),
    (0x7fffe4, 23), (0x1fffdc, 21), (0x3fffd8, 22), (0x7fffe5, 23), (0x3fffd9, 22), (0x7fffe6, 23), (0x7fffe7, 23), (0xffffef, 24),
    (0x3fffda, 22), (0x1fffdd, 21), (0xfffe9, 20), (0x3fffdb, 22), (0x3fffdc, 22), (0x7fffe8, 23), (0x7fffe9, 23), (0x1fffde, 21),
    (0x7fffea, 23), (0x3fffdd, 22), (0x3fffde, 22), (0xfffff0, 24), (0x1fffdf, 21), (0x3fffdf, 22), (0x7fffeb, 23), (0x7fffec, 23),
    (0x1fffe0, 21), (0x1fffe1, 21), (0x3fffe0, 22), (0x1fffe2, 21), (0x7fffed, 23), (0x3fffe1, 22), (0x7fffee, 23), (0x7fffef, 23),
    (0xfffea, 20), (0x3fffe2, 22), (0x3fffe3, 22), (0x3fffe4, 22), (0x7ffff0, 23), (0x3fffe5, 22), (0x3fffe6, 22), (0x7ffff1, 23),
    (0x3ffffe0, 26), (0x3ffffe1, 26), (0xfffeb, 20), (0x7fff1, 19), (0x3fffe7, 22), (0x7ffff2, 23), (0x3fffe8, 22), (0x1ffffec, 25),
    (0x3ffffe2, 26), (0x3ffffe3, 26), (0x3ffffe4, 26), (0x7ffffde, 27), (0x7ffffdf, 27), (0x3ffffe5, 26), (0xfffff1, 24), (0x1ffffed, 25),
    (0x7fff2, 19), (0x1fffe3, 21), (0x3ffffe6, 26), (0x7ffffe0, 27), (0x7ffffe1, 27), (0x3ffffe7, 26), (0x7ffffe2, 27), (0xfffff2, 24),
    (0x1fffe4, 21), (0x1fffe5, 21), (0x3ffffe8, 26), (0x3ffffe9, 26), (0xffffffd, 28), (0x7ffffe3, 27), (0x7ffffe4, 27), (0x7ffffe5, 27),
    (0xfffec, 20), (0xfffff3, 24), (0xfffed, 20), (0x1fffe6, 21), (0x3fffe9, 22), (0x1fffe7, 21), (0x1fffe8, 21), (0x7ffff3, 23),
    (0x3fffea, 22), (0x3fffeb, 22), (0x1ffffee, 25), (0x1ffffef, 25), (0xfffff4, 24), (0xfffff5, 24), (0x3ffffea, 26), (0x7ffff4, 23),
    (0x3ffffeb, 26), (0x7ffffe6, 27), (0x3ffffec, 26), (0x3ffffed, 26), (0x7ffffe7, 27), (0x7ffffe8, 27), (0x7ffffe9, 27), (0x7ffffea, 27),
    (0x7ffffeb, 27), (0xffffffe, 28), (0x7ffffec, 27), (0x7ffffed, 27), (0x7ffffee, 27), (0x7ffffef, 27), (0x7fffff0, 27), (0x3ffffee, 26),
    (0x3fffffff, 30),
]

_HUFF_DECODE = {(length, code): sym for sym, (code, length) in enumerate(HUFFMAN)}


def huffman_decode(data):
    out = bytearray()
    code = 0
    length = 0
    for byte in data:
        for i in range(7, -1, -1):
            code = (code << 1) | ((byte >> i) & 1)
            length += 1
            sym = _HUFF_DECODE.get((length, code))
            if sym is not None:
                if sym == 256:
                    raise ValueError("HPACK: EOS in a Huffman string")
                out.append(sym)
                code = 0
                length = 0
            elif length > 30:
                raise ValueError("HPACK: bad Huffman code")
    if length > 7 or code != (1 << length) - 1:
        raise ValueError("HPACK: bad Huffman padding")
    return bytes(out)


class Decoder:
    """HPACK decoder (RFC 7541): static and dynamic tables, Huffman strings."""

    def __init__(self, max_size=4096):
        self.dynamic = []  # newest first
        self.size = 0
        self.max_size = max_size

    def _evict(self):
        while self.size > self.max_size and self.dynamic:
            n, v = self.dynamic.pop()
            self.size -= len(n) + len(v) + 32

    def _add(self, name, value):
        self.dynamic.insert(0, (name, value))
        self.size += len(name) + len(value) + 32
        self._evict()

    def _get(self, index):
        if index <= 0:
            raise ValueError("HPACK: index 0")
        if index < len(STATIC_TABLE):
            n, v = STATIC_TABLE[index]
            return n.encode(), v.encode()
        i = index - len(STATIC_TABLE)
        if i >= len(self.dynamic):
            raise ValueError("HPACK: index %d out of range" % index)
        return self.dynamic[i]

    @staticmethod
    def _int(data, pos, prefix_bits):
        limit = (1 << prefix_bits) - 1
        value = data[pos] & limit
        pos += 1
        if value < limit:
            return value, pos
        shift = 0
        while True:
            b = data[pos]
            pos += 1
            value += (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value, pos

    def _str(self, data, pos):
        huff = data[pos] & 0x80
        n, pos = self._int(data, pos, 7)
        s = bytes(data[pos:pos + n])
        if len(s) != n:
            raise ValueError("HPACK: truncated string")
        return (huffman_decode(s) if huff else s), pos + n

    def decode(self, block):
        """Returns [(name, value)] as str (latin-1)."""
        out = []
        pos = 0
        while pos < len(block):
            b = block[pos]
            if b & 0x80:  # indexed
                idx, pos = self._int(block, pos, 7)
                out.append(self._get(idx))
            elif b & 0x40:  # literal with incremental indexing
                idx, pos = self._int(block, pos, 6)
                name = self._get(idx)[0] if idx else None
                if name is None:
                    name, pos = self._str(block, pos)
                value, pos = self._str(block, pos)
                self._add(name, value)
                out.append((name, value))
            elif b & 0x20:  # dynamic table size update
                self.max_size, pos = self._int(block, pos, 5)
                self._evict()
            else:  # literal without indexing / never indexed
                idx, pos = self._int(block, pos, 4)
                name = self._get(idx)[0] if idx else None
                if name is None:
                    name, pos = self._str(block, pos)
                value, pos = self._str(block, pos)
                out.append((name, value))
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in out]


# ----------------------------------------------------------------------------------------------
# Connection
# ----------------------------------------------------------------------------------------------

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
            if len(self.buf) >= 9:
                n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
                if len(self.buf) >= 9 + n:
                    f = Frame(self.buf[3], self.buf[4], struct.unpack("!I", self.buf[5:9])[0] & 0x7FFFFFFF,
                              bytes(self.buf[9:9 + n]))
                    del self.buf[:9 + n]
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
                payload = f.payload
                if f.flags & PADDED:
                    pad = payload[0]
                    payload = payload[1:len(payload) - pad]
                if f.flags & PRIORITY_FLAG:
                    payload = payload[5:]
                self._hdr_sid, self._hdr_flags, self._hdr_block = f.stream_id, f.flags, bytearray(payload)
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
            payload = f.payload
            if f.flags & PADDED:
                pad = payload[0]
                payload = payload[1:len(payload) - pad]
            st = self._stream(f.stream_id)
            st.body += payload
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


def get(conn, authority, path="/", scheme="https", headers=(), timeout=10.0):
    """One GET on an open H2Conn; returns the StreamResult."""
    return conn.response(conn.request(authority, path, scheme=scheme, headers=headers), timeout)


# ----------------------------------------------------------------------------------------------
# Server side: an h2c backend (prior knowledge) for upstream HTTP/2 tests
# ----------------------------------------------------------------------------------------------

class _H2BackendConn:
    """One connection of an H2Backend: the handler thread reads frames; each response is sent
    by its own thread, within the client's flow-control windows (so a slow or large response
    never blocks the other streams, nor the reading of WINDOW_UPDATE frames)."""

    def __init__(self, backend, sock, number):
        import threading
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
    """An HTTP/2 cleartext server on 127.0.0.1:0 (harness.TcpServer per connection thread).

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
    `goaway_after=N`: after the Nth response on a connection, GOAWAY (NO_ERROR, last stream =
    the highest received); later streams are ignored (RFC 9113 §6.8), the connection is closed
    once its streams are answered and the peer closes (or after `goaway_grace` seconds).

    Records: `requests` (every complete request, in arrival order), `connections` (accepted so
    far), `open_connections`, `resets` [(conn, sid, error code)] of RST_STREAM received,
    `refused` [(conn, sid)] streams ignored after our GOAWAY, `goaways_sent` [(conn, last)],
    `closes` [(conn, monotonic time, how)] with how "eof" (the client closed), "killed" (/kill),
    "goaway" (closed by us after GOAWAY), "error". Windows are reopened as request data
    arrives, so large uploads flow."""

    def __init__(self, harness, goaway_after=None, max_streams=100, goaway_grace=2.0, tls_ctx=None):
        import hashlib
        import json
        import threading
        self._hashlib, self._json, self._threading = hashlib, json, threading
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
        self.server = harness.TcpServer(self._handle, name="h2backend")
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
        import select
        import ssl
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
        sock = c.sock
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
            while len(buf) < 9 or len(buf) < 9 + ((buf[0] << 16) | (buf[1] << 8) | buf[2]):
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
            n = (buf[0] << 16) | (buf[1] << 8) | buf[2]
            ftype, flags = buf[3], buf[4]
            sid = struct.unpack("!I", buf[5:9])[0] & 0x7FFFFFFF
            payload = bytes(buf[9:9 + n])
            del buf[:9 + n]
            if ftype == SETTINGS and not flags & ACK:
                s = Frame(ftype, flags, sid, payload).settings()
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
                    if flags & PADDED:
                        payload = payload[1:len(payload) - payload[0]]
                    if flags & PRIORITY_FLAG:
                        payload = payload[5:]
                    block, block_sid, block_flags = bytearray(payload), sid, flags
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
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
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
               "body_len": len(st["body"]), "body_sha256": self._hashlib.sha256(bytes(st["body"])).hexdigest(),
               "conn": c.number, "sid": sid}
        with self.lock:
            self.requests.append(rec)
        with c.cond:
            c.pending += 1
        t = self._threading.Thread(target=self._respond_thread, args=(c, sid, rec), daemon=True)
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
            body = self._json.dumps(rec).encode()
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
