"""Access log in JSON: one line per request with the documented fields."""
import json
import os
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main, tmpdir, wait_until
from ferrykit.wire import dead_port, request

FIELDS = ["ts", "client", "method", "path", "host", "status", "bytes_in", "bytes_out", "app", "frontend",
          "server", "duration_ms", "upstream_ms", "request_id", "retries"]


def _read(path, n, timeout=5):
    def lines():
        if not os.path.exists(path):
            return None
        ls = [l for l in open(path).read().splitlines() if l.strip()]
        return ls if len(ls) >= n else None
    return wait_until(lines, timeout=timeout, what="%d access log lines in %s" % (n, path))


def _logged_ferry(server, app, host):
    """A ferryd with a JSON access log, frontend `web` and one app on one backend server.
    Returns (ferry, log path, backend)."""
    be = HttpBackend("logged")
    path = os.path.join(tmpdir(), "access.log")
    cfg = base_config(global_extra=["access-log %s json" % path])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("pool", [(server, be.port)])
    cfg += section("app " + app, "hosts " + host, "backend pool")
    return Ferry(cfg), path, be


def test_json_access_log():
    f, path, _ = _logged_ferry("srv1", "shop", "shop.test")
    port = f.port("web")
    r1 = request(port, "/items/42?color=red", host="shop.test")
    r2 = request(port, "/upload", method="POST", host="shop.test", body=b"z" * 1000)
    r3 = request(port, "/nope", host="unknown.test")
    assert (r1.status, r2.status, r3.status) == (200, 200, 404)
    lines = _read(path, 3)
    recs = []
    for l in lines:
        try:
            recs.append(json.loads(l))
        except ValueError:
            raise AssertionError("access log line is not JSON: %r" % l)
    by_id = {x.get("request_id"): x for x in recs}
    for r in (r1, r2, r3):
        assert r.header("Ferry-Request-Id") in by_id, "no log line with request_id %r: %r" % (r.header("Ferry-Request-Id"), recs)
    a = by_id[r1.header("Ferry-Request-Id")]
    print("  sample: %s" % json.dumps(a))
    missing = [k for k in FIELDS if k not in a]
    assert not missing, "fields missing: %r in %r" % (missing, a)
    assert a["method"] == "GET" and a["path"].startswith("/items/42"), a
    assert a["host"] == "shop.test" and a["status"] == 200, a
    assert a["app"] == "shop" and a["frontend"] == "web" and a["server"] == "srv1", a
    assert a["client"].startswith("127.0.0.1"), a
    assert isinstance(a["bytes_out"], int) and a["bytes_out"] >= len(r1.body), a
    assert isinstance(a["bytes_in"], int) and a["bytes_in"] >= 0, a  # body bytes or wire bytes: both fine
    assert isinstance(a["duration_ms"], (int, float)) and a["duration_ms"] >= 0, a
    assert isinstance(a["upstream_ms"], (int, float)) and 0 <= a["upstream_ms"] <= a["duration_ms"] + 1, a
    assert a["retries"] == 0, a
    assert isinstance(a["ts"], str) and a["ts"][:4].isdigit(), a
    b = by_id[r2.header("Ferry-Request-Id")]
    assert b["method"] == "POST" and b["bytes_in"] >= 1000, b
    c = by_id[r3.header("Ferry-Request-Id")]
    assert c["status"] == 404 and c["host"] == "unknown.test", c
    assert c.get("app") in (None, "", "-") and c.get("server") in (None, "", "-"), c


def test_json_access_log_keeps_utf8():
    """Non-ASCII text is logged as UTF-8, not one \\u00XX escape per byte (issue 14: the old
    escaper wrote 'café' as 'caf\\u00c3\\u00a9'). A raw non-ASCII request-target is refused with
    400 before routing, so the UTF-8 reaches the log through the configured names (app, server)
    and a percent-encoded path is logged as sent."""
    f, path, _ = _logged_ferry("srv-caf\u00e9", "caf\u00e9", "cafe.test")
    r = request(f.port("web"), "/caf%C3%A9?q=th%C3%A9", host="cafe.test")
    assert r.status == 200, r
    _read(path, 1)
    raw = open(path, "rb").read()
    line = [l for l in raw.splitlines() if l.strip()][0]
    text = line.decode("utf-8")  # strict: the line must be valid UTF-8
    assert "\\u00c3" not in text and "\\u00a9" not in text, "UTF-8 escaped byte by byte: %r" % text
    rec = json.loads(text)
    assert rec["app"] == "caf\u00e9" and rec["server"] == "srv-caf\u00e9", rec
    assert rec["path"] == "/caf%C3%A9?q=th%C3%A9", rec
    assert b'"app":"caf\xc3\xa9"' in line, line  # the bytes themselves, not an escape


def test_access_log_records_retries_and_errors():
    be = HttpBackend("ok")
    dead = dead_port()
    path = os.path.join(tmpdir(), "access.log")
    cfg = base_config(global_extra=["access-log %s json" % path])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("dead", dead), ("alive", be.port)], "balance roundrobin", "retries 2",
                           "eject-after 0")
    cfg += section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    for _ in range(4):
        assert request(f.port("web")).status == 200
    recs = [json.loads(l) for l in _read(path, 4)]
    assert all(x["server"] == "alive" for x in recs), recs
    assert any(x["retries"] >= 1 for x in recs), "no request logged a retry: %r" % recs


def test_access_log_off_by_default():
    be = HttpBackend("ok")
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("s", be.port)])
    cfg += section("app a", "hosts app.test", "backend pool")
    f = Ferry(cfg)
    request(f.port("web"), "/quiet")
    time.sleep(0.3)
    assert "/quiet" not in f.log, "access log written although not configured"


if __name__ == "__main__":
    main()
