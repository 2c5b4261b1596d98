"""Retries: idempotent requests never fail while another server is up, even when a backend is
killed (SIGKILL) mid-run with pooled connections to it."""
import collections
import http.client
import threading
import time

import harness as H


def _setup(extra=()):
    procs = [H.BackendProcess("r%d" % i) for i in range(3)]
    cfg = H.base_config()
    cfg += H.section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += H.backend_section("pool", [(p.name, p.port) for p in procs], "balance roundrobin", "retries 2", *extra)
    cfg += H.section("app a", "hosts app.test", "backend pool")
    return H.Ferry(cfg), procs


def _run(port, n, kill_at, victim, keepalive):
    counts = collections.Counter()
    failures = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10) if keepalive else None
    lat = []
    for i in range(n):
        if i == kill_at:
            victim.kill()
        try:
            r, ms = H.timed_request(port, path="/r/%d" % i, conn=conn)
            lat.append(ms)
            if r.status != 200:
                failures.append("request %d: %d %r" % (i, r.status, r.body[:80]))
            else:
                counts[r.json()["name"]] += 1
        except Exception as e:
            failures.append("request %d: %s" % (i, H._oneline(e)))
            if conn:
                conn.close()
    if conn:
        conn.close()
    return counts, failures, lat


def test_sequential_gets_with_killed_backend_keepalive():
    f, procs = _setup()
    counts, failures, lat = _run(f.port("web"), 200, 60, procs[1], keepalive=True)
    H.figure("keep-alive: served per backend", dict(counts))
    H.figure("keep-alive: failures", len(failures))
    H.figure("keep-alive: p50/p99/max ms", "%.1f/%.1f/%.1f" % (H.percentile(lat, 50), H.percentile(lat, 99), max(lat)))
    assert not failures, "\n".join(failures[:20])
    assert counts["r1"] <= 25, "killed backend still 'served' %d" % counts["r1"]
    assert counts["r0"] > 50 and counts["r2"] > 50, counts


def test_sequential_gets_with_killed_backend_new_connections():
    f, procs = _setup()
    counts, failures, lat = _run(f.port("web"), 200, 60, procs[0], keepalive=False)
    H.figure("new connections: served per backend", dict(counts))
    H.figure("new connections: failures", len(failures))
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
                r = H.request(port, "/c/%d/%d" % (k, i), conn=conn)
                with lock:
                    done[k] += 1
                    if r.status != 200:
                        failures.append("client %d req %d: %d" % (k, i, r.status))
            except Exception as e:
                with lock:
                    failures.append("client %d req %d: %s" % (k, i, H._oneline(e)))
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
    H.figure("concurrent (4x100) with a kill: failures", len(failures))
    assert not failures, "\n".join(failures[:20])


def test_all_backends_killed_then_fail_fast():
    f, procs = _setup()
    port = f.port("web")
    assert H.request(port).status == 200
    for p in procs:
        p.kill()
    r, ms = H.timed_request(port)
    H.figure("all killed: status/latency", "%d/%.0f ms" % (r.status, ms))
    assert r.status in (502, 503), r
    assert ms < 3000, "took %.0f ms to fail" % ms


if __name__ == "__main__":
    H.main()
