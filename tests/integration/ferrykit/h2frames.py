"""HTTP/2 frames (RFC 9113) for tests: constants, frame builders, and the frame parser.

Frames are built and parsed by hand so tests can send what real clients never would (floods,
resets right after HEADERS, header blocks split across CONTINUATION frames) and see exactly
what a peer sent back (SETTINGS values, RST_STREAM and GOAWAY error codes). Pure functions and
a value class: no I/O, no threads."""

import struct

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

    def content(self):
        """The payload without its padding (DATA, HEADERS) and priority fields (HEADERS)."""
        p = self.payload
        if self.type in (DATA, HEADERS) and self.flags & PADDED:
            p = p[1:len(p) - p[0]]
        if self.type == HEADERS and self.flags & PRIORITY_FLAG:
            p = p[5:]
        return p

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


def parse_frame(buf):
    """Takes one complete frame off the front of `buf` (a bytearray) and returns it; None (buf
    untouched) while buf holds less than a whole frame."""
    if len(buf) < 9:
        return None
    n = (buf[0] << 16) | (buf[1] << 8) | buf[2]
    if len(buf) < 9 + n:
        return None
    f = Frame(buf[3], buf[4], struct.unpack("!I", buf[5:9])[0] & 0x7FFFFFFF, bytes(buf[9:9 + n]))
    del buf[:9 + n]
    return f
