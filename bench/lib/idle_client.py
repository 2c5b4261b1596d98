#!/usr/bin/python3
"""Open N keep-alive connections to 127.0.0.1:PORT, send one GET on each, read the response,
then keep them all open and idle until stdin closes or SIGTERM.

Usage: idle_client.py PORT N [BATCH]
Prints `holding N` (N = connections that got a complete 200 response) when done, then sleeps.
Connections are opened BATCH at a time (default 500) so no listen backlog overflows.
"""
import selectors
import signal
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 500
req = b"GET / HTTP/1.1\r\nHost: a.test\r\nUser-Agent: idle_client\r\n\r\n"
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))

held, failed = [], 0
sel = selectors.DefaultSelector()
t0 = time.monotonic()
while len(held) + failed < n:
    k = min(batch, n - len(held) - failed)
    pending = {}
    for _ in range(k):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE)
        pending[s] = b""
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE:
                try:
                    s.send(req)
                except OSError:
                    failed += 1; sel.unregister(s); s.close(); del pending[s]; continue
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                failed += 1; sel.unregister(s); s.close(); del pending[s]; continue
            buf = pending[s] + data
            pending[s] = buf
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                cl = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        cl = int(value)
                if len(body) >= cl:
                    ok = head.startswith(b"HTTP/1.1 200")
                    sel.unregister(s); del pending[s]
                    if ok:
                        held.append(s)
                    else:
                        failed += 1; s.close()
    for s in pending:
        failed += 1; sel.unregister(s); s.close()
print("holding %d failed %d seconds %.1f" % (len(held), failed, time.monotonic() - t0), flush=True)
try:
    sys.stdin.read()  # until our parent closes the pipe
except Exception:
    pass
while True:
    time.sleep(3600)
