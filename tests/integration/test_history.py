"""Per-app traffic history in SQLite (GET /api/v1/apps/NAME/history, docs/API.md).

  counts      traffic to an app shows up, within ~2 sample intervals (history-sample-interval
              1s), in the current minute's row with the right status classes.
  restart     the rows written before a restart (same state-dir) are still returned after it,
              and new traffic adds to them.
  errors      a bad range is 400, an app not in the running config is 404, both as JSON.
  off         `history-retention off`: the endpoint answers with no points and nothing is
              written to ferry.db.

`counts` and `restart` need the data plane's real counters (Engine::stats()).
"""
import json
import os
import sqlite3
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, tmpdir, wait_until
from ferrykit.wire import request

APP_HOST = "shop.test"


def _config(backend_port, extra=("history-sample-interval 1s",)):
    cfg = base_config(workers=2, global_extra=extra)
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("pool", [("s1", backend_port)])
    cfg += section("app shop", "hosts %s" % APP_HOST, "backend pool")
    cfg += section("app quiet", "hosts quiet.test", "backend pool")
    return cfg


def _history(f, app="shop", rng="15m"):
    r = request(f.admin_port, "/api/v1/apps/%s/history?range=%s" % (app, rng),
                host="127.0.0.1:%d" % f.admin_port)
    return r.status, r.json()


def _traffic(f, ok=0, not_found=0):
    port = f.port("web")
    for _ in range(ok):
        r = request(port, "/x", host=APP_HOST)
        assert r.status == 200, r
    for _ in range(not_found):
        r = request(port, "/x?status=404", host=APP_HOST)
        assert r.status == 404, r


def _totals(points):
    keys = ("requests", "s2xx", "s4xx", "s5xx")
    return {k: sum(p[k] for p in points) for k in keys}


def _wait_requests(f, want, timeout):
    """Polls the history until its points add up to `want` requests; returns (points, seconds)."""
    t0 = time.monotonic()
    last = {}

    def seen():
        st, body = _history(f)
        assert st == 200, (st, body)
        last["body"] = body
        return body["points"] if _totals(body["points"])["requests"] >= want else None
    try:
        pts = wait_until(seen, timeout=timeout, interval=0.2, what="%d requests in the history" % want)
    except AssertionError:
        raise AssertionError("history after %.1fs: %s" % (timeout, json.dumps(last.get("body"))))
    return pts, time.monotonic() - t0


def test_counts():
    be = HttpBackend("b")
    f = Ferry(_config(be.port))
    _traffic(f, ok=7, not_found=3)
    sent_at = time.time()
    # Two sample intervals (1 s) plus scheduling slack.
    pts, took = _wait_requests(f, 10, timeout=3.0)
    figure("history: requests visible after", "%.2f" % took, "s")
    tot = _totals(pts)
    assert tot == {"requests": 10, "s2xx": 7, "s4xx": 3, "s5xx": 0}, tot
    # The current, still-filling minute is there: the newest point is the minute of the traffic
    # (or the one after it, when a minute boundary passed meanwhile).
    newest = pts[-1]
    minute = int(sent_at) // 60 * 60
    assert newest["t"] in (minute, minute + 60), (newest["t"], minute)
    assert all(p["t"] % 60 == 0 for p in pts), pts
    assert sum(p["bytes_out"] for p in pts) > 0, pts
    assert newest["p50_ms"] > 0 and newest["p50_ms"] <= newest["p95_ms"] <= newest["p99_ms"], newest
    # The figures grow while the minute fills.
    _traffic(f, ok=2)
    pts, _ = _wait_requests(f, 12, timeout=3.0)
    assert _totals(pts)["s2xx"] == 9, pts
    # An app without traffic has no rows.
    st, body = _history(f, "quiet")
    assert st == 200 and body["points"] == [], body
    assert body["resolution_s"] == 60 and body["to"] - body["from"] == 900, body


def test_restart():
    be = HttpBackend("b")
    cfg = _config(be.port)
    f = Ferry(cfg)
    _traffic(f, ok=5, not_found=1)
    before, _ = _wait_requests(f, 6, timeout=3.0)
    assert f.stop() == 0
    db = os.path.join(tmpdir(), "state", "ferry.db")
    assert os.path.exists(db), db

    g = Ferry(cfg)  # same config, same state-dir
    st, body = _history(g)
    assert st == 200, body
    tot = _totals(body["points"])
    assert tot["requests"] == 6 and tot["s2xx"] == 5 and tot["s4xx"] == 1, body
    assert [p["t"] for p in body["points"]] == [p["t"] for p in before], (before, body["points"])
    # The new process's counters start at 0; its first sample adds to the stored minute.
    _traffic(g, ok=4)
    pts, _ = _wait_requests(g, 10, timeout=3.0)
    assert _totals(pts)["s2xx"] == 9, pts
    # The rows are in ferry.db itself.
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n = con.execute("SELECT sum(s2xx) FROM history_minute WHERE app = 'shop'").fetchone()[0]
    finally:
        con.close()
    assert n is not None and n >= 5, n


def test_errors():
    be = HttpBackend("b")
    f = Ferry(_config(be.port))
    for rng in ("2h", "", "7D", "1h;"):
        st, body = _history(f, rng=rng)
        assert st == 400 and "invalid range" in body["error"], (rng, st, body)
    r = request(f.admin_port, "/api/v1/apps/shop/history", host="127.0.0.1:%d" % f.admin_port)
    assert r.status == 200 and r.json()["to"] - r.json()["from"] == 3600, r  # default range 1h
    st, body = _history(f, app="nosuchapp", rng="1h")
    assert st == 404 and "nosuchapp" in body["error"], (st, body)
    for rng, res, span in (("1h", 60, 3600), ("48h", 60, 172800), ("7d", 3600, 604800), ("30d", 3600, 2592000)):
        st, body = _history(f, rng=rng)
        assert st == 200, (rng, st, body)
        assert body["app"] == "shop" and body["resolution_s"] == res and body["to"] - body["from"] == span, body
        assert isinstance(body["points"], list), body
    # An app removed by a reload is unknown from then on.
    assert f.reload(_config(be.port).replace("app quiet\n    hosts quiet.test\n    backend pool\n", "")) == ("ok", 2)
    st, _ = _history(f, app="quiet")
    assert st == 404


def test_off():
    be = HttpBackend("b")
    f = Ferry(_config(be.port, extra=("history-sample-interval 1s", "history-retention off")))
    _traffic(f, ok=3)
    time.sleep(1.5)
    st, body = _history(f)
    assert st == 200 and body["points"] == [], body
    assert not os.path.exists(os.path.join(tmpdir(), "state", "ferry.db"))


if __name__ == "__main__":
    main()
