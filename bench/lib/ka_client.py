#!/usr/bin/python3
"""A fixed amount of HTTP/1.1 keep-alive work: N requests over C connections (one in flight each).

Usage: ka_client.py PORT N [C] [PATH] [HOST]
For profiling (a deterministic request count, unlike wrk's fixed duration). Prints
`requests N ok N seconds S`. Exits 1 if any response is not a 200.
"""
import selectors
import socket
import sys
import time

from http_response import take_response

port, n = int(sys.argv[1]), int(sys.argv[2])
c = int(sys.argv[3]) if len(sys.argv) > 3 else 8
path = sys.argv[4] if len(sys.argv) > 4 else "/"
host = sys.argv[5] if len(sys.argv) > 5 else "a.test"
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ka_client\r\nAccept: */*\r\n\r\n" % (path, host)).encode()

sel = selectors.DefaultSelector()
sent = done = ok = 0
bufs = {}
t0 = time.monotonic()
for _ in range(min(c, n)):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sel.register(s, selectors.EVENT_READ)
    bufs[s] = b""
    s.sendall(req)
    sent += 1
while done < n:
    for key, _ in sel.select(timeout=30):
        s = key.fileobj
        data = s.recv(262144)
        if not data:
            sys.exit("connection closed by the server after %d responses" % done)
        buf = bufs[s] + data
        while (r := take_response(buf)) is not None:
            done += 1
            ok += r[0]
            buf = r[1]
            if sent < n:
                s.sendall(req)
                sent += 1
        bufs[s] = buf
print("requests %d ok %d seconds %.2f" % (done, ok, time.monotonic() - t0), flush=True)
sys.exit(0 if ok == done else 1)
