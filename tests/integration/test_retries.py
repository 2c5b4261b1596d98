"""Retries: idempotent requests never fail while another server is up, even when a backend is
killed (SIGKILL) mid-run with pooled connections to it."""
import collections
import http.client
import threading
import time

from ferrykit.backends import BackendProcess
from ferrykit.config import backend_section, base_config, section
from ferrykit.load import timed_request
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, oneline, percentile
from ferrykit.wire import request


def _setup(extra=()):
    procs = [BackendProcess("r%d" % i) for i in range(3)]
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [(p.name, p.port) for p in procs], "balance roundrobin", "retries 2", *extra)
    cfg += section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), procs


def _run(port, n, kill_at, victim, keepalive):
    counts = collections.Counter()
    failures = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10) if keepalive else None
    lat = []
    for i in range(n):
        if i == kill_at:
            victim.kill()
        try:
            r, ms = timed_request(port, path="/r/%d" % i, conn=conn)
            lat.append(ms)
            if r.status != 200:
                failures.append("request %d: %d %r" % (i, r.status, r.body[:80]))
            else:
                counts[r.json()["name"]] += 1
        except Exception as e:
            failures.append("request %d: %s" % (i, oneline(e)))
            if conn:
                conn.close()
    if conn:
        conn.close()
    return counts, failures, lat


def test_sequential_gets_with_killed_backend_keepalive():
    f, procs = _setup()
    counts, failures, lat = _run(f.port("web"), 200, 60, procs[1], keepalive=True)
    figure("keep-alive: served per backend", dict(counts))
    figure("keep-alive: failures", len(failures))
    figure("keep-alive: p50/p99/max ms", "%.1f/%.1f/%.1f" % (percentile(lat, 50), percentile(lat, 99), max(lat)))
    assert not failures, "\n".join(failures[:20])
    assert counts["r1"] <= 25, "killed backend still 'served' %d" % counts["r1"]
    assert counts["r0"] > 50 and counts["r2"] > 50, counts


def test_sequential_gets_with_killed_backend_new_connections():
    f, procs = _setup()
    counts, failures, lat = _run(f.port("web"), 200, 60, procs[0], keepalive=False)
    figure("new connections: served per backend", dict(counts))
    figure("new connections: failures", len(failures))
    assert not failures, "\n".join(failures[:20])


def test_concurrent_gets_with_killed_backend():
    f, procs = _setup()
    port = f.port("web")
    failures = []
    done = collections.Counter()
    lock = threading.Lock()
    started = threading.Event()

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(100):
            try:
                r = request(port, "/c/%d/%d" % (k, i), conn=conn)
                with lock:
                    done[k] += 1
                    if r.status != 200:
                        failures.append("client %d req %d: %d" % (k, i, r.status))
            except Exception as e:
                with lock:
                    failures.append("client %d req %d: %s" % (k, i, oneline(e)))
                conn.close()
            if i == 10:
                started.set()
        conn.close()

    ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    started.wait(10)
    time.sleep(0.1)
    procs[2].kill()
    for t in ts:
        t.join(60)
    figure("concurrent (4x100) with a kill: failures", len(failures))
    assert not failures, "\n".join(failures[:20])


def test_all_backends_killed_then_fail_fast():
    f, procs = _setup()
    port = f.port("web")
    assert request(port).status == 200
    for p in procs:
        p.kill()
    r, ms = timed_request(port)
    figure("all killed: status/latency", "%d/%.0f ms" % (r.status, ms))
    assert r.status in (502, 503), r
    assert ms < 3000, "took %.0f ms to fail" % ms


if __name__ == "__main__":
    main()
