"""PROXY protocol v1 / v2 (haproxy.org proxy-protocol.txt) for tests: header builders for
clients, and a parser for servers that receive one."""

import socket
import struct


def proxy_v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def proxy_v2(src, dst, sport, dport, command=1):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if ":" in src:
        addr = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport)
        fam = 0x21
    else:
        addr = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + struct.pack("!HH", sport, dport)
        fam = 0x11
    return sig + bytes([0x20 | command, fam]) + struct.pack("!H", len(addr)) + addr


def parse_proxy_header(sock, buf=b""):
    """Reads a PROXY protocol v1 or v2 header. Returns (info dict, rest of the buffer)."""
    data = bytearray(buf)

    def need(n):
        while len(data) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("eof in PROXY header (got %r)" % bytes(data))
            data.extend(chunk)

    need(6)
    if bytes(data[:6]) == b"PROXY ":
        while b"\r\n" not in data:
            need(len(data) + 1)
            if len(data) > 108:
                raise ValueError("PROXY v1 line too long")
        i = data.index(b"\r\n")
        parts = bytes(data[:i]).decode("ascii").split(" ")
        info = {"version": 1, "raw": bytes(data[:i]).decode("ascii"), "proto": parts[1]}
        if parts[1] in ("TCP4", "TCP6"):
            info.update(src=parts[2], dst=parts[3], sport=int(parts[4]), dport=int(parts[5]))
        return info, bytes(data[i + 2:])
    need(16)
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if bytes(data[:12]) != sig:
        raise ValueError("not a PROXY header: %r" % bytes(data[:16]))
    ver_cmd, fam = data[12], data[13]
    ln = struct.unpack("!H", bytes(data[14:16]))[0]
    need(16 + ln)
    body = bytes(data[16:16 + ln])
    info = {"version": 2, "command": ver_cmd & 0x0F, "family": fam}
    if fam == 0x11:  # TCP over IPv4
        s, d, sp, dp = struct.unpack("!4s4sHH", body[:12])
        info.update(proto="TCP4", src=socket.inet_ntop(socket.AF_INET, s), dst=socket.inet_ntop(socket.AF_INET, d),
                    sport=sp, dport=dp)
    elif fam == 0x21:  # TCP over IPv6
        s, d, sp, dp = struct.unpack("!16s16sHH", body[:36])
        info.update(proto="TCP6", src=socket.inet_ntop(socket.AF_INET6, s),
                    dst=socket.inet_ntop(socket.AF_INET6, d), sport=sp, dport=dp)
    return info, bytes(data[16 + ln:])
