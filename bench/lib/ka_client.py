#!/usr/bin/python3
"""A fixed amount of HTTP/1.1 keep-alive work: N requests over C connections (one in flight each).

Usage: ka_client.py [--close] PORT N [C] [PATH] [HOST]
For profiling (a deterministic request count, unlike wrk's fixed duration). Prints
`requests N ok N seconds S`. Exits 1 if any response is not a 200.
--close: each request on a new connection, with `Connection: close` (scenario 2's traffic).
"""
import selectors
import socket
import sys
import time

from http_response import take_response

close = "--close" in sys.argv
argv = [a for a in sys.argv if a != "--close"]
port, n = int(argv[1]), int(argv[2])
c = int(argv[3]) if len(argv) > 3 else 8
path = argv[4] if len(argv) > 4 else "/"
host = argv[5] if len(argv) > 5 else "a.test"
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ka_client\r\nAccept: */*\r\n%s\r\n"
       % (path, host, "Connection: close\r\n" if close else "")).encode()


def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sel.register(s, selectors.EVENT_READ)
    bufs[s] = b""
    return s


sel = selectors.DefaultSelector()
sent = done = ok = 0
bufs = {}
t0 = time.monotonic()
for _ in range(min(c, n)):
    connect().sendall(req)
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
            if close:
                sel.unregister(s)
                del bufs[s]
                s.close()
                if sent < n:
                    connect().sendall(req)
                    sent += 1
                break
            if sent < n:
                s.sendall(req)
                sent += 1
        else:
            bufs[s] = buf
print("requests %d ok %d seconds %.2f" % (done, ok, time.monotonic() - t0), flush=True)
sys.exit(0 if ok == done else 1)
