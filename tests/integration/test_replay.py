"""Client routing hints (Ferry-Prefer-/Ferry-Force-Region/-Instance, `allow-routing-hints`) and
Ferry-Replay (an upstream response that makes the edge send the request again to a region,
an instance or another app), over HTTP/1.1 and HTTP/2 (h2c) clients: bodies replayed intact
(small, ~500 KiB, chunked), replay-max-body (502 over it), the 3-hop limit (502), the header
never reaching the client, Ferry-Replay-Src at the target, replays in the access log."""
import collections
import hashlib
import http.client
import json
import os
import re

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.h2backend import H2Backend
from ferrykit.h2client import H2Conn
from ferrykit.runner import Ferry
from ferrykit.suite import main, tmpdir, wait_until
from ferrykit.wire import request, upstream_header

SRC_RE = re.compile(r"^app=(\w+);instance=(\w+)(;region=(\w+))?(;state=(.*))?$")


class Setup:
    """One ferryd (global region r0), one plain frontend "web":
      app web   (web.test, allow-routing-hints, replay-max-body 1m, replay-to other)
                                                 -> pool:  o (r0), a (r1), b (r1)
      app other (other.test)                     -> pool2: x, y
      app tight (tight.test, replay-max-body 64k, replay-to other) -> pool3: t
    Replaying a body and naming another app are opt-in (`replay-max-body`, `replay-to`);
    `web_extra`: more lines for app web."""

    def __init__(self, extra="", web_extra=()):
        self.bes = {n: HttpBackend(n) for n in ("o", "a", "b", "x", "y", "t")}
        p = {n: be.port for n, be in self.bes.items()}
        self.access_log = os.path.join(tmpdir(), "access.log")
        cfg = base_config(global_extra=["region r0", "access-log %s json" % self.access_log])
        cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
        cfg += backend_section("pool", [("o", p["o"]), ("a", p["a"], "region r1"), ("b", p["b"], "region r1")])
        cfg += backend_section("pool2", [("x", p["x"]), ("y", p["y"])])
        cfg += backend_section("pool3", [("t", p["t"])])
        cfg += section("app web", "hosts web.test", "backend pool", "allow-routing-hints", "replay-max-body 1m",
                       "replay-to other", *web_extra)
        cfg += section("app other", "hosts other.test", "backend pool2")
        cfg += section("app tight", "hosts tight.test", "backend pool3", "replay-max-body 64k", "replay-to other")
        cfg += extra
        self.f = Ferry(cfg)
        self.port = self.f.port("web")

    def replay(self, names, value, always=False):
        """Backends `names` answer with Ferry-Replay: value (only to requests that are not
        replays themselves, unless `always`)."""
        def hook(rec):
            if always or upstream_header(rec, "Ferry-Replay-Src") is None:
                return [("Ferry-Replay", value)]
            return None
        for n in names:
            self.bes[n].respond_headers = hook

    def hits(self, *names):
        return sum(self.bes[n].hits for n in names)

    def h2c(self):
        return H2Conn.connect(self.port)


def _get(port, path="/", host="web.test", **kw):
    return request(port, path, host=host, **kw)


def _no_replay_header(headers, what):
    names = [k.lower() for k, _ in headers]
    assert "ferry-replay" not in names, "%s: Ferry-Replay reached the client: %r" % (what, headers)


def _src(echo):
    v = upstream_header(echo, "Ferry-Replay-Src")
    assert v is not None, "the replay target got no Ferry-Replay-Src: %r" % echo["headers"]
    m = SRC_RE.match(v)
    assert m, "bad Ferry-Replay-Src %r" % v
    return {"app": m.group(1), "instance": m.group(2), "region": m.group(4), "state": m.group(6)}


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def _h2_req(c, path="/", host="web.test", method="GET", headers=(), body=None):
    hs = list(headers)
    if body is not None:
        hs.append(("content-length", str(len(body))))
    st = c.response(c.request(host, path, method=method, scheme="http", headers=hs, body=body), timeout=20)
    return st


def _h2_json(st):
    assert st.status == 200, "h2: %r" % st
    return json.loads(bytes(st.body))


# ----------------------------------------------------------------------------------------------
# Replay
# ----------------------------------------------------------------------------------------------

def test_replay_region_http1():
    s = Setup()
    s.replay(("o", "a", "b"), "region=r1;state=s1")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for i in range(12):
        r = _get(s.port, "/r/%d" % i, conn=conn)
        assert r.status == 200, r
        _no_replay_header(r.headers, "region replay")
        echo = r.json()
        assert echo["name"] in ("a", "b"), "region=r1 must land on a or b: %r" % echo["name"]
        src = _src(echo)
        assert src["app"] == "web" and src["state"] == "s1", src
        assert src["instance"] in ("o", "a", "b") and src["region"] == ("r0" if src["instance"] == "o" else "r1"), src
        assert upstream_header(echo, "Ferry-Replay") is None
    conn.close()
    assert s.hits("o", "a", "b") == 24, "each request: one replayed answer + one final: %d" % s.hits("o", "a", "b")


def test_replay_instance_bodies_http1():
    s = Setup()
    s.replay(("o", "a", "b"), "instance=b")
    for i in range(6):
        r = _get(s.port, "/i/%d" % i)
        assert r.status == 200 and r.json()["name"] == "b", r
        _no_replay_header(r.headers, "instance replay")
    # Bodies: small (in memory), ~500 KiB (streamed and teed), chunked (teed re-chunked).
    small = os.urandom(100)
    big = os.urandom(500 * 1024)
    for body in (small, big):
        r = _get(s.port, "/post", method="POST", body=body)
        assert r.status == 200, r
        echo = r.json()
        assert echo["name"] == "b"
        got = echo["body"].encode("latin-1")
        assert len(got) == len(body) and _sha(got) == _sha(body), "body of %d bytes not replayed intact (%d)" % (
            len(body), len(got))
    chunks = [os.urandom(70 * 1024) for _ in range(4)]
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.request("POST", "/chunked", body=iter(chunks), headers={"Host": "web.test"}, encode_chunked=True)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    assert resp.status == 200, (resp.status, data[:200])
    echo = json.loads(data)
    assert echo["name"] == "b" and echo["body"].encode("latin-1") == b"".join(chunks), "chunked body not intact"


def test_replay_app_http1():
    s = Setup()
    s.replay(("o", "a", "b"), "app=other;state=k=v;w")
    for i in range(4):
        body = os.urandom(30 * 1024)
        r = _get(s.port, "/app/%d" % i, method="POST", body=body)
        assert r.status == 200, r
        _no_replay_header(r.headers, "app replay")
        echo = r.json()
        assert echo["name"] in ("x", "y"), echo["name"]
        assert echo["body"].encode("latin-1") == body
        src = _src(echo)
        assert src["app"] == "web" and src["state"] == "k=v;w", src
        assert upstream_header(echo, "Host") == "web.test"


def test_replay_http2():
    s = Setup()
    c = s.h2c()
    s.replay(("o", "a", "b"), "region=r1;state=h2")
    for i in range(6):
        st = _h2_req(c, "/h2r/%d" % i)
        _no_replay_header(st.headers, "h2 region replay")
        echo = _h2_json(st)
        assert echo["name"] in ("a", "b") and _src(echo)["state"] == "h2"
    s.replay(("o", "a", "b"), "instance=a")
    for body in (None, os.urandom(1000), os.urandom(500 * 1024)):
        st = _h2_req(c, "/h2i", method="POST" if body else "GET", body=body)
        _no_replay_header(st.headers, "h2 instance replay")
        echo = _h2_json(st)
        assert echo["name"] == "a", echo["name"]
        if body:
            assert _sha(echo["body"].encode("latin-1")) == _sha(body), "h2 body of %d bytes not intact" % len(body)
    # No content-length, streamed in DATA frames: forwarded chunked, teed chunked.
    body = os.urandom(300 * 1024)
    sid = c.request("web.test", "/h2nolen", method="POST", scheme="http", end_stream=False)
    c.send_data(sid, body[:100000])
    c.send_data(sid, body[100000:], end_stream=True)
    echo = _h2_json(c.response(sid, timeout=20))
    assert echo["name"] == "a" and _sha(echo["body"].encode("latin-1")) == _sha(body), "h2 chunked body not intact"
    s.replay(("o", "a", "b"), "app=other")
    st = _h2_req(c, "/h2a", method="POST", body=b"hello")
    echo = _h2_json(st)
    assert echo["name"] in ("x", "y") and echo["body"] == "hello"
    assert _src(echo)["app"] == "web"


def test_replay_to_h2c_upstream():
    """app=A where A's server speaks h2c: the replayed head and body (in memory, teed with a
    length, teed chunked) go out as an HTTP/2 stream."""
    h2 = H2Backend()
    s = Setup(backend_section("pool4", [("h", h2.port, "proto h2c")]) +
              section("app h2app", "hosts h2.test", "backend pool4"), web_extra=("replay-to h2app",))
    port = s.port
    s.replay(("o", "a", "b"), "app=h2app;state=up2")
    for body in (b"", os.urandom(2000), os.urandom(500 * 1024)):
        r = _get(port, "/to-h2", method="POST", body=body)
        assert r.status == 200, r
        _no_replay_header(r.headers, "h2c target")
        echo = r.json()
        assert echo["body_len"] == len(body) and echo["body_sha256"] == _sha(body), (len(body), echo["body_len"])
        src = [v for k, v in echo["headers"] if k == "ferry-replay-src"]
        assert len(src) == 1 and src[0].endswith(";state=up2"), echo["headers"]
    chunks = [os.urandom(50 * 1024) for _ in range(3)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/to-h2-chunked", body=iter(chunks), headers={"Host": "web.test"}, encode_chunked=True)
    resp = conn.getresponse()
    echo = json.loads(resp.read())
    conn.close()
    assert resp.status == 200 and echo["body_sha256"] == _sha(b"".join(chunks)), echo


def test_replay_body_over_cap():
    s = Setup()
    s.replay(("t",), "app=other")
    ok = os.urandom(40 * 1024)  # over the 8 KiB in-memory size: streamed and teed, within 64k
    r = _get(s.port, "/t", host="tight.test", method="POST", body=ok)
    assert r.status == 200 and r.json()["name"] in ("x", "y") and r.json()["body"].encode("latin-1") == ok, r
    r = _get(s.port, "/t", host="tight.test", method="POST", body=os.urandom(100 * 1024))
    assert r.status == 502, r
    assert b"exceeds replay-max-body" in r.body, r.body[:300]
    _no_replay_header(r.headers, "over-cap 502")
    c = s.h2c()
    st = _h2_req(c, "/t2", host="tight.test", method="POST", body=os.urandom(100 * 1024))
    assert st.status == 502 and b"exceeds replay-max-body" in bytes(st.body), st
    st = _h2_req(c, "/t2", host="tight.test", method="POST", body=ok)
    assert _h2_json(st)["name"] in ("x", "y")
    # The pool stays healthy afterwards.
    assert _get(s.port, "/after", host="other.test").status == 200


def test_replay_loop_stops_after_3_hops():
    s = Setup()
    s.replay(("o", "a", "b"), "region=r1", always=True)
    r = _get(s.port, "/loop")
    assert r.status == 502 and b"too many replays" in r.body, r
    _no_replay_header(r.headers, "loop 502")
    assert s.hits("o", "a", "b") == 4, "1 request + 3 replays expected, got %d" % s.hits("o", "a", "b")
    c = s.h2c()
    st = _h2_req(c, "/loop2", method="POST", body=b"z" * 2000)
    assert st.status == 502 and b"too many replays" in bytes(st.body), st
    assert s.hits("o", "a", "b") == 8
    s.replay(("o", "a", "b"), "app=web", always=True)  # an app loop too
    r = _get(s.port, "/loop3")
    assert r.status == 502 and b"too many replays" in r.body, r


def test_replayed_responses_are_discarded_cleanly():
    """The replayed response may be chunked, large, or close the connection: the replay still
    answers, and later requests on the pooled connections do not see leftovers."""
    s = Setup()
    s.replay(("o", "a"), "instance=b")
    s.bes["b"].respond_headers = None
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for q in ("", "?chunked=1", "?size=200000", "?close=1", "?size=100&chunked=1"):
        for i in range(3):
            r = _get(s.port, "/d%s" % q, conn=conn)
            # b answers these too: its size=/status= answers are not JSON.
            assert r.status == (500 if "status" in q else 200), (q, r)
            _no_replay_header(r.headers, "discard " + q)
            if "size" not in q and "status" not in q:
                assert r.json()["name"] == "b"
    conn.close()
    s.replay(("o", "a", "b"), "instance=b")
    s.bes["b"].respond_headers = None
    for i in range(20):
        r = _get(s.port, "/plain/%d" % i)
        assert r.status == 200 and r.json()["name"] == "b" and r.json()["path"] == "/plain/%d" % i, r


def test_bad_replay_value_ignored():
    s = Setup()
    s.replay(("o", "a", "b"), "bogus", always=True)
    r = _get(s.port, "/bad")
    assert r.status == 200 and r.json()["name"] in ("o", "a", "b"), r
    _no_replay_header(r.headers, "bad value")
    st = _h2_req(s.h2c(), "/bad2")
    assert st.status == 200
    _no_replay_header(st.headers, "bad value h2")
    s.f.wait_log(r"ignoring Ferry-Replay 'bogus'")
    assert s.hits("o", "a", "b") == 2


def test_replays_in_access_log():
    s = Setup()
    s.replay(("o", "a", "b"), "instance=a")
    assert _get(s.port, "/logged").status == 200
    s.replay(("o", "a", "b"), "instance=a", always=True)
    assert _get(s.port, "/looped").status == 502

    def recs():
        if not os.path.exists(s.access_log):
            return None
        rs = [json.loads(l) for l in open(s.access_log).read().splitlines() if l.strip()]
        return rs if len(rs) >= 2 else None
    rs = wait_until(recs, what="2 access log lines")
    ok = [r for r in rs if r["path"] == "/logged"][0]
    assert ok["status"] == 200 and ok["server"] == "a" and ok["retries"] >= 1, ok
    assert ok.get("termination") == "replayed", ok
    bad = [r for r in rs if r["path"] == "/looped"][0]
    assert bad["status"] == 502 and bad.get("termination") == "too-many-replays" and bad["retries"] >= 3, bad


# ----------------------------------------------------------------------------------------------
# Routing hints
# ----------------------------------------------------------------------------------------------

def test_hints_with_allow_routing_hints():
    s = Setup()
    for i in range(20):
        r = _get(s.port, "/h/%d" % i, headers={"Ferry-Force-Instance": "b"})
        assert r.status == 200 and r.json()["name"] == "b", r
        assert upstream_header(r.json(), "Ferry-Force-Instance") is None, "hint forwarded upstream"
    names = collections.Counter(_get(s.port, "/r", headers={"Ferry-Force-Region": "r1"}).json()["name"]
                                for _ in range(20))
    assert set(names) <= {"a", "b"}, names
    names = collections.Counter(_get(s.port, "/r", headers={"Ferry-Force-Region": "r0"}).json()["name"]
                                for _ in range(10))
    assert names == {"o": 10}, names
    names = collections.Counter(_get(s.port, "/p", headers={"Ferry-Prefer-Instance": "a"}).json()["name"]
                                for _ in range(10))
    assert names == {"a": 10}, names
    r = _get(s.port, "/none", headers={"Ferry-Force-Instance": "nope"})
    assert r.status == 503 and b"forced instance" in r.body, r
    r = _get(s.port, "/none", headers={"Ferry-Force-Region": "r9"})
    assert r.status == 503 and b"forced region" in r.body, r
    # A small POST body left unsent by the 503 is not taken for the next request on the connection.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    r = _get(s.port, "/none", method="POST", body=b"GET /smuggled HTTP/1.1\r\nHost: web.test\r\n\r\n",
             headers={"Ferry-Force-Instance": "nope"}, conn=conn)
    assert r.status == 503, r
    r = _get(s.port, "/next", conn=conn)
    assert r.status == 200 and r.json()["path"] == "/next", r
    conn.close()
    # An invalid value is ignored.
    assert _get(s.port, "/inv", headers={"Ferry-Force-Instance": "a b"}).status == 200
    # HTTP/2
    c = s.h2c()
    for i in range(10):
        echo = _h2_json(_h2_req(c, "/h2/%d" % i, headers=[("ferry-force-instance", "o")]))
        assert echo["name"] == "o" and upstream_header(echo, "Ferry-Force-Instance") is None
    st = _h2_req(c, "/h2none", headers=[("ferry-force-instance", "nope")])
    assert st.status == 503 and b"forced instance" in bytes(st.body), st


def test_hints_ignored_without_allow_routing_hints():
    s = Setup()
    names = collections.Counter()
    for i in range(30):
        r = _get(s.port, "/n/%d" % i, host="other.test", headers={"Ferry-Force-Instance": "y"})
        assert r.status == 200, r
        names[r.json()["name"]] += 1
        assert upstream_header(r.json(), "Ferry-Force-Instance") is None, "hint forwarded upstream"
    assert names["x"] > 0 and names["y"] > 0, "the hint must have no effect: %r" % names
    r = _get(s.port, "/n", host="other.test", headers={"Ferry-Force-Instance": "nope"})
    assert r.status == 200, r
    c = s.h2c()
    # One connection = one worker's balancer: power of two choices between x and y keeps picking
    # the one with the lower latency EWMA until the loser's aging (1/16 per lost pick) lets it
    # compete; 100 picks outlast a 600x latency gap, 30 did not always (all 30 went to one).
    names = collections.Counter(_h2_json(_h2_req(c, "/n2", host="other.test",
                                                  headers=[("ferry-force-instance", "y")]))["name"] for _ in range(100))
    assert names["x"] > 0 and names["y"] > 0, names


if __name__ == "__main__":
    main()
