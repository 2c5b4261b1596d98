"""WebSocket (RFC 6455) framing for tests: the accept key, frame encoding (masked or not), a
frame reader, and the client handshake through Ferry."""

import base64
import hashlib
import os
import struct

from ferrykit.wire import RawConn


def ws_accept_key(key):
    return base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


def _ws_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def ws_encode(payload, opcode=1, mask=True, fin=True):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + _ws_mask(payload, key)
    return head + payload


class WsReader:
    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("eof in websocket frame")
            self.buf += chunk

    def frame(self):
        """Returns (opcode, payload bytes) of the next frame (unmasking if needed)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        key = None
        if b1 & 0x80:
            self._need(off + 4)
            key = bytes(self.buf[off:off + 4])
            off += 4
        self._need(off + n)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        if key:
            payload = _ws_mask(payload, key)
        return b0 & 0x0F, payload


def ws_handshake(port, host="app.test", path="/ws", addr="127.0.0.1"):
    """Opens a WebSocket through Ferry. Returns (RawConn, Response of the 101, WsReader)."""
    key = base64.b64encode(os.urandom(16)).decode()
    c = RawConn(port, addr)
    c.send("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, key))
    resp = c.read_response(allow_1xx=True)
    assert resp.status == 101, "expected 101, got %r" % resp
    assert resp.header("Sec-WebSocket-Accept") == ws_accept_key(key), "bad Sec-WebSocket-Accept in %r" % resp
    reader = WsReader(c.sock, bytes(c.buf))
    c.buf.clear()
    return c, resp, reader
