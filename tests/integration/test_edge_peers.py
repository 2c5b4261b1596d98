"""Edge trust between peers (issue 13 items 6, 9, 10, 11), each an attack that worked before:

  proxy_*     PROXY protocol: a header is believed only from `proxy-senders` (HTTP and TCP
              frontends; others are closed, logged, counted in ferry_frontend_refused_connections_total);
              `trust-forwarded` is decided by the real socket peer, a PROXY claim can only take
              trust away (HTTP/1 and HTTP/2).
  backhaul_*  a mesh peer removed from `allowed-ips` by a reload loses its open backhaul
              connections (HTTP/1 idle: closed; HTTP/1 in flight: answered, then closed; HTTP/2:
              GOAWAY; raw TCP: closed); a backhaul outside the mesh address is a config error.
              The backhaul runs on loopback (127.0.0.2) with peers at 127.0.0.3/.4 (no WireGuard:
              `driver userspace` with no program, so the mesh set-up only logs its failure).
  h2_idle_*   PINGs do not keep an idle HTTP/2 connection (no open stream) past http-keep-alive.
  replay_*    streamed bodies are kept for Ferry-Replay only in apps with `replay-max-body`, within
              the worker's `replay-buffer-budget`; `app=` targets need `replay-to`; the target's
              `max-body-size` is checked again.
"""
import base64
import json
import os
import socket
import struct
import threading
import time

from ferrykit.backends import HttpBackend, ProxyProtoBackend, TcpEchoBackend, WsEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.h2client import H2Conn
from ferrykit.h2frames import NO_ERROR, PREFACE, headers_frames, settings_frame
from ferrykit.hpack import encode_headers
from ferrykit.proxyproto import proxy_v1, proxy_v2
from ferrykit.runner import Ferry, run_ferryd, scrape_metrics
from ferrykit.suite import figure, main, tmpdir, wait_until
from ferrykit.wire import RawConn, connect, free_port_closed, request, upstream_header
from ferrykit.ws import WsReader, ws_encode

up = upstream_header
GET = b"GET /pp HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"


def _closed_unanswered(c, what):
    assert c.wait_closed(3), "%s: the connection was not closed" % what
    assert not bytes(c.buf).startswith(b"HTTP/"), "%s: answered: %r" % (what, bytes(c.buf[:200]))


def _metric(f, name, labels):
    status, _, body = scrape_metrics(f)
    assert status == 200, (status, body[:200])
    for line in body.splitlines():
        if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


# ----------------------------------------------------------------------------------------------
# Item 6: PROXY protocol senders and trust-forwarded
# ----------------------------------------------------------------------------------------------

def _pp_http(senders, trust=None):
    be = HttpBackend("pp")
    fe = ["bind 127.0.0.1:0 accept-proxy", "mode http", "default-app a", "proxy-senders %s" % senders]
    if trust:
        fe.append("trust-forwarded %s" % trust)
    cfg = base_config(global_extra=["metrics-public on"]) + section("frontend pp", *fe) \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


def test_proxy_header_from_unlisted_peer_refused_http():
    f, be = _pp_http("127.0.0.2/32")
    port = f.port("pp")
    # 127.0.0.1 is not a listed sender: its claim is never read, the connection is closed.
    for hdr in (proxy_v1("203.0.113.7", "127.0.0.1", 40000, port), proxy_v2("203.0.113.7", "127.0.0.1", 1, port)):
        c = RawConn(port)
        c.send(hdr + GET)
        _closed_unanswered(c, "PROXY header from an unlisted peer")
    assert be.hits == 0, "an unlisted sender reached the backend"
    f.wait_log(r"frontend pp: refused a connection from 127\.0\.0\.1 \(not in proxy-senders\)")
    # The log is rate-limited (one line per second per worker); the counter counts each one.
    assert _metric(f, "ferry_frontend_refused_connections_total", {"frontend": "pp"}) == 2
    # The listed sender is believed.
    c = RawConn(sock=connect(port, source="127.0.0.2", nodelay=True))
    c.send(proxy_v1("203.0.113.7", "127.0.0.1", 40000, port) + GET)
    r = c.read_response()
    assert r.status == 200 and up(r.json(), "X-Forwarded-For") == "203.0.113.7", r
    # h2c after the PROXY header: the same check (the close may come before our preface).
    c = RawConn(port)
    try:
        c.send(proxy_v2("203.0.113.7", "127.0.0.1", 1, port) + PREFACE + settings_frame({}) +
               headers_frames(1, encode_headers([(":method", "GET"), (":scheme", "http"),
                                                 (":authority", "app.test"), (":path", "/h2")])))
    except OSError:
        pass
    assert c.wait_closed(3), "h2c after a PROXY header from an unlisted peer: not closed"
    assert bytes(c.buf) == b"", "h2c after a PROXY header from an unlisted peer was answered: %r" % bytes(c.buf[:100])
    assert be.hits == 1


def test_proxy_header_from_unlisted_peer_refused_tcp():
    pp = ProxyProtoBackend("ppt", tcp=True)
    cfg = base_config() + section("frontend t", "bind 127.0.0.1:0 accept-proxy", "mode tcp", "app t",
                                  "proxy-senders 127.0.0.2/32 ::1/128") \
        + backend_section("pool", [("s1", pp.port, "send-proxy-v2")]) + section("app t", "mode tcp", "backend pool")
    f = Ferry(cfg)
    port = f.port("t")
    c = RawConn(port)
    c.send(proxy_v1("203.0.113.7", "127.0.0.1", 40000, port) + b"hello")
    assert c.wait_closed(3) and bytes(c.buf) == b"", "tcp: an unlisted sender's connection was relayed: %r" % bytes(c.buf)
    time.sleep(0.2)
    assert pp.accepted == 0, "tcp: the server got a connection from an unlisted sender"
    f.wait_log(r"frontend t: refused a connection from 127\.0\.0\.1 \(not in proxy-senders\)")
    s = connect(port, source="127.0.0.2", nodelay=True)
    s.sendall(proxy_v1("203.0.113.7", "127.0.0.1", 40000, port) + b"hello")
    got = b""
    while len(got) < 5:
        d = s.recv(64)
        assert d, "tcp: listed sender's connection closed"
        got += d
    s.close()
    assert got == b"hello" and pp.records and pp.records[0]["src"] == "203.0.113.7", (got, pp.records)


def test_proxy_claim_cannot_grant_trust_forwarded():
    """trust-forwarded lists the claimed client's range, not the sender: the real peer decides,
    so the client's X-Forwarded-For is replaced (HTTP/1 and HTTP/2)."""
    f, be = _pp_http("127.0.0.0/8", trust="198.51.100.0/24")
    port = f.port("pp")
    c = RawConn(port)
    c.send(proxy_v1("198.51.100.9", "127.0.0.1", 40000, port) + GET)
    r = c.read_response()
    assert r.status == 200, r
    assert up(r.json(), "X-Forwarded-For") == "198.51.100.9", "a PROXY claim granted trust: %r" % up(r.json(), "X-Forwarded-For")
    s = connect(port)
    s.sendall(proxy_v1("198.51.100.9", "127.0.0.1", 40000, port))
    h2 = H2Conn(s)
    st = h2.response(h2.request("app.test", "/h2", scheme="http", headers=[("x-forwarded-for", "6.6.6.6")]))
    assert st.status == 200, st
    xff = up(json.loads(bytes(st.body)), "X-Forwarded-For")
    assert xff == "198.51.100.9", "h2: a PROXY claim granted trust: %r" % xff


def test_proxy_claim_can_only_take_trust_away():
    """The sender is trusted: a claimed client inside trust-forwarded keeps the chain, one
    outside it does not (an L4 balancer passes its clients' headers through)."""
    f, be = _pp_http("127.0.0.0/8", trust="127.0.0.0/8")
    port = f.port("pp")
    c = RawConn(port)
    c.send(proxy_v1("127.0.0.9", "127.0.0.1", 40000, port) + GET)
    assert up(c.read_response().json(), "X-Forwarded-For") == "6.6.6.6, 127.0.0.9"
    c = RawConn(port)
    c.send(proxy_v1("203.0.113.7", "127.0.0.1", 40000, port) + GET)
    assert up(c.read_response().json(), "X-Forwarded-For") == "203.0.113.7"
    # Without a PROXY claim (LOCAL command) the real peer alone decides.
    c = RawConn(port)
    c.send(b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20, 0x00]) + b"\x00\x00" + GET)
    assert up(c.read_response().json(), "X-Forwarded-For") == "6.6.6.6, 127.0.0.1"


def test_proxy_senders_required_config():
    cfg = base_config() + section("frontend pp", "bind 127.0.0.1:0 accept-proxy", "mode http", "default-app a") \
        + backend_section("pool", [("s1", 1)]) + section("app a", "hosts app.test", "backend pool")
    path = os.path.join(tmpdir(), "pp.conf")
    with open(path, "w") as fh:
        fh.write(cfg)
    line = cfg.splitlines().index("    bind 127.0.0.1:0 accept-proxy") + 1
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 1, "accept-proxy without proxy-senders accepted (exit %d):\n%s" % (code, out)
    want = "%s:%d:22: error: 'accept-proxy' needs 'proxy-senders CIDR...'" % (path, line)
    assert want in out, "expected %r in:\n%s" % (want, out)


# ----------------------------------------------------------------------------------------------
# Item 9: backhaul trust on reload
# ----------------------------------------------------------------------------------------------

TAG = os.getpid() % 100000


def _b64key():
    return base64.b64encode(os.urandom(32)).decode()


class Backhaul:
    """A worker node whose backhaul listens on 127.0.0.2 (port 0); its mesh peer `edge` is at
    `peer_ip` (allowed-ips peer_ip/32). Instances: `i1` (app web, HTTP echo), `e1` (app echo,
    mode tcp, TCP echo), `w1` (app ws, WebSocket echo)."""

    def __init__(self, peer_ip="127.0.0.3"):
        self.be = HttpBackend("i1")
        self.echo = TcpEchoBackend("e1")
        self.ws = WsEchoBackend("w1")
        self.key = os.path.join(tmpdir(), "wg.key")
        with open(self.key, "w") as fh:
            fh.write(_b64key() + "\n")
        os.chmod(self.key, 0o600)
        self.pub = _b64key()
        # The backhaul needs a real port (`backhaul IP:PORT`, 1..65535): a free one on 127.0.0.2.
        self.port = free_port_closed("127.0.0.2")
        self.f = Ferry(self.config(peer_ip))
        assert self.f.port("(backhaul)") == self.port

    def config(self, peer_ip):
        backhaul = "127.0.0.2:%d" % self.port
        return base_config() + section(
            "mesh", "interface fep%d" % TAG, "private-key %s" % self.key, "address 127.0.0.2/32",
            "backhaul %s" % backhaul, "driver userspace",
            "peer edge", "    public-key %s" % self.pub, "    allowed-ips %s/32" % peer_ip,
            "    backhaul %s:4280" % peer_ip, "    region r1") \
            + backend_section("pool", [("i1", self.be.port)]) + section("app web", "hosts app.test", "backend pool") \
            + backend_section("echo-pool", [("e1", self.echo.port)]) + section("app echo", "mode tcp", "backend echo-pool") \
            + backend_section("ws-pool", [("w1", self.ws.port)]) + section("app ws", "hosts ws.test", "backend ws-pool")

    def http1(self, src):
        return RawConn(sock=connect(self.port, "127.0.0.2", source=src, nodelay=True))

    def h2(self, src):
        return H2Conn(connect(self.port, "127.0.0.2", source=src, nodelay=True))

    def websocket(self, src):
        """A WebSocket over the backhaul (HTTP/1 upgrade for instance w1), echoing."""
        c = self.http1(src)
        c.send("GET /ws HTTP/1.1\r\nHost: ws.test\r\nFerry-App: ws\r\nFerry-Instance: w1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response(allow_1xx=True)
        assert r.status == 101, r
        reader = WsReader(c.sock, bytes(c.buf))
        c.buf.clear()
        c.send(ws_encode("hi"))
        assert reader.frame() == (1, b"hi")
        return c

    def tcp(self, src):
        """A raw TCP backhaul connection for instance e1 (PROXY v2 + Ferry's TLV), echoing."""
        s = RawConn(sock=connect(self.port, "127.0.0.2", source=src, nodelay=True)).sock  # closed after the test
        tlv = b"ferry/1 app=echo instance=e1"
        addrs = socket.inet_aton("203.0.113.5") + socket.inet_aton("127.0.0.2") + struct.pack("!HH", 5555, 80)
        body = addrs + bytes([0xE0]) + struct.pack("!H", len(tlv)) + tlv
        s.sendall(b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body + b"ping")
        got = b""
        while len(got) < 4:
            d = s.recv(64)
            assert d, "backhaul TCP: closed before the echo (got %r)" % got
            got += d
        assert got == b"ping", got
        return s


REQ = b"GET %s HTTP/1.1\r\nHost: app.test\r\nFerry-App: web\r\nFerry-Instance: i1\r\n\r\n"


def test_backhaul_reload_revokes_removed_peer():
    n = Backhaul("127.0.0.3")
    idle = n.http1("127.0.0.3")
    idle.send(REQ % b"/one")
    r = idle.read_response()
    assert r.status == 200 and r.json()["name"] == "i1", r
    h2 = n.h2("127.0.0.3")
    fields = [("ferry-app", "web"), ("ferry-instance", "i1")]
    assert h2.response(h2.request("app.test", "/h2", scheme="http", headers=fields)).status == 200
    tcp = n.tcp("127.0.0.3")
    ws = n.websocket("127.0.0.3")
    busy = n.http1("127.0.0.3")
    before = n.be.hits
    busy.send(REQ % b"/slow?delay=1")
    wait_until(lambda: n.be.hits > before, what="the slow request at the instance")

    # The peer moves to 127.0.0.4: 127.0.0.3 is no longer a mesh peer.
    assert n.f.reload(n.config("127.0.0.4"))[0] == "ok"
    _closed_unanswered(idle, "idle HTTP/1 backhaul connection of a removed peer")
    assert h2.wait_closed(3), "HTTP/2 backhaul connection of a removed peer still open"
    assert h2.goaway is not None, "no GOAWAY before closing the HTTP/2 backhaul connection"
    tcp.settimeout(3)
    try:
        rest = tcp.recv(64)
    except (ConnectionResetError, socket.timeout) as e:
        rest = e
    assert rest == b"" or isinstance(rest, ConnectionResetError), "raw TCP backhaul of a removed peer: %r" % (rest,)
    assert ws.wait_closed(3), "WebSocket tunnel over the backhaul of a removed peer still open"
    # The request in flight is answered, then its connection closes.
    r = busy.read_response()
    assert r.status == 200 and r.json()["path"] == "/slow?delay=1", r
    assert busy.wait_closed(3), "HTTP/1 backhaul connection of a removed peer kept after its last response"
    n.f.wait_log(r"backhaul: closing .*127\.0\.0\.3.* no longer in any mesh peer's allowed-ips")

    # New connections: the old address is refused, the new one served.
    c = n.http1("127.0.0.3")
    c.send(REQ % b"/again")
    _closed_unanswered(c, "new connection from the removed address")
    c = n.http1("127.0.0.4")
    c.send(REQ % b"/new")
    assert c.read_response().status == 200


def test_backhaul_reload_keeps_trusted_peer():
    n = Backhaul("127.0.0.3")
    c = n.http1("127.0.0.3")
    c.send(REQ % b"/one")
    assert c.read_response().status == 200
    h2 = n.h2("127.0.0.3")
    fields = [("ferry-app", "web"), ("ferry-instance", "i1")]
    assert h2.response(h2.request("app.test", "/a", scheme="http", headers=fields)).status == 200
    assert n.f.reload(n.config("127.0.0.3"))[0] == "ok"
    c.send(REQ % b"/two")
    assert c.read_response().status == 200, "a still-trusted peer lost its connection"
    assert h2.response(h2.request("app.test", "/b", scheme="http", headers=fields)).status == 200
    assert h2.goaway is None


def test_backhaul_address_outside_mesh_refused():
    key = os.path.join(tmpdir(), "wg.key")
    with open(key, "w") as fh:
        fh.write(_b64key() + "\n")
    os.chmod(key, 0o600)

    def check(backhaul, peer_backhaul, want_line_of, want_col, want):
        cfg = base_config() + section(
            "mesh", "private-key %s" % key, "address 10.99.0.1/24", "backhaul %s" % backhaul,
            "peer edge", "    public-key %s" % _b64key(), "    allowed-ips 10.99.0.2/32",
            "    backhaul %s" % peer_backhaul, "    region r1")
        path = os.path.join(tmpdir(), "bh.conf")
        with open(path, "w") as fh:
            fh.write(cfg)
        line = [i for i, l in enumerate(cfg.splitlines(), 1) if l.strip() == want_line_of][0]
        code, out = run_ferryd(["-c", "-f", path])
        assert code == 1, "accepted (exit %d):\n%s" % (code, out)
        w = "%s:%d:%d: error: %s" % (path, line, want_col, want)
        assert w in out, "expected %r in:\n%s" % (w, out)
    # The wildcard (0.0.0.0 is refused by the parser already) or another address would let the
    # underlay reach the backhaul directly.
    check("[::]:4280", "10.99.0.2:4280", "backhaul [::]:4280", 14,
          "mesh backhaul [::]:4280 is not this node's mesh address (10.99.0.1)")
    check("10.250.0.1:4280", "10.99.0.2:4280", "backhaul 10.250.0.1:4280", 14,
          "mesh backhaul 10.250.0.1:4280 is not this node's mesh address")
    # A peer's backhaul outside its allowed-ips would be reached outside WireGuard.
    check("10.99.0.1:4280", "10.250.0.2:4280", "backhaul 10.250.0.2:4280", 18,
          "peer 'edge': its backhaul 10.250.0.2:4280 is not inside its allowed-ips")


# ----------------------------------------------------------------------------------------------
# Item 10: HTTP/2 idle timeout vs PINGs
# ----------------------------------------------------------------------------------------------

def _h2_idle_setup():
    be = HttpBackend("h2i")
    cfg = base_config(defaults_extra=["timeout http-keep-alive 1s"]) \
        + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg)


def _ping_until_closed(c, limit=4.0):
    """PINGs every 200 ms until the server closes; returns the seconds it took (or limit)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            c.ping()
        except OSError:
            break
        end = time.monotonic() + 0.2
        while time.monotonic() < end and not c.eof:
            try:
                c.read_frame(timeout=max(0.01, end - time.monotonic()))
            except socket.timeout:
                break
        if c.eof:
            break
    return time.monotonic() - t0


def test_h2_idle_timeout_not_extended_by_pings():
    f = _h2_idle_setup()
    c = H2Conn.connect(f.port("web"))
    assert c.response(c.request("app.test", "/", scheme="http")).status == 200
    took = _ping_until_closed(c)
    figure("h2 idle close with 200 ms pings (keep-alive 1s)", "%.2f" % took, "s")
    assert c.eof, "PINGs every 200 ms kept an idle HTTP/2 connection open for %.1fs (http-keep-alive 1s)" % took
    assert 0.7 <= took <= 2.0, "closed after %.2fs, expected about 1s" % took
    assert c.goaway is not None and c.goaway[1] == NO_ERROR, c.goaway
    assert len(c.pings) >= 3, "the PINGs were not answered while the connection lived: %d" % len(c.pings)
    # A connection that never opened a stream: the same.
    c = H2Conn.connect(f.port("web"))
    took = _ping_until_closed(c)
    assert c.eof and took <= 2.0, "never-used connection kept by PINGs for %.1fs" % took


def test_h2_idle_timeout_counts_from_last_stream():
    """A stream resets the idle clock: the connection lives ~1s past its last stream."""
    f = _h2_idle_setup()
    c = H2Conn.connect(f.port("web"))
    for i in range(4):  # 4 x 0.6 s of streams: longer than the timeout in total
        assert c.response(c.request("app.test", "/%d" % i, scheme="http")).status == 200
        time.sleep(0.6)
    assert not c.eof and c.goaway is None, "closed while streams kept coming"
    t0 = time.monotonic()
    assert c.wait_closed(3), "idle connection not closed"
    assert time.monotonic() - t0 <= 1.0, "closed %.2fs after the pause, expected at most ~0.4s" % (time.monotonic() - t0)


# ----------------------------------------------------------------------------------------------
# Item 11: replay buffering opt-in, per-worker budget, replay-to, target max-body-size
# ----------------------------------------------------------------------------------------------

class ReplaySetup:
    """app web (web.test) -> pool: o, b; both answer `Ferry-Replay: <value>` to requests that are
    not replays themselves. Apps other (x), secret (z), small (s, max-body-size 1k)."""

    def __init__(self, web_lines=(), global_extra=(), workers=2):
        self.bes = {n: HttpBackend(n) for n in ("o", "b", "x", "z", "s")}
        p = {n: be.port for n, be in self.bes.items()}
        cfg = base_config(workers=workers, global_extra=list(global_extra))
        cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
        cfg += backend_section("pool", [("o", p["o"]), ("b", p["b"])])
        cfg += backend_section("pool-x", [("x", p["x"])])
        cfg += backend_section("pool-z", [("z", p["z"])])
        cfg += backend_section("pool-s", [("s", p["s"])])
        cfg += section("app web", "hosts web.test", "backend pool", *web_lines)
        cfg += section("app other", "hosts other.test", "backend pool-x")
        cfg += section("app secret", "hosts secret.test", "backend pool-z")
        cfg += section("app small", "hosts small.test", "backend pool-s", "max-body-size 1k")
        self.f = Ferry(cfg)
        self.port = self.f.port("web")

    def replay(self, value):
        def hook(rec):
            return None if upstream_header(rec, "Ferry-Replay-Src") else [("Ferry-Replay", value)]
        self.bes["o"].respond_headers = self.bes["b"].respond_headers = hook

    def post(self, body, path="/p"):
        return request(self.port, path, method="POST", host="web.test", body=body)

    def h2_post(self, body):
        c = H2Conn.connect(self.port)
        sid = c.request("web.test", "/h2", method="POST", scheme="http", end_stream=False)
        c.send_data(sid, body, end_stream=True)  # no content-length: streamed
        return c.response(sid, timeout=15)


def test_replay_streamed_body_not_kept_by_default():
    s = ReplaySetup()
    s.replay("app=web")  # to itself: always allowed
    assert request(s.port, "/get", host="web.test").status == 200, "a body-less request must still replay"
    r = s.post(os.urandom(100 * 1024))
    assert r.status == 502 and b"exceeds replay-max-body" in r.body, \
        "a streamed upload was kept for a replay without replay-max-body: %r" % r
    st = s.h2_post(os.urandom(100 * 1024))
    assert st.status == 502 and b"exceeds replay-max-body" in bytes(st.body), "h2: %r" % st
    r = s.post(b"tiny")  # even a body in memory needs the opt-in
    assert r.status == 502, r


def test_replay_to_other_app_needs_replay_to():
    s = ReplaySetup(web_lines=["replay-max-body 1m", "replay-to other"])
    s.replay("app=secret")
    r = s.post(b"payload")
    assert r.status == 502 and b"not allowed" in r.body, "Ferry-Replay reached an app outside replay-to: %r" % r
    assert s.bes["z"].hits == 0
    s.f.wait_log(r"app web: Ferry-Replay names app 'secret', which is not in its replay-to")
    s.replay("app=other")
    r = s.post(b"payload")
    assert r.status == 200 and r.json()["name"] == "x" and r.json()["body"] == "payload", r


def test_replay_rechecks_target_max_body_size():
    s = ReplaySetup(web_lines=["replay-max-body 1m", "replay-to small"])
    s.replay("app=small")
    r = s.post(os.urandom(4096))  # in memory
    assert r.status == 413 and b"max-body-size" in r.body, "replayed past the target's max-body-size: %r" % r
    r = s.post(os.urandom(40 * 1024))  # streamed and kept
    assert r.status == 413, r
    st = s.h2_post(os.urandom(40 * 1024))
    assert st.status == 413, "h2: %r" % st
    assert s.bes["s"].hits == 0, "the target got a body over its max-body-size"
    r = s.post(b"x" * 500)
    assert r.status == 200 and r.json()["name"] == "s", r


def test_replay_worker_budget():
    """replay-buffer-budget 64k on one worker: a 40 KiB upload is kept while another one holds
    40 KiB; the second cannot be kept and its replay answer gets the documented 502."""
    s = ReplaySetup(web_lines=["replay-max-body 1m"], global_extra=["replay-buffer-budget 64k"], workers=1)
    s.replay("instance=b")
    body = os.urandom(40 * 1024)
    results = {}

    def first():
        results["first"] = request(s.port, "/slow?delay=1", method="POST", host="web.test", body=body)
    t = threading.Thread(target=first)
    t.start()
    # Its whole body reached the server (so it is all kept) before the second one starts.
    wait_until(lambda: s.bes["o"].hits + s.bes["b"].hits >= 1, what="the first upload at the server")
    second = s.post(body, "/second")
    t.join(10)
    assert results["first"].status == 200 and results["first"].json()["name"] == "b", results["first"]
    assert second.status == 502 and b"replay-buffer-budget" in second.body, \
        "a second upload was kept beyond the worker's replay-buffer-budget: %r" % second
    r = s.post(body, "/third")  # the budget is back once the first request is done
    assert r.status == 200 and r.json()["name"] == "b", r


if __name__ == "__main__":
    main()
