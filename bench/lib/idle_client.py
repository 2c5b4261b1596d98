#!/usr/bin/python3
"""Open N keep-alive connections to 127.0.0.1:PORT, send one GET on each, read the response,
then keep them all open and idle until stdin closes or SIGTERM.

Usage: idle_client.py PORT N [BATCH] [--tls]
Prints `holding N` (N = connections that got a complete 200 response) when done, then sleeps.
Connections are opened BATCH at a time (default 500) so no listen backlog overflows.
--tls: HTTPS (TLS 1.3, no certificate check), one connection after the other (blocking
handshakes: simple, and the proxy's handshake cost is not what is measured).
"""
import selectors
import signal
import socket
import sys
import time

from http_response import take_response

args = [a for a in sys.argv[1:] if a != "--tls"]
tls = "--tls" in sys.argv
port, n = int(args[0]), int(args[1])
batch = int(args[2]) if len(args) > 2 else 500
req = b"GET / HTTP/1.1\r\nHost: a.test\r\nUser-Agent: idle_client\r\n\r\n"
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))

held, failed = [], 0
sel = selectors.DefaultSelector()
t0 = time.monotonic()


def tls_one():
    """One HTTPS connection with one complete response; the socket, or None."""
    import ssl
    ctx = tls_one.ctx
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="a.test")
        s.sendall(req)
        buf, done = b"", None
        while done is None:
            data = s.recv(65536)
            if not data:
                raise OSError("closed")
            buf += data
            done = take_response(buf)
        if not done[0]:
            raise OSError("status")
        return s
    except (OSError, ssl.SSLError):
        return None


if tls:
    import ssl
    tls_one.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls_one.ctx.check_hostname = False
    tls_one.ctx.verify_mode = ssl.CERT_NONE
    tls_one.ctx.set_alpn_protocols(["http/1.1"])
    for _ in range(n):
        s = tls_one()
        if s:
            held.append(s)
        else:
            failed += 1
while not tls and len(held) + failed < n:
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
            done = take_response(buf)
            if done is not None:
                sel.unregister(s); del pending[s]
                if done[0]:
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
