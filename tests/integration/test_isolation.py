"""Per-app concurrency budgets: a saturated app (hard + queue) gets 503 Retry-After and does
not slow down another app on the same frontend."""
import threading
import time

from ferrykit.backends import BackendProcess, HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.load import FloodProcess, timed_request
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, oneline, percentile, wait_until
from ferrykit.wire import RawConn, request


def _measure(port, host, n, seconds=None):
    """n sequential requests on new connections (or as many as fit in `seconds`)."""
    lat, errors = [], []
    stop_at = time.monotonic() + seconds if seconds else None
    for i in range(n):
        if stop_at and time.monotonic() > stop_at:
            break
        try:
            r, ms = timed_request(port, path="/b/%d" % i, host=host)
            if r.status != 200:
                errors.append("%d %r" % (r.status, r.body[:60]))
            lat.append(ms)
        except Exception as e:
            errors.append(oneline(e))
    return lat, errors


def test_saturated_app_does_not_hurt_neighbour():
    slow = BackendProcess("slow", delay=1.0)
    fast = BackendProcess("fast")
    cfg = base_config(defaults_extra=["timeout queue 2s", "timeout server 10s"])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("slow-pool", [("slow", slow.port)])
    cfg += backend_section("fast-pool", [("fast", fast.port)])
    cfg += section("app a", "hosts a.test", "backend slow-pool", "concurrency hard 5 queue 10")
    cfg += section("app b", "hosts b.test", "backend fast-pool")
    f = Ferry(cfg)
    port = f.port("web")
    for _ in range(20):  # warm up
        request(port, host="b.test")
    base_lat, base_err = _measure(port, "b.test", 300)
    assert not base_err, base_err[:5]
    flood_secs = 7
    flood = FloodProcess(port, "a.test", clients=40, seconds=flood_secs)
    time.sleep(1.5)  # let A saturate: 5 in flight, 10 queued, the rest rejected
    t0 = time.monotonic()
    load_lat, load_err = _measure(port, "b.test", 100000, seconds=3)
    meas_secs = time.monotonic() - t0
    stats = flood.finish(timeout=flood_secs + 30)
    b50, b99 = percentile(base_lat, 50), percentile(base_lat, 99)
    l50, l99 = percentile(load_lat, 50), percentile(load_lat, 99)
    figure("app B unloaded p50/p99", "%.2f/%.2f" % (b50, b99), "ms")
    figure("app B during A's saturation p50/p99", "%.2f/%.2f" % (l50, l99), "ms (%d requests in %.1fs)" % (len(load_lat), meas_secs))
    figure("app A flood (40 clients, %ds)" % flood_secs, stats)
    assert meas_secs < flood_secs - 1.5, "B measurement outlasted the flood (%.1fs): rerun with a longer flood" % meas_secs
    assert not load_err, "app B errors during A's saturation: %r" % load_err[:10]
    assert l99 < 10 * b99 + 50, "app B p99 %.1f ms under A's load vs %.1f ms unloaded" % (l99, b99)
    s503 = stats["by_status"].get("503", 0)
    s200 = stats["by_status"].get("200", 0)
    assert s503 > 0, "app A never answered 503 while 40 clients flooded hard 5 queue 10: %r" % stats
    assert stats["retry_after"] == s503, "503 without Retry-After: %r" % stats
    # hard 5 with a 1 s backend: at most ~5 completions per second.
    assert s200 <= 5 * (flood_secs + 2) + 5, "app A completed %d requests: the hard limit of 5 was not enforced" % s200
    assert s200 >= 5 * (flood_secs - 3), "app A completed only %d requests: budget slots leak?" % s200
    assert set(stats["by_status"]) <= {"200", "503"}, stats
    assert stats["errors"] == 0, "app A clients saw connection errors: %r" % stats


def _budget_setup(hard, queue, queue_timeout, delay):
    be = HttpBackend("slow", delay=delay)
    cfg = base_config(defaults_extra=["timeout queue %s" % queue_timeout])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("s1", be.port)])
    cfg += section("app a", "hosts a.test", "backend pool", "concurrency hard %d queue %d" % (hard, queue))
    return Ferry(cfg), be


def _parallel(port, n, host="a.test", stagger=0.05):
    results = [None] * n

    def one(i):
        try:
            r, ms = timed_request(port, path="/p/%d" % i, host=host, timeout=15)
            results[i] = (r.status, ms, r.header("Retry-After"))
        except Exception as e:
            results[i] = ("error", 0, oneline(e))
    ts = []
    for i in range(n):
        t = threading.Thread(target=one, args=(i,))
        t.start()
        ts.append(t)
        time.sleep(stagger)
    for t in ts:
        t.join(30)
    return results


def test_queue_admits_within_hard_limit():
    f, be = _budget_setup(hard=1, queue=5, queue_timeout="5s", delay=0.3)
    res = _parallel(f.port("web"), 4)
    print("  results: %r" % res)
    assert [r[0] for r in res] == [200] * 4, res
    assert be.max_in_flight == 1, "upstream saw %d concurrent requests with hard 1" % be.max_in_flight


def test_queue_full_and_queue_timeout():
    f, be = _budget_setup(hard=1, queue=1, queue_timeout="500ms", delay=2.0)
    res = _parallel(f.port("web"), 3, stagger=0.1)
    print("  results: %r" % res)
    # #0 runs (200 after ~2 s), #1 waits in the queue and expires after ~0.5 s, #2 finds the queue full.
    assert res[0][0] == 200, res
    assert res[1][0] == 503 and res[1][2], "queued request: expected 503 with Retry-After: %r" % (res[1],)
    assert 350 <= res[1][1] <= 1500, "queued request expired after %.0f ms (timeout queue 500ms)" % res[1][1]
    assert res[2][0] == 503 and res[2][2], "queue full: expected 503 with Retry-After: %r" % (res[2],)
    assert res[2][1] < 300, "queue-full rejection took %.0f ms" % res[2][1]
    assert be.max_in_flight == 1
    # The budget is released: a later request runs.
    be.delay = 0
    r = request(f.port("web"), host="a.test")
    assert r.status == 200, r


def test_budget_released_after_client_abort():
    f, be = _budget_setup(hard=1, queue=0, queue_timeout="1s", delay=1.0)
    port = f.port("web")
    c = RawConn(port)
    c.send("GET /abort HTTP/1.1\r\nHost: a.test\r\n\r\n")
    wait_until(lambda: be.in_flight == 1, what="request in flight")
    c.close()  # the client goes away mid-request
    be.delay = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if request(port, host="a.test").status == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the slot of an aborted request was never released")


if __name__ == "__main__":
    main()
