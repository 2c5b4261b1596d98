"""Slow clients against the admin listener (issue 13 item 12; docs/API.md, "Connection limits").

Attackers on other loopback addresses (127.0.0.2 and up: the per-address cap must not hit the
legitimate client on 127.0.0.1) open hundreds of connections and trickle a request head a byte a
second. While they are open, /healthz and authenticated API requests from 127.0.0.1 must all
succeed with p99 < 1 s; every trickling connection is closed once the request-head deadline
(5 s, counted from accept, TLS handshake included) has passed, a silent one with a 408; a
trickled body is closed at its deadline too. One address holds at most 32 connections (the
oldest waiting ones are closed first, so a complete request from that address still gets
through), and at the global cap (1024) the oldest waiting connections make room for new ones.
Over admin-tls the same holds for clients that finish the handshake and then trickle, and for
clients that never start it."""
import http.client
import json
import os
import re
import resource
import selectors
import socket
import ssl
import threading
import time

from ferrykit.config import admin_config
from ferrykit.runner import Ferry, hash_password
from ferrykit.suite import figure, main, percentile, register, skip, tmpdir, wait_until
from ferrykit.tls import self_signed
from ferrykit.wire import connect, recv_all

PASSWORD = "slowloris test password"
HEAD_DEADLINE = 5.0   # documented: request head (and TLS handshake) within 5 s of accept
PER_ADDRESS = 32      # documented: connections per client address (IPv6: per /64)
GLOBAL_CAP = 1024     # documented: connections in all (or 1/8 of RLIMIT_NOFILE if lower)
P99_LIMIT = 1.0       # seconds


def _raise_fd_limit(need):
    """Raises RLIMIT_NOFILE for this process and the ferryd it starts (inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(hard, max(need, soft))
    if want < need:
        skip("RLIMIT_NOFILE hard limit %d < %d needed" % (hard, need))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _cfg(extra=()):
    return admin_config([("ops", hash_password(PASSWORD))], extra)


def _self_signed(d):
    cert = os.path.join(d, "admin.pem")
    self_signed(cert, os.path.join(d, "admin.key"), "ferry-admin", ["IP:127.0.0.1"], days=2)
    return cert


def _sources(first, count):
    return ["127.0.0.%d" % (first + i) for i in range(count)]


class Attack:
    """Connections from `sources` (round robin, `total` of them) to the admin port; each sends
    the first byte of `payload` at once and, when `trickle`, one more byte every `interval`
    seconds. With `tls` (an SSLContext) the handshake is done first unless `handshake` is false
    (then the connection stays plain TCP and sends nothing). A thread watches every connection:
    when it is closed (EOF, reset, a failed send) it records when and what arrived before."""

    def __init__(self, port, sources, total, payload, tls=None, handshake=True, trickle=True,
                 interval=1.0, first=1, max_refused=10):
        self.conns = []     # dicts: sock, src, t0, closed (time or None), data (bytes)
        self.refused = 0    # connects that failed outright
        self.payload = payload
        self.trickle = trickle
        self.interval = interval
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.stop_flag = False
        for i in range(total):
            if self.refused > max_refused:  # the server is not coping: fail fast, not in minutes
                break
            src = sources[i % len(sources)]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", port))
                if tls is not None and handshake:
                    s = tls.wrap_socket(s, server_hostname="127.0.0.1")
                if first and (tls is None or handshake):
                    s.send(payload[:first])
            except (OSError, ssl.SSLError):
                self.refused += 1
                s.close()
                continue
            s.setblocking(False)
            c = {"sock": s, "src": src, "t0": time.monotonic(), "closed": None, "data": b"", "sent": first}
            self.conns.append(c)
            self.sel.register(s, selectors.EVENT_READ, c)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        register(self)

    def _close(self, c, now):
        if c["closed"] is None:
            c["closed"] = now
            try:
                self.sel.unregister(c["sock"])
            except (KeyError, ValueError):
                pass

    def _run(self):
        next_send = time.monotonic() + self.interval
        while not self.stop_flag:
            for key, _ in self.sel.select(timeout=0.05):
                c = key.data
                with self.lock:
                    try:
                        chunk = c["sock"].recv(4096)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                        continue
                    except (OSError, ssl.SSLError):
                        chunk = b""
                    if chunk:
                        c["data"] += chunk
                    else:
                        self._close(c, time.monotonic())
            now = time.monotonic()
            if self.trickle and now >= next_send:
                next_send = now + self.interval
                with self.lock:
                    for c in self.conns:
                        if c["closed"] is not None or c["sent"] >= len(self.payload):
                            continue
                        try:
                            c["sock"].send(self.payload[c["sent"]:c["sent"] + 1])
                            c["sent"] += 1
                        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                            pass
                        except (OSError, ssl.SSLError):
                            self._close(c, time.monotonic())

    def open(self):
        with self.lock:
            return [c for c in self.conns if c["closed"] is None]

    def close(self):
        self.stop_flag = True
        self.thread.join(5)
        for c in self.conns:
            try:
                c["sock"].close()
            except OSError:
                pass
        self.sel.close()

    def __repr__(self):
        return "Attack(%d connections)" % len(self.conns)


def _login(port, tls=None):
    conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls) if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        conn.request("POST", "/api/v1/login", body=json.dumps({"user": "ops", "password": PASSWORD}),
                     headers={"Host": "127.0.0.1:%d" % port, "Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, (r.status, body)
        return json.loads(body)["token"]
    finally:
        conn.close()


def _measure(port, token, n=50, tls=None, max_failures=3):
    """n requests from 127.0.0.1, each on a new connection, alternating GET /healthz and
    authenticated API calls. Returns (latencies in s, failures [(path, what)]); stops early
    after max_failures failures (the unfixed server would make each one wait for its timeout)."""
    paths = ["/healthz", "/api/v1/me", "/healthz", "/api/v1/overview"]
    lat, failures = [], []
    for i in range(n):
        path = paths[i % len(paths)]
        t0 = time.monotonic()
        conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=3, context=tls) if tls
                else http.client.HTTPConnection("127.0.0.1", port, timeout=3))
        try:
            conn.request("GET", path, headers={"Host": "127.0.0.1:%d" % port, "Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures.append((path, "status %d" % r.status))
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            failures.append((path, "%s: %s" % (type(e).__name__, e)))
        finally:
            conn.close()
        lat.append(time.monotonic() - t0)
        if len(failures) >= max_failures:
            break
    return lat, failures


def _check_reachable(port, token, label, tls=None, n=50):
    lat, failures = _measure(port, token, n=n, tls=tls)
    p99 = percentile(lat, 99)
    figure("%s: admin p99 (%d requests)" % (label, len(lat)), "%.1f" % (p99 * 1000), "ms")
    assert not failures, "%s: %d of %d requests failed: %s" % (label, len(failures), len(lat), failures)
    assert p99 < P99_LIMIT, "%s: p99 %.3f s" % (label, p99)


def _wait_all_closed(attack, label, timeout):
    """Every connection of `attack` is closed within `timeout` s of its connect, and not
    before the head deadline (it is a total deadline, not one that a trickled byte restarts)."""
    last = max(c["t0"] for c in attack.conns)
    wait_until(lambda: not attack.open(), timeout=last + timeout - time.monotonic() + 0.5,
               interval=0.1, what="%s: every slow connection closed (%d open)" % (label, len(attack.open())))
    spans = [c["closed"] - c["t0"] for c in attack.conns]
    figure("%s: closed after" % label, "%.1f..%.1f" % (min(spans), max(spans)), "s")
    assert min(spans) > HEAD_DEADLINE - 1.0, "%s: a connection closed after %.1f s" % (label, min(spans))
    assert max(spans) < timeout, "%s: a connection lived %.1f s" % (label, max(spans))


def test_slowloris_many_addresses():
    """500 connections from 20 addresses (25 each, under the per-address cap) trickle a head;
    a silent head and a trickled body get 408 at their deadline."""
    _raise_fd_limit(2048)
    f = Ferry(_cfg())
    port = f.admin_port
    token = _login(port)
    head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Pad: %s\r\n\r\n" % (port, "a" * 200)).encode()
    t_start = time.monotonic()
    attack = Attack(port, _sources(2, 20), 500, head)
    # One connection that stops after part of a head, one that trickles a declared body.
    silent = Attack(port, ["127.0.0.30"], 1, head[:20], trickle=False, first=20)
    body_head = ("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1000\r\n\r\n{" % port).encode()
    body = Attack(port, ["127.0.0.31"], 1, body_head + b" " * 999, first=len(body_head))
    figure("500 slow connections opened in", "%.2f" % (time.monotonic() - t_start), "s")
    assert attack.refused == 0, "%d connects refused" % attack.refused
    time.sleep(1.2)  # every connection has trickled at least once
    held = len(attack.open())
    figure("slow connections held open", held)
    _check_reachable(port, token, "500 slow connections")
    _wait_all_closed(attack, "trickled heads", HEAD_DEADLINE + 2.5)
    _wait_all_closed(silent, "silent head", HEAD_DEADLINE + 2.5)
    assert silent.conns[0]["data"].startswith(b"HTTP/1.1 408 "), silent.conns[0]["data"][:200]
    wait_until(lambda: not body.open(), timeout=HEAD_DEADLINE + 4, what="the trickled body closed")
    span = body.conns[0]["closed"] - body.conns[0]["t0"]
    assert HEAD_DEADLINE - 1 < span < HEAD_DEADLINE + 3, "trickled body closed after %.1f s" % span
    # The trickle may race the close (a reset can swallow the answer): the body is checked by
    # its close time; a 408, when it arrived, is the answer.
    assert body.conns[0]["data"] == b"" or body.conns[0]["data"].startswith(b"HTTP/1.1 408 "), body.conns[0]["data"]
    f.wait_log(r"admin connection closed reason=head-timeout")
    # Refusal logs are rate-limited: at most one line a second per reason.
    lines = f.log_lines(r"admin connection closed reason=head-timeout")
    assert len(lines) <= 4, "%d head-timeout lines for one burst" % len(lines)
    _check_reachable(port, token, "after the attack", n=10)


def test_per_address_cap():
    """100 connections from one address: 32 stay open; a complete request from that address
    still gets through (it closes the oldest waiting one), and 127.0.0.1 is unaffected."""
    _raise_fd_limit(1024)
    f = Ferry(_cfg())
    port = f.admin_port
    token = _login(port)
    attack = Attack(port, ["127.0.0.3"], 100, b"GET / HTTP/1.1\r\n", trickle=False)
    wait_until(lambda: len(attack.open()) <= PER_ADDRESS, timeout=3,
               what="at most %d connections from 127.0.0.3 (%d open)" % (PER_ADDRESS, len(attack.open())))
    time.sleep(0.3)
    held = len(attack.open())
    figure("connections held by one address", held)
    assert held == PER_ADDRESS, held
    # The newest ones are kept (the oldest waiting ones made room).
    assert all(c["closed"] is not None for c in attack.conns[:100 - PER_ADDRESS])
    s = connect(port, timeout=3, source="127.0.0.3")
    s.sendall(("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port).encode())
    data = recv_all(s)
    s.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"ok\n"), data
    _check_reachable(port, token, "one address at its cap", n=20)
    f.wait_log(r"admin connection closed reason=address-limit address=127\.0\.0\.3")
    lines = f.log_lines(r"admin connection closed reason=address-limit")
    assert len(lines) <= 3, "%d address-limit lines for one burst" % len(lines)


def test_global_cap():
    """1100 connections from 40 addresses (under the per-address cap): the oldest waiting ones
    are closed to stay at the global cap, and new clients are still served."""
    _raise_fd_limit(8 * GLOBAL_CAP + 512)
    f = Ferry(_cfg())
    port = f.admin_port
    token = _login(port)
    attack = Attack(port, _sources(40, 40), 1100, b"GET / HTTP/1.1\r\n", trickle=False)
    wait_until(lambda: len(attack.open()) <= GLOBAL_CAP, timeout=3,
               what="at most %d connections (%d open)" % (GLOBAL_CAP, len(attack.open())))
    time.sleep(0.3)
    held = len(attack.open())
    figure("connections held at the global cap", held)
    assert held == GLOBAL_CAP, held
    _check_reachable(port, token, "global cap reached", n=20)
    f.wait_log(r"admin connection closed reason=connection-limit")


def test_slowloris_tls():
    """admin-tls: 200 connections trickle a head after the handshake, 50 never start it."""
    _raise_fd_limit(2048)
    cert = _self_signed(tmpdir())
    f = Ferry(_cfg(["admin-tls admin.pem admin.key"]))
    port = f.admin_port
    tls = ssl.create_default_context(cafile=cert)
    token = _login(port, tls)
    head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Pad: %s\r\n\r\n" % (port, "a" * 200)).encode()
    t_start = time.monotonic()
    attack = Attack(port, _sources(2, 10), 200, head, tls=tls)
    mute = Attack(port, _sources(12, 2), 50, head, tls=tls, handshake=False, trickle=False)
    figure("250 slow TLS connections opened in", "%.2f" % (time.monotonic() - t_start), "s")
    assert attack.refused == 0 and mute.refused == 0, (attack.refused, mute.refused)
    time.sleep(1.2)
    _check_reachable(port, token, "250 slow TLS connections", tls=tls)
    _wait_all_closed(attack, "TLS trickled heads", HEAD_DEADLINE + 2.5)
    _wait_all_closed(mute, "TLS never handshaken", HEAD_DEADLINE + 2.5)
    f.wait_log(r"admin connection closed reason=(head|handshake)-timeout")


if __name__ == "__main__":
    main()
