"""Timeouts: 408 for slow request heads (slowloris), 504 for slow upstreams, idle keep-alive."""
import threading
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.load import timed_request
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main
from ferrykit.wire import RawConn


def _setup(server_timeout="1s", delay=0.0):
    be = HttpBackend("slow", delay=delay)
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a",
                   "timeout http-request 1s", "timeout http-keep-alive 1s")
    cfg += backend_section("pool", [("s1", be.port)], "timeout server %s" % server_timeout, "retries 0")
    cfg += section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


def test_408_slowloris():
    f, be = _setup()
    c = RawConn(f.port("web"), timeout=10)
    t0 = time.monotonic()
    stop = threading.Event()
    head = b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: " + b"a" * 200

    def trickle():  # one byte every 100 ms, never finishing the head
        for b in head:
            if stop.is_set():
                return
            try:
                c.sock.send(bytes([b]))
            except OSError:
                return
            time.sleep(0.1)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        r = c.read_response(timeout=8)
    finally:
        stop.set()
    elapsed = time.monotonic() - t0
    figure("slowloris 408 after", "%.2f" % elapsed, "s (timeout http-request 1s)")
    assert r.status == 408, r
    assert 0.8 <= elapsed <= 2.5, "408 after %.2fs, expected ~1s" % elapsed
    assert c.wait_closed(2), "connection not closed after 408"
    assert be.hits == 0


def test_408_partial_head_no_bytes_then_silence():
    f, be = _setup()
    c = RawConn(f.port("web"), timeout=10)
    t0 = time.monotonic()
    c.send("GET / HTTP/1.1\r\nHost: app.test\r\n")
    r = c.read_response(timeout=8)
    elapsed = time.monotonic() - t0
    assert r.status == 408, r
    assert 0.8 <= elapsed <= 2.5, "408 after %.2fs" % elapsed


def test_idle_connection_closed_without_response():
    # A connection that never sends a byte is closed after the timeout (a 408 is allowed).
    f, be = _setup()
    c = RawConn(f.port("web"), timeout=10)
    t0 = time.monotonic()
    assert c.wait_closed(5), "idle connection not closed within 5s"
    elapsed = time.monotonic() - t0
    figure("idle connection closed after", "%.2f" % elapsed, "s")
    assert elapsed <= 2.5, "closed after %.2fs" % elapsed


def test_keepalive_idle_timeout():
    f, be = _setup()
    c = RawConn(f.port("web"), timeout=10)
    c.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert c.read_response().status == 200
    t0 = time.monotonic()
    assert c.wait_closed(5), "idle keep-alive connection not closed"
    elapsed = time.monotonic() - t0
    figure("keep-alive idle close after", "%.2f" % elapsed, "s (timeout http-keep-alive 1s)")
    assert 0.7 <= elapsed <= 2.5, "closed after %.2fs" % elapsed
    if c.buf:
        print("  bytes sent on idle close: %r" % bytes(c.buf[:80]))


def test_504_upstream_timeout():
    f, be = _setup(server_timeout="1s", delay=3.0)
    r, ms = timed_request(f.port("web"), path="/slow")
    figure("504 after", "%.0f" % ms, "ms (timeout server 1s)")
    assert r.status == 504, r
    assert 0 < len(r.body) < 1024
    assert 800 <= ms <= 2500, "504 after %.0f ms" % ms


def test_fast_enough_upstream_ok():
    f, be = _setup(server_timeout="2s")
    r, ms = timed_request(f.port("web"), path="/?delay=0.5")
    assert r.status == 200, r


if __name__ == "__main__":
    main()
