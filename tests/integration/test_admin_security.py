"""Security of the admin surface (docs/API.md, Authentication) against a real ferryd:
password hashes from `ferryd --hash-password`, login / logout / me, session cookie flags,
bearer tokens, CSRF, Origin / Sec-Fetch-Site / Host checks, failed-login rate limit, idle
expiry, metrics-public, admin-tls (HTTPS, Secure cookie), `ferryd -c` on a public admin address
and sessions ended by a reload that removes their user."""
import http.client
import json
import os
import re
import ssl
import time

from ferrykit.config import admin_config
from ferrykit.runner import Ferry, hash_password, run_ferryd
from ferrykit.suite import figure, main, skip, tmpdir
from ferrykit.tls import client_context, self_signed
from ferrykit.wire import Response

PASSWORD = "correct horse battery"


def _hash(password):
    line = hash_password(password)
    assert re.fullmatch(r"\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", line), line
    return line


class Admin:
    """Requests to the admin listener; Host is 127.0.0.1:PORT unless given."""

    def __init__(self, port, tls=None):
        self.port = port
        self.tls = tls

    def req(self, method, path, headers=None, body=None, host=None):
        if self.tls is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=self.tls)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": host or "127.0.0.1:%d" % self.port}
        h.update(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.reason, r.getheaders(), data)
        finally:
            conn.close()

    def login(self, user, password, headers=None):
        return self.req("POST", "/api/v1/login", headers=headers, body={"user": user, "password": password})

    def session(self, user="ops", password=PASSWORD):
        r = self.login(user, password)
        assert r.status == 200, r.body
        j = json.loads(r.body)
        return j, r.header("Set-Cookie")


def _cookie_header(set_cookie):
    return {"Cookie": set_cookie.split(";")[0]}


def test_auth_flow():
    h = _hash(PASSWORD)
    f = Ferry(admin_config([("ops", h)]))
    a = Admin(f.admin_port)
    assert a.req("GET", "/healthz").status == 200
    for path in ("/api/v1/me", "/api/v1/mesh", "/metrics", "/api/v1/nowhere"):
        r = a.req("GET", path)
        assert r.status == 401, (path, r.status, r.body)
        assert json.loads(r.body)["error"], r.body
    # Logging in: a wrong password and an unknown user get the same 401, and are logged.
    bad = a.login("ops", "wrong")
    assert bad.status == 401 and json.loads(bad.body) == {"error": "bad user or password"}, bad.body
    nobody = a.login("nobody", PASSWORD)
    assert nobody.status == 401 and nobody.body == bad.body, nobody.body
    assert a.req("POST", "/api/v1/login", body="not json").status == 400
    f.wait_log(r"admin login failed user=ops address=127\.0\.0\.1")
    f.wait_log(r"admin login failed user=nobody address=127\.0\.0\.1")
    assert not f.log_lines(re.escape(h)), "the password hash appears in the log"

    j, cookie = a.session()
    assert j["user"] == "ops" and j["idle_timeout_s"] == 1800, j
    assert re.fullmatch(r"[0-9a-f]{64}", j["token"]) and re.fullmatch(r"[0-9a-f]{64}", j["csrf"]), j
    flags = [x.strip() for x in cookie.split(";")]
    assert flags[0] == "ferry_session=" + j["token"], cookie
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in flags, (flag, cookie)
    assert "Secure" not in flags, cookie
    f.wait_log(r"admin login user=ops address=127\.0\.0\.1")

    ck = _cookie_header(cookie)
    me = a.req("GET", "/api/v1/me", headers=ck)
    assert me.status == 200, me.body
    assert json.loads(me.body) == {"user": "ops", "csrf": j["csrf"], "auth": "session"}, me.body
    bearer = {"Authorization": "Bearer " + j["token"]}
    me_t = json.loads(a.req("GET", "/api/v1/me", headers=bearer).body)
    assert me_t["auth"] == "token" and me_t["user"] == "ops", me_t
    mesh = a.req("GET", "/api/v1/mesh", headers=bearer)
    assert mesh.status == 200 and json.loads(mesh.body) is not None, (mesh.status, mesh.body)
    assert a.req("GET", "/api/v1/me", headers={"Authorization": "Bearer " + "0" * 64}).status == 401
    assert a.req("GET", "/api/v1/me", headers={"Cookie": "ferry_session=" + "0" * 64}).status == 401

    # CSRF: a cookie-authenticated POST needs X-CSRF-Token.
    r = a.req("POST", "/api/v1/logout", headers=ck)
    assert r.status == 403 and b"CSRF" in r.body, (r.status, r.body)
    r = a.req("POST", "/api/v1/logout", headers=dict(ck, **{"X-CSRF-Token": "0" * 64}))
    assert r.status == 403, r.status
    # Cross-site requests are refused even with the token.
    good = dict(ck, **{"X-CSRF-Token": j["csrf"]})
    r = a.req("POST", "/api/v1/logout", headers=dict(good, Origin="http://evil.example"))
    assert r.status == 403 and b"Origin" in r.body, (r.status, r.body)
    r = a.req("POST", "/api/v1/logout", headers=dict(good, Origin="http://127.0.0.1:%d" % (a.port + 1)))
    assert r.status == 403, r.status
    r = a.req("POST", "/api/v1/logout", headers=dict(good, **{"Sec-Fetch-Site": "cross-site"}))
    assert r.status == 403 and b"Sec-Fetch-Site" in r.body, (r.status, r.body)
    r = a.req("POST", "/api/v1/login", headers={"Origin": "http://evil.example"},
              body={"user": "ops", "password": PASSWORD})
    assert r.status == 403, "cross-origin login: %d" % r.status
    # Host: the admin address, localhost for loopback; anything else is refused (rebinding).
    assert a.req("GET", "/healthz", host="evil.example:%d" % a.port).status == 403
    assert a.req("GET", "/api/v1/me", headers=ck, host="rebind.attacker.test").status == 403
    assert a.req("GET", "/healthz", host="127.0.0.1:%d" % (a.port + 1)).status == 403
    assert a.req("GET", "/healthz", host="localhost:%d" % a.port).status == 200
    assert a.req("GET", "/api/v1/me", headers=ck, host="localhost:%d" % a.port).status == 200

    # Bearer: GET and POST without CSRF; logout ends that session only.
    j2, _ = a.session()
    b2 = {"Authorization": "Bearer " + j2["token"]}
    r = a.req("POST", "/api/v1/logout", headers=b2)
    assert r.status == 200 and json.loads(r.body) == {}, (r.status, r.body)
    assert a.req("GET", "/api/v1/me", headers=b2).status == 401
    assert a.req("GET", "/api/v1/me", headers=ck).status == 200
    # Cookie logout with the token and the admin origin.
    r = a.req("POST", "/api/v1/logout", headers=dict(good, Origin="http://127.0.0.1:%d" % a.port,
                                                    **{"Sec-Fetch-Site": "same-origin"}))
    assert r.status == 200, (r.status, r.body)
    assert "Max-Age=0" in (r.header("Set-Cookie") or ""), r.headers
    assert a.req("GET", "/api/v1/me", headers=ck).status == 401


def test_actions_logged_with_user():
    """A mutating API route (drain/enable) needs auth and CSRF, and logs the user."""
    h = _hash(PASSWORD)
    f = Ferry(admin_config([("ops", h)]))
    a = Admin(f.admin_port)
    path = "/api/v1/servers/pool/s1/drain"
    assert a.req("POST", path).status == 401
    j, cookie = a.session()
    ck = _cookie_header(cookie)
    assert a.req("POST", path, headers=ck).status == 403  # no CSRF token
    r = a.req("POST", path, headers=dict(ck, **{"X-CSRF-Token": j["csrf"]}))
    if r.status == 404:
        skip("no drain route in this build")
    assert r.status == 200, (r.status, r.body)
    f.wait_log(r"admin action user=ops action=drain .*result=ok address=127\.0\.0\.1")
    r = a.req("POST", "/api/v1/servers/pool/s1/enable", headers={"Authorization": "Bearer " + j["token"]})
    assert r.status == 200, (r.status, r.body)
    f.wait_log(r"admin action user=ops action=enable .*result=ok address=127\.0\.0\.1")


def test_login_rate_limit():
    """Failed logins back off per (user, address) (and per user, per address: see
    test_admin_hardening.py): 3 free failures, then 1 s, 2 s, 4 s ..."""
    f = Ferry(admin_config([("ops", _hash(PASSWORD))]))
    a = Admin(f.admin_port)
    t0 = time.monotonic()
    for i in range(3):
        r = a.login("ops", "wrong-%d" % i)
        assert r.status == 401, "attempt %d: %d" % (i + 1, r.status)
    figure("three failed scrypt logins", "%.0f" % ((time.monotonic() - t0) * 1000), "ms")
    r = a.login("ops", "wrong-4")
    assert r.status == 429, r.status
    retry = int(r.header("Retry-After"))
    assert retry == 1, retry
    # Even the right password waits, from this address: the pair (ops, 127.0.0.1) backs off.
    assert a.login("ops", PASSWORD).status == 429
    f.wait_log(r"admin login rate-limited user=ops address=127\.0\.0\.1 retry_after=\d+ by=pair")
    assert len(f.log_lines(r"admin login failed user=ops")) == 3
    # After the wait the right password works, and forgets the pair's failures.
    time.sleep(retry)
    assert a.login("ops", PASSWORD).status == 200
    assert a.login("ops", "wrong-5").status == 401


def test_session_idle_expiry():
    f = Ferry(admin_config([("ops", _hash(PASSWORD))], ["admin-session-timeout 2s"]))
    a = Admin(f.admin_port)
    j, cookie = a.session()
    assert j["idle_timeout_s"] == 2, j
    bearer = {"Authorization": "Bearer " + j["token"]}
    for _ in range(3):  # used every second: stays alive past the timeout
        time.sleep(1.0)
        assert a.req("GET", "/api/v1/me", headers=bearer).status == 200
    time.sleep(2.5)
    assert a.req("GET", "/api/v1/me", headers=bearer).status == 401
    assert a.req("GET", "/api/v1/me", headers=_cookie_header(cookie)).status == 401


def test_metrics_public_and_no_users():
    f = Ferry(admin_config([("ops", _hash(PASSWORD))], ["metrics-public on"]))
    a = Admin(f.admin_port)
    r = a.req("GET", "/metrics")
    # 200 once the /metrics route exists on this build, 404 before; never 401.
    assert r.status in (200, 404), (r.status, r.body)
    assert a.req("GET", "/api/v1/me").status == 401
    assert a.req("POST", "/metrics").status == 401  # only GET/HEAD are public

    # Without users (loopback only) every route is open; Host and Origin still apply.
    g = Ferry(admin_config(), name="open")
    o = Admin(g.admin_port)
    me = o.req("GET", "/api/v1/me")
    assert me.status == 200 and json.loads(me.body)["auth"] == "none", (me.status, me.body)
    assert o.req("POST", "/api/v1/logout").status == 200
    assert o.req("POST", "/api/v1/logout", headers={"Origin": "http://evil.example"}).status == 403
    assert o.req("GET", "/api/v1/me", host="evil.example").status == 403
    assert o.login("ops", "x").status == 401


def _self_signed(d):
    cert, key = os.path.join(d, "admin.pem"), os.path.join(d, "admin.key")
    self_signed(cert, key, "ferry-admin", ["IP:127.0.0.1", "DNS:localhost"], days=2)
    return cert, key


def test_admin_tls():
    cert, key = _self_signed(tmpdir())
    f = Ferry(admin_config([("ops", _hash(PASSWORD))], ["admin-tls admin.pem admin.key"]))  # relative paths
    tls = ssl.create_default_context(cafile=cert)
    a = Admin(f.admin_port, tls=tls)
    r = a.req("GET", "/healthz")
    assert r.status == 200 and r.body == b"ok\n", r.status
    assert a.req("GET", "/api/v1/me").status == 401
    j, cookie = a.session()
    flags = [x.strip() for x in cookie.split(";")]
    assert "Secure" in flags and "HttpOnly" in flags and "SameSite=Strict" in flags, cookie
    assert a.req("GET", "/api/v1/me", headers=_cookie_header(cookie)).status == 200
    r = a.req("POST", "/api/v1/logout", headers=dict(_cookie_header(cookie), Origin="https://127.0.0.1:%d" % a.port,
                                                    **{"X-CSRF-Token": j["csrf"]}))
    assert r.status == 200, (r.status, r.body)
    # An http:// origin is another origin for an https listener.
    j, cookie = a.session()
    r = a.req("POST", "/api/v1/logout", headers=dict(_cookie_header(cookie), Origin="http://127.0.0.1:%d" % a.port,
                                                    **{"X-CSRF-Token": j["csrf"]}))
    assert r.status == 403, r.status
    # TLS 1.1 is refused by the server (the client is allowed to offer it: SECLEVEL=0), while
    # the same client speaking TLS 1.2 gets through; plain HTTP gets no HTTP answer.
    def legacy_client(version):
        c = client_context(verify=False, minimum=version, maximum=version)
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
        return c
    assert Admin(f.admin_port, tls=legacy_client(ssl.TLSVersion.TLSv1_2)).req("GET", "/healthz").status == 200
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = legacy_client(ssl.TLSVersion.TLSv1_1)
    refused = None
    try:
        Admin(f.admin_port, tls=old).req("GET", "/healthz")
        refused = False
    except ssl.SSLError as e:
        refused = "version" in str(e).lower() or "alert" in str(e).lower() or str(e)
    except (ConnectionError, OSError) as e:
        refused = str(e)
    assert refused, "a TLS 1.1 handshake succeeded"
    try:
        plain = Admin(f.admin_port).req("GET", "/healthz")
        assert plain.status != 200, "plain HTTP answered 200 on the TLS listener"
    except (http.client.HTTPException, ConnectionError, OSError):
        pass

    # Reload with a new certificate file restarts the listener with it.
    os.replace(cert, cert + ".old")
    cert2, _ = _self_signed(tmpdir())
    assert f.reload() == ("ok", 2)
    f.wait_log(r"admin listening address=", count=2)
    tls2 = ssl.create_default_context(cafile=cert2)
    assert Admin(f.admin_port, tls=tls2).req("GET", "/healthz").status == 200


def test_check_refuses_public_admin():
    d = tmpdir()
    path = os.path.join(d, "public.conf")
    cfg = admin_config().replace("admin        127.0.0.1:0", "admin        0.0.0.0:9900")
    with open(path, "w") as fh:
        fh.write(cfg)
    line = cfg.splitlines().index("    admin        0.0.0.0:9900") + 1
    rc, out = run_ferryd(["-c", "-f", path])
    assert rc == 1, (rc, out)
    want = "%s:%d:18: error: admin address 0.0.0.0:9900 is not loopback: it needs 'admin-tls" % (path, line)
    assert want in out, out

    _self_signed(d)
    ok = cfg.replace("    log ", "    admin-tls admin.pem admin.key\n    admin-user ops %s\n    log " % _hash("x"), 1)
    with open(path, "w") as fh:
        fh.write(ok)
    rc, out = run_ferryd(["-c", "-f", path])
    assert rc == 0 and "Configuration file is valid" in out, (rc, out)
    # The TLS files are loaded by the check: a missing key is reported at the directive.
    missing = ok.replace("admin-tls admin.pem admin.key", "admin-tls admin.pem nokey.pem")
    with open(path, "w") as fh:
        fh.write(missing)
    line = missing.splitlines().index("    admin-tls admin.pem nokey.pem") + 1
    rc, out = run_ferryd(["-c", "-f", path])
    assert rc == 1 and ("%s:%d:15: error: admin-tls %s/admin.pem" % (path, line, d)) in out, out

    bad = admin_config([("ops", "$md5$abc")])
    with open(path, "w") as fh:
        fh.write(bad)
    line = bad.splitlines().index("    admin-user ops $md5$abc") + 1
    rc, out = run_ferryd(["-c", "-f", path])
    assert rc == 1 and ("%s:%d:20: error: unknown password hash" % (path, line)) in out, out


def test_reload_removing_user_ends_its_sessions():
    h_ops, h_dev = _hash(PASSWORD), _hash("dev password")
    f = Ferry(admin_config([("ops", h_ops), ("dev", h_dev)]))
    a = Admin(f.admin_port)
    ops, _ = a.session("ops")
    dev, _ = a.session("dev", "dev password")
    t_ops = {"Authorization": "Bearer " + ops["token"]}
    t_dev = {"Authorization": "Bearer " + dev["token"]}
    assert a.req("GET", "/api/v1/me", headers=t_dev).status == 200
    assert f.reload(admin_config([("ops", h_ops)])) == ("ok", 2)
    assert a.req("GET", "/api/v1/me", headers=t_dev).status == 401
    assert a.req("GET", "/api/v1/me", headers=t_ops).status == 200, "ops' session should survive"
    assert a.login("dev", "dev password").status == 401
    f.wait_log(r"admin session ended user=dev")
    # A changed password hash ends the sessions too.
    assert f.reload(admin_config([("ops", _hash("new password"))])) == ("ok", 3)
    assert a.req("GET", "/api/v1/me", headers=t_ops).status == 401


if __name__ == "__main__":
    main()
