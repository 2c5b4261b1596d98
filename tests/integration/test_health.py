"""Active health checks (eject and bring back) and passive ejection."""
import collections
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.load import timed_request
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, percentile, wait_until
from ferrykit.wire import dead_port, request


def _setup(backend_lines, names=("good", "flaky")):
    bes = {n: HttpBackend(n) for n in names}
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [(n, bes[n].port) for n in names], "balance roundrobin", *backend_lines)
    cfg += section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), bes


def _count(port, n):
    counts = collections.Counter()
    for i in range(n):
        r = request(port, "/h/%d" % i)
        counts[(r.json()["name"] if r.status == 200 else r.status)] += 1
    return counts


def _balanced(counts, n):
    """Both servers get traffic (roundrobin state may be per worker: not exactly n/2 each)."""
    return set(counts) == {"good", "flaky"} and min(counts.values()) >= n // 2 - n // 5


def test_active_http_check_ejects_and_recovers():
    f, bes = _setup(["health-check http GET /healthz interval 200ms timeout 300ms rise 2 fall 2"])
    port = f.port("web")
    wait_until(lambda: bes["flaky"].health_hits >= 2 and bes["good"].health_hits >= 2, what="health checks running")
    c = _count(port, 20)
    assert _balanced(c, 20), c
    bes["flaky"].healthy = False
    t0 = time.monotonic()
    wait_until(lambda: _count(port, 6) == {"good": 6}, timeout=5, interval=0.05, what="flaky ejected")
    eject = time.monotonic() - t0
    figure("ejected after", "%.2f" % eject, "s (interval 200ms, fall 2)")
    assert eject < 2.0
    before = bes["flaky"].hits
    assert _count(port, 20) == {"good": 20}
    assert bes["flaky"].hits == before
    bes["flaky"].healthy = True
    t0 = time.monotonic()
    wait_until(lambda: _count(port, 4).get("flaky", 0) > 0, timeout=5, interval=0.05, what="flaky back")
    figure("back in rotation after", "%.2f" % (time.monotonic() - t0), "s (rise 2)")
    c = _count(port, 20)
    assert _balanced(c, 20), c


def test_active_check_sends_method_path_host():
    f, bes = _setup(["health-check http HEAD /healthz host health.test interval 200ms timeout 300ms"])
    # The JSON backend only records non-health requests; check the counter and that traffic works.
    wait_until(lambda: bes["good"].health_hits >= 2, what="HEAD health checks")
    c = _count(f.port("web"), 10)
    assert _balanced(c, 10), c


def test_tcp_check_ejects_dead_server_and_recovers():
    # Passive ejection off: only the tcp check decides.
    f, bes = _setup(["health-check tcp interval 200ms timeout 300ms rise 2 fall 2", "retries 0", "eject-after 0"])
    port = f.port("web")
    flaky_port = bes["flaky"].port
    bes["flaky"].kill()
    t0 = time.monotonic()
    wait_until(lambda: _count(port, 6) == {"good": 6}, timeout=5, interval=0.05, what="dead server ejected")
    figure("tcp check: dead server ejected after", "%.2f" % (time.monotonic() - t0), "s")
    # Bring a server back on the same port.
    back = None
    for _ in range(50):
        try:
            back = HttpBackend("flaky2", port=flaky_port)
            break
        except OSError:
            time.sleep(0.1)
    assert back is not None, "could not rebind port %d" % flaky_port
    t0 = time.monotonic()
    wait_until(lambda: _count(port, 4).get("flaky2", 0) > 0, timeout=5, interval=0.05, what="server back")
    figure("tcp check: server back after", "%.2f" % (time.monotonic() - t0), "s")


def test_passive_ejection_on_5xx():
    f, bes = _setup(["eject-after 3", "eject-time 2s"])
    port = f.port("web")
    bes["flaky"].status = 500
    fails, last_fail = 0, None
    counts = collections.Counter()
    for i in range(60):
        r = request(port, "/p/%d" % i)
        if r.status == 500:
            fails += 1
            last_fail = time.monotonic()
        else:
            counts[r.json()["name"]] += 1
    figure("passive: requests reaching the failing server of 60", fails)
    # At most `eject-after` consecutive failures (per worker, if counted per worker).
    assert 3 <= fails <= 3 * max(1, f.workers or 1), "%d failures reached the client" % fails
    # After eject-time (2s) it is tried again; once fixed it gets traffic back.
    bes["flaky"].status = 200
    wait_until(lambda: _count(port, 4).get("flaky", 0) > 0, timeout=8, interval=0.1, what="ejected server retried")
    back = time.monotonic() - last_fail
    figure("passive: server back after its last failure", "%.2f" % back, "s (eject-time 2s)")
    assert back >= 1.7, "server came back %.2fs after its last failure (eject-time 2s)" % back


def test_passive_ejection_on_connect_failure():
    dead = dead_port()
    good = HttpBackend("good")
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("good", good.port), ("dead", dead)], "balance roundrobin",
                           "eject-after 2", "eject-time 30s", "retries 2")
    cfg += section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    port = f.port("web")
    lat = []
    for i in range(40):
        r, ms = timed_request(port)
        assert r.status == 200 and r.json()["name"] == "good", "request %d: %r" % (i, r)
        lat.append(ms)
    figure("passive connect failures: p50/max latency", "%.1f/%.1f" % (percentile(lat, 50), max(lat)), "ms")


if __name__ == "__main__":
    main()
