"""Request rules (acl + actions) against the real ferryd, each check over HTTP/1.1 and HTTP/2
(h2c, prior knowledge) on the same frontend: IP allow-lists that spelling cannot dodge,
use-backend with prefix stripping, redirects, inline answers (HEAD, 204), header edits both
ways, a frontend's rules before the app's, every criterion, basic-auth, and the access log's
termination.
Backends count what reaches them: a request a rule answers must never get there."""
import base64
import json
import os
import threading
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, loopback_mesh, mesh_key_file, section
from ferrykit.h2client import H2Conn
from ferrykit.runner import Ferry, hash_password, metric_value, parse_metrics, run_ferryd, scrape_metrics
from ferrykit.suite import figure, main, tmpdir, wait_until
from ferrykit.tls import TlsCerts
from ferrykit.wire import RawConn, connect, free_port_closed, upstream_header

PROTOS = ("h1", "h2")


class Resp:
    """A response of either protocol: status, lower-case header lookup, body."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, [(k.lower(), v) for k, v in headers], bytes(body)

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        assert self.status == 200, self
        return json.loads(self.body)

    def __repr__(self):
        return "<Resp %s %r %r>" % (self.status, self.headers, self.body[:200])


def fetch(port, proto, path, method="GET", headers=(), source="127.0.0.1", host="a.test"):
    """One request from `source` over a new connection."""
    sock = connect(port, source=source, nodelay=True)
    if proto == "h1":
        c = RawConn(sock=sock)
        lines = "".join("%s: %s\r\n" % h for h in headers)
        c.send("%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (method, path, host, lines))
        r = c.read_response(head_request=(method == "HEAD"))
        c.close()
        return Resp(r.status, r.headers, r.body)
    c = H2Conn(sock)
    st = c.response(c.request(host, path, method=method, scheme="http", headers=[(k.lower(), v) for k, v in headers]))
    c.close()
    return Resp(st.status, st.headers or [], st.body)


class Setup:
    """ferryd with a plain frontend "web" (rules of its own), backends web and api, app a."""

    def __init__(self, app_rules=(), frontend_rules=(), access_log=True, metrics=False):
        self.web = HttpBackend("web")
        self.api = HttpBackend("api")
        self.log_path = os.path.join(tmpdir(), "access.log")
        g = ("access-log %s json" % self.log_path,) if access_log else ()
        g += ("metrics-public on",) if metrics else ()
        cfg = base_config(global_extra=g)
        cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a", *frontend_rules)
        cfg += backend_section("web", [("w1", self.web.port)])
        cfg += backend_section("api", [("a1", self.api.port)])
        cfg += section("app a", "hosts a.test", "backend web", *app_rules)
        self.f = Ferry(cfg)
        self.port = self.f.port("web")

    def get(self, proto, path, **kw):
        return fetch(self.port, proto, path, **kw)

    def hits(self):
        return self.web.hits + self.api.hits

    def wait_terms(self, want):
        """Waits until the access log (flushed by each worker every 200 ms) holds `want`
        ({termination: count})."""
        def counts():
            with open(self.log_path) as fh:
                terms = [json.loads(l).get("termination") for l in fh if l.strip()]
            return {t: terms.count(t) for t in want}
        wait_until(lambda: counts() == want, timeout=5, what="access log terminations %r" % want)


def test_allow_list_by_address_cannot_be_dodged_by_spelling():
    s = Setup(["acl admin path-prefix /admin",
               "acl office src 127.0.0.1/32 10.0.0.0/8",
               "deny if admin !office"])
    for proto in PROTOS:
        assert s.get(proto, "/admin/panel").status == 200
        before = s.hits()
        for path in ("/admin", "/admin/panel", "/%61dmin/panel", "//admin", "/static/../admin",
                     "/static/..%2Fadmin", "/./admin"):
            r = s.get(proto, path, source="127.0.0.2")
            assert r.status == 403, (proto, path, r)
        assert s.hits() == before, "a denied request reached a backend (%s)" % proto
        assert s.get(proto, "/public", source="127.0.0.2").status == 200
    s.wait_terms({"rule-deny": 14})


def test_use_backend_and_strip_prefix():
    s = Setup(["acl api path-prefix /api/",
               "use-backend api if api",
               "strip-prefix /api if api",
               "replace-prefix /v1/ /v2/"])
    for proto in PROTOS:
        r = s.get(proto, "/api/v1/items?x=1").json()
        assert r["name"] == "api" and r["path"] == "/v2/items?x=1", r
        r = s.get(proto, "/apix").json()
        assert r["name"] == "web" and r["path"] == "/apix", r
        r = s.get(proto, "/v1/a").json()
        assert r["name"] == "web" and r["path"] == "/v2/a", r


def test_redirects_and_inline_answers():
    s = Setup(["acl old path-prefix /old",
               "acl sec path-prefix /secure",
               "acl ping path /ping",
               "acl gone path /gone",
               "acl empty path /empty",
               "redirect prefix https://new.example.com/ code 301 if old",
               "redirect scheme https code 308 drop-query if sec",
               "return 200 content-type text/plain body pong if ping",
               "return 410 body \"it is gone\" if gone",
               "return 204 if empty"])
    for proto in PROTOS:
        r = s.get(proto, "/old/page?q=1")
        assert r.status == 301 and r.header("location") == "https://new.example.com/old/page?q=1", r
        r = s.get(proto, "/secure/x?y=2", host="a.test:8080")
        assert r.status == 308 and r.header("location") == "https://a.test/secure/x", r
        r = s.get(proto, "/ping")
        assert r.status == 200 and r.body == b"pong" and r.header("content-type") == "text/plain", r
        r = s.get(proto, "/ping", method="HEAD")
        assert r.status == 200 and r.body == b"" and r.header("content-length") == "4", r
        r = s.get(proto, "/gone")
        assert r.status == 410 and r.body == b"it is gone", r
        r = s.get(proto, "/empty")
        assert r.status == 204 and r.body == b"" and r.header("content-length") is None, r
    assert s.hits() == 0, "an answered request reached a backend"
    s.wait_terms({"rule-redirect": 4, "rule-return": 8})


def test_header_edits_both_ways():
    s = Setup(["request-header set X-Client \"%{client-ip} %{app} %{scheme} 100%%\"",
               "request-header del X-Secret",
               "request-header add X-Region \"r-%{region}\"",
               "response-header set X-Served-By \"ferry %{app}\"",
               "response-header del X-Backend-Only"])
    for proto in PROTOS:
        r = s.get(proto, "/x?hdr=X-Backend-Only:1&hdr=X-Served-By:backend",
                  headers=[("X-Secret", "s3"), ("X-Client", "forged")])
        echo = r.json()
        assert upstream_header(echo, "X-Client") == "127.0.0.1 a http 100%", echo
        assert upstream_header(echo, "X-Secret") is None, echo
        assert upstream_header(echo, "X-Region") == "r-", echo
        assert r.header("x-served-by") == "ferry a", r
        assert r.header("x-backend-only") is None, r


def test_frontend_rules_run_before_the_apps():
    s = Setup(app_rules=["acl ok header X-Ok", "allow if ok", "deny 402"],
              frontend_rules=["acl blocked header X-Block", "deny 451 if blocked"])
    for proto in PROTOS:
        # The app's `allow` cannot lift the frontend's deny: the frontend's rules come first.
        assert s.get(proto, "/", headers=[("X-Block", "1"), ("X-Ok", "1")]).status == 451
        assert s.get(proto, "/", headers=[("X-Ok", "1")]).status == 200
        assert s.get(proto, "/").status == 402


def test_every_criterion():
    s = Setup(["acl post method POST",
               "acl h host *.b.test",
               "acl dbg header X-Debug",
               "acl ua header User-Agent -m substring -i bot",
               "acl num header X-Id -m regex ^[0-9]+$",
               "acl pv query preview 1",
               "acl beta cookie beta yes",
               "acl re path-regex ^/item/[0-9]+$",
               "acl suf path-suffix .php",
               "acl v2 http-version 2",
               "acl plain tls",
               "acl here region nowhere",
               "acl ex path /exact",
               "deny 401 if post",
               "deny 402 if h",
               "deny 403 if dbg",
               "deny 404 if ua",
               "deny 405 if num",
               "deny 406 if pv",
               "deny 407 if beta",
               "deny 408 if re",
               "deny 409 if suf",
               "deny 410 if v2 ex",
               "deny 411 if plain or here",
               "deny 412 if ex"],
              frontend_rules=[])
    cases = [
        ("/", {"method": "POST"}, 401),
        ("/", {"host": "x.b.test"}, 402),
        ("/", {"headers": [("X-Debug", "")]}, 403),
        ("/", {"headers": [("User-Agent", "GoodBOT/2")]}, 404),
        ("/", {"headers": [("X-Id", "42")]}, 405),
        ("/", {"headers": [("X-Id", "4a")]}, 200),
        ("/p?a=1&preview=1", {}, 406),
        ("/p?preview=10", {}, 200),
        ("/", {"headers": [("Cookie", "a=1; beta=yes")]}, 407),
        ("/item/12", {}, 408),
        ("/item/12x", {}, 200),
        ("/index.php", {}, 409),
    ]
    for proto in PROTOS:
        for path, kw, want in cases:
            r = s.get(proto, path, **kw)
            assert r.status == want, (proto, path, kw, want, r)
        assert s.get(proto, "/exact").status == (410 if proto == "h2" else 412)


def test_automatic_https_hsts_and_scoping():
    """An app with a certificate, on a frontend pair plain + TLS: plain requests get 308 to
    HTTPS (HEAD too; ACME http-01 paths and a trusted proxy's X-Forwarded-Proto: https pass),
    TLS responses carry the app's HSTS; `https-redirect off` opts out; an app scoped to one
    frontend is a 404 on the others."""
    certs = TlsCerts()
    cert = certs.issue("a", ["a.test", "b.test", "c.test"])
    web = HttpBackend("web")
    cfg = base_config()
    # Fixed ports: the Location names the TLS one, and a port-0 bind could be given the same
    # port by the kernel (both listeners have SO_REUSEPORT).
    plain_port, tls_port = free_port_closed(), free_port_closed()
    while tls_port == plain_port:
        tls_port = free_port_closed()
    cfg += section("frontend plain", "bind 127.0.0.1:%d" % plain_port, "mode http", "trust-forwarded 127.0.0.5/32")
    cfg += section("frontend secure", "bind 127.0.0.1:%d tls" % tls_port, "mode http", "default-certificate %s" % cert)
    cfg += backend_section("web", [("w1", web.port)])
    cfg += section("app a", "hosts a.test", "backend web", "certificate %s" % cert, "hsts 30d include-subdomains")
    cfg += section("app b", "hosts b.test", "backend web", "certificate %s" % cert, "https-redirect off")
    cfg += section("app c", "hosts c.test", "backend web", "frontends secure")
    f = Ferry(cfg)
    plain, secure = f.port("plain"), f.port("secure")
    for proto in PROTOS:
        r = fetch(plain, proto, "/x/y?z=1")
        assert r.status == 308 and r.header("location") == "https://a.test:%d/x/y?z=1" % tls_port, (proto, r)
        r = fetch(plain, proto, "/x", method="HEAD", host="a.test:80")
        assert r.status == 308 and r.header("location") == "https://a.test:%d/x" % tls_port, (proto, r)
        assert fetch(plain, proto, "/.well-known/acme-challenge/tok").status == 200  # routed as it is
        assert fetch(plain, proto, "/", host="b.test").status == 200                 # opted out
        assert fetch(plain, proto, "/", host="c.test").status == 404                 # scoped to `secure`
    # A trusted proxy in front terminated TLS: no redirect loop.
    r = fetch(plain, "h1", "/", headers=[("X-Forwarded-Proto", "https")], source="127.0.0.5")
    assert r.status == 200, r
    r = fetch(plain, "h1", "/", headers=[("X-Forwarded-Proto", "https")], source="127.0.0.6")
    assert r.status == 308, r
    # Over TLS: served, with HSTS (replacing the server's), for both protocols.
    c = RawConn(secure, tls=certs.client(), sni="a.test")
    c.send("GET /?hdr=Strict-Transport-Security:max-age=1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.header_all("Strict-Transport-Security") == ["max-age=2592000; includeSubDomains"], r
    h2 = H2Conn.connect(secure, tls=certs.client(), sni="c.test")
    st = h2.get("c.test", "/")
    assert st.status == 200 and st.header("strict-transport-security") is None, st


def test_rate_limit_holds_across_workers():
    """`rate-limit 20/s burst 10` per client: 8 connections in parallel (spread over both
    workers) for 3 s get burst + rate x time answers within 10%; the rest are 429 with
    Retry-After, counted in /metrics. A header-keyed limit gives each key its own bucket."""
    s = Setup(["acl keyed header X-Api-Key", "rate-limit 5/s burst 2 key header X-Api-Key if keyed",
               "allow if keyed",  # requests with a key have their own limit only
               "rate-limit 20/s burst 10"], metrics=True)
    codes, lock = {}, threading.Lock()
    retry_after = []
    stop = time.monotonic() + 3.0

    def hammer(proto):
        while time.monotonic() < stop:
            r = fetch(s.port, proto, "/")
            with lock:
                codes[r.status] = codes.get(r.status, 0) + 1
                if r.status == 429:
                    retry_after.append(r.header("retry-after"))
    start = time.monotonic()
    ts = [threading.Thread(target=hammer, args=(PROTOS[i % 2],)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - start
    want = 10 + 20 * elapsed
    ok = codes.get(200, 0)
    assert set(codes) <= {200, 429}, codes
    assert abs(ok - want) <= 0.1 * want, "%d answered in %.2fs, expected %.0f +- 10%% (%r)" % (ok, elapsed, want, codes)
    figure("rate-limit 20/s burst 10 answered", "%d of %d in %.2fs (expected %.0f)" % (ok, sum(codes.values()), elapsed, want))
    assert retry_after and all(v is not None and int(v) >= 1 for v in retry_after), retry_after[:5]
    samples = parse_metrics(scrape_metrics(s.f)[2])
    assert metric_value(samples, "ferry_app_rate_limited_requests_total", app="a") == codes[429], codes
    # Keyed by header: key k1's bucket (burst 2) is empty after 2, k2 still has its own.
    got = [fetch(s.port, "h1", "/", headers=[("X-Api-Key", "k1")]).status for _ in range(3)]
    assert got == [200, 200, 429], got
    assert fetch(s.port, "h2", "/", headers=[("X-Api-Key", "k2")]).status == 200


def _basic(user, password):
    return ("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode())


def test_basic_auth():
    """basic-auth with a `ferryd --hash-password` (scrypt) user: 401 with the challenge without
    credentials, with a wrong password, an unknown user or a malformed field, and none of those
    reach a backend; the right password passes (the user forwarded through %{auth-user}, the
    password kept from the backend), over both protocols. The second request with the same
    credentials is answered from the worker's verdict cache: /metrics counts the KDF runs."""
    s = Setup(["acl admin path-prefix /admin",
               "auth-user alice " + hash_password("correct horse"),
               "basic-auth \"Ferry admin\" if admin",
               "request-header set X-Remote-User %{auth-user} if admin",
               "request-header del Authorization if admin"], metrics=True)
    good = _basic("alice", "correct horse")
    for proto in PROTOS:
        before = s.hits()
        for headers in ((), (_basic("alice", "wrong"),), (_basic("mallory", "correct horse"),),
                        (("Authorization", "Basic !!notbase64"),), (("Authorization", "Bearer abc"),),
                        (good, good)):  # two Authorization fields: ambiguous
            r = s.get(proto, "/admin/panel", headers=headers)
            assert r.status == 401, (proto, headers, r)
            assert r.header("www-authenticate") == 'Basic realm="Ferry admin", charset="UTF-8"', r
        assert s.hits() == before, "an unauthenticated request reached a backend (%s)" % proto
        for _ in range(3):
            r = s.get(proto, "/admin/panel", headers=(good,)).json()
            assert upstream_header(r, "x-remote-user") == "alice", r
            assert upstream_header(r, "authorization") is None, r
        assert s.get(proto, "/public").status == 200  # outside the acl: no credentials needed
    samples = parse_metrics(scrape_metrics(s.f)[2])
    missing = metric_value(samples, "ferry_app_auth_rejected_requests_total", app="a", reason="missing")
    wrong = metric_value(samples, "ferry_app_auth_rejected_requests_total", app="a", reason="wrong")
    assert (missing, wrong) == (8, 4), (missing, wrong)
    # The wrong password, the unknown user and the right one, once per worker at most, for
    # each protocol's connections: never once per request.
    runs = metric_value(samples, "ferry_auth_verifications_total")
    assert 3 <= runs <= 6, runs
    figure("basic-auth password checks for 6 authenticated and 12 refused requests", "%d" % runs)
    s.wait_terms({"auth-required": 8, "auth-failed": 4})


TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_nginx_site_example():
    """examples/nginx-site.conf, as shipped, passes `ferryd -c`; then the same file with only
    its addresses, certificates and files pointed at the test's (and the ACME section, which
    would reach Let's Encrypt, left out) does what its comments promise: www redirects in one
    hop, plain HTTP goes to HTTPS, /old-pricing redirects, /api/ reaches the API without its
    prefix, /admin is refused outside the office networks, then asks for a password, and the
    backend never sees the password."""
    path = os.path.join(TOP, "examples", "nginx-site.conf")
    with open(path) as fh:
        text = fh.read()
    os.environ["FERRY_SITE_ADMIN_HASH"] = hash_password("admin pw")
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 0 and "Configuration file is valid" in out, "exit %d:\n%s" % (code, out)

    certs = TlsCerts()
    cert = certs.issue("site", ["example.com", "www.example.com"])
    web, api = HttpBackend("web"), HttpBackend("api")
    plain_port, tls_port = free_port_closed(), free_port_closed()
    while tls_port == plain_port:
        tls_port = free_port_closed()
    d = tmpdir()
    subs = [("state-dir    /var/lib/ferry", "state-dir    %s" % d),
            ("admin        127.0.0.1:9900", "admin        127.0.0.1:0"),
            ("/var/log/ferry-access.log", os.path.join(d, "access.log")),
            ("bind         :80", "bind         127.0.0.1:%d" % plain_port),
            ("bind         :443 tls", "bind         127.0.0.1:%d tls" % tls_port),
            ("10.0.1.11:8080", "127.0.0.1:%d" % web.port), ("10.0.1.12:8080", "127.0.0.1:%d" % web.port),
            ("10.0.2.21:9000", "127.0.0.1:%d" % api.port), ("10.0.2.22:9000", "127.0.0.1:%d" % api.port),
            ("certificate     acme", "certificate %s" % cert), ("certificate   acme", "certificate %s" % cert),
            ("acl office       src 10.0.0.0/8", "acl office       src 127.0.0.1 10.0.0.0/8"),
            ("\nacme\n    directory  https://acme-v02.api.letsencrypt.org/directory\n    email      ops@example.com\n", "\n")]
    for old, new in subs:
        assert old in text, "the example no longer has %r" % old
        text = text.replace(old, new)
    f = Ferry(text)

    def tls_get(path, host="example.com", source="127.0.0.1", headers=()):
        c = RawConn(sock=connect(tls_port, source=source), tls=certs.client(), sni=host)
        lines = "".join("%s: %s\r\n" % h for h in headers)
        c.send("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, lines))
        r = c.read_response()
        c.close()
        return r

    r = fetch(plain_port, "h1", "/x?y=1", host="www.example.com")
    assert r.status == 301 and r.header("location") == "https://example.com/x?y=1", r
    r = tls_get("/x", host="www.example.com")
    assert r.status == 301 and r.header("location") == "https://example.com/x", r
    r = fetch(plain_port, "h1", "/pricing", host="example.com")
    assert r.status == 308 and r.header("location") == "https://example.com:%d/pricing" % tls_port, r
    r = tls_get("/old-pricing")
    assert r.status == 301 and r.header("location") == "/pricing", r
    r = tls_get("/api/v1/items")
    echo = json.loads(r.body)
    assert r.status == 200 and echo["name"] == "api" and echo["path"] == "/v1/items", (r, echo)
    assert r.header("strict-transport-security") == "max-age=31536000", r
    echo = json.loads(tls_get("/", headers=[("X-Remote-User", "ops")]).body)
    assert echo["name"] == "web" and upstream_header(echo, "x-remote-user") is None, echo  # not claimable
    before = web.hits
    assert tls_get("/admin", source="127.0.0.2").status == 403
    assert tls_get("/%61dmin/x", source="127.0.0.2").status == 403
    r = tls_get("/admin")
    assert r.status == 401 and r.header("www-authenticate") == 'Basic realm="Admin", charset="UTF-8"', r
    assert tls_get("/admin", headers=[_basic("ops", "guess")]).status == 401
    assert web.hits == before, "a refused admin request reached the backend"
    r = tls_get("/admin/users", headers=[_basic("ops", "admin pw")])
    echo = json.loads(r.body)
    assert r.status == 200 and echo["path"] == "/admin/users", (r, echo)
    assert upstream_header(echo, "authorization") is None and upstream_header(echo, "x-remote-user") == "ops", echo


def test_use_backend_across_the_mesh():
    """The edge's rules choose backend `api` for /api/; its instance runs on the worker node,
    which finds it in that backend (Ferry-Backend) and does not run its own rules again."""
    web, api = HttpBackend("web-1"), HttpBackend("api-1")
    d = tmpdir()
    edge_bh = "127.0.0.2:%d" % free_port_closed("127.0.0.2")
    worker_bh = "127.0.0.3:%d" % free_port_closed("127.0.0.3")
    wpub, epub = mesh_key_file(os.path.join(d, "w.key")), mesh_key_file(os.path.join(d, "e.key"))
    wcfg = base_config(global_extra=["region worker"])
    wcfg += backend_section("web", [("w1", web.port)]) + backend_section("api", [("a1", api.port)])
    wcfg += section("app a", "hosts a.test", "backend web", "deny 418")  # never for backhauled requests
    wcfg += loopback_mesh(worker_bh, "edge", edge_bh, os.path.join(d, "w.key"), epub, index=0)
    Ferry(wcfg, name="worker")
    ecfg = base_config(global_extra=["region edge"])
    ecfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    ecfg += backend_section("web", [("w1", web.port, "node worker")])
    ecfg += backend_section("api", [("a1", api.port, "node worker")])
    ecfg += section("app a", "hosts a.test", "backend web", "acl api path-prefix /api/", "use-backend api if api",
                    "strip-prefix /api if api", "response-header set X-Edge yes")
    ecfg += loopback_mesh(edge_bh, "worker", worker_bh, os.path.join(d, "e.key"), wpub, index=1)
    edge = Ferry(ecfg, name="edge")
    port = edge.port("web")
    def reachable():
        try:
            return fetch(port, "h1", "/").status == 200
        except (OSError, AssertionError):
            return False
    wait_until(reachable, timeout=20, what="the worker reachable over the backhaul")
    for proto in PROTOS:
        r = fetch(port, proto, "/api/items")
        echo = r.json()
        assert echo["name"] == "api-1" and echo["path"] == "/items", (proto, echo)
        assert r.header("x-edge") == "yes", r
        echo = fetch(port, proto, "/other").json()
        assert echo["name"] == "web-1" and echo["path"] == "/other", (proto, echo)
    assert web.hits >= 2 and api.hits == 2, (web.hits, api.hits)


if __name__ == "__main__":
    main()
