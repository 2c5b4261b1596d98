"""Load balancing: roundrobin with weights, backup and disabled servers, leastconn, random."""
import collections
import http.client
import threading

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, wait_until
from ferrykit.wire import request


def _setup(servers, balance, extra=()):
    bes = {name: HttpBackend(name) for name, _ in servers}
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [(n, bes[n].port, opt) for n, opt in servers], "balance " + balance, *extra)
    cfg += section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), bes


def _count(port, n, keepalive=True):
    counts = collections.Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5) if keepalive else None
    for i in range(n):
        r = request(port, "/b/%d" % i, conn=conn)
        counts[r.json()["name"] if r.status == 200 else r.status] += 1
    if conn:
        conn.close()
    return counts


def test_roundrobin_weights():
    f, bes = _setup([("w1", "weight 1"), ("w2", "weight 2"), ("w3", "weight 3")], "roundrobin")
    n = 600
    counts = _count(f.port("web"), n)
    figure("roundrobin 1:2:3 over %d requests" % n, dict(counts))
    for name, w in (("w1", 1), ("w2", 2), ("w3", 3)):
        want = n * w / 6
        assert abs(counts[name] - want) <= 0.1 * want + 2, "%s got %d, expected ~%.0f: %r" % (name, counts[name], want, counts)


def test_roundrobin_equal_new_connections():
    f, bes = _setup([("a", ""), ("b", ""), ("c", "")], "roundrobin")
    counts = _count(f.port("web"), 150, keepalive=False)
    figure("roundrobin equal weights, new connection each", dict(counts))
    for name in "abc":
        assert 40 <= counts[name] <= 60, counts


def test_backup_and_disabled():
    f, bes = _setup([("main", ""), ("off", "disabled"), ("spare", "backup"), ("zero", "weight 0")], "roundrobin",
                    ["health-check tcp interval 200ms timeout 200ms rise 1 fall 1"])
    counts = _count(f.port("web"), 30)
    assert counts == {"main": 30}, "only the active server should get traffic: %r" % counts
    bes["main"].kill()
    wait_until(lambda: _count(f.port("web"), 1, keepalive=False) == {"spare": 1}, timeout=5,
               what="backup serving once main is down")
    counts = _count(f.port("web"), 10, keepalive=False)
    assert counts == {"spare": 10}, "the backup should take over when main is down: %r" % counts


def test_random_spreads():
    f, bes = _setup([("r1", ""), ("r2", ""), ("r3", "")], "random")
    counts = _count(f.port("web"), 300)
    figure("random over 300 requests", dict(counts))
    # Identical servers: each gets a fair share (power-of-two-choices may favour the faster ones,
    # but none may be starved).
    for name in ("r1", "r2", "r3"):
        assert counts[name] >= 30, "server %s starved: %r" % (name, counts)


def test_leastconn_avoids_busy_server():
    f, bes = _setup([("busy", ""), ("idle", "")], "leastconn")
    port = f.port("web")
    bes["busy"].delay = 2.0
    bes["idle"].delay = 2.0
    # Occupy one server with 1 long request, then the next long one must go to the other.
    results = []

    def slow():
        results.append(request(port, "/slow", timeout=10).json()["name"])
    t1 = threading.Thread(target=slow)
    t1.start()
    wait_until(lambda: bes["busy"].in_flight + bes["idle"].in_flight == 1, what="first slow request in flight")
    first = "busy" if bes["busy"].in_flight else "idle"
    other = "idle" if first == "busy" else "busy"
    bes[other].delay = 0.0
    bes[first].delay = 0.0  # new requests return fast; the first one is still sleeping
    counts = _count(port, 10)
    t1.join()
    figure("leastconn while %s holds 1 request" % first, dict(counts))
    assert counts[other] >= 9, "leastconn sent %d of 10 to the busy server: %r" % (counts[first], counts)


if __name__ == "__main__":
    main()
