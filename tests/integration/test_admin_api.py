"""The admin JSON API (docs/API.md) and ferryctl against a real ferryd with two apps and two
backend servers, admin open on loopback (no admin-user: authentication is tested elsewhere).

Checks every endpoint's shape; drain/enable moving traffic (needs Engine::set_server_drained);
unknown server -> 404; validate of a broken and a good candidate; reload through the API (ok,
then a bad file: ok false and the old configuration still serving); renew on a non-acme app
-> 409; GET /api/v1/config without password hashes; ferryctl's commands and exit codes."""
import http.client
import json
import os
import subprocess
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import ferryd_path, main, register, skip
from ferrykit.tls import TlsCerts
from ferrykit.wire import dead_port, request


# -- helpers --------------------------------------------------------------------------------

def api(f, method, path, body=None, ctype="text/plain", timeout=40):
    """(status, parsed JSON or None, raw bytes) of one admin API call."""
    conn = http.client.HTTPConnection("127.0.0.1", f.admin_port, timeout=timeout)
    try:
        headers = {"Host": "127.0.0.1:%d" % f.admin_port}
        if body is not None:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return r.status, parsed, data
    finally:
        conn.close()


def get(f, path):
    st, j, raw = api(f, "GET", path)
    assert st == 200, "GET %s -> %d %r" % (path, st, raw[:300])
    return j


def ferryctl_path():
    p = os.environ.get("FERRYCTL")
    if not p:
        p = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ferryd_path()))), "ctl", "ferryctl")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        skip("ferryctl not built (%s); set FERRYCTL" % p)
    return p


def ferryctl(f, *args, admin=None, env_extra=None):
    env = dict(os.environ)
    for k in ("FERRY_ADMIN", "FERRY_TOKEN", "FERRY_USER", "FERRY_PASSWORD"):
        env.pop(k, None)
    env.update(env_extra or {})
    url = admin or "http://127.0.0.1:%d" % f.admin_port
    p = subprocess.run([ferryctl_path(), "--admin", url] + list(args), stdin=subprocess.DEVNULL, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def config(s1, s2, extra_app=False, broken=False):
    cfg = base_config(global_extra=["region yyz"])
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("pool", [("s1", s1.port), ("s2", s2.port)], "balance roundrobin")
    cfg += section("app shop", "hosts shop.test", "backend pool", "concurrency soft 5 hard 10 queue 5")
    cfg += section("app blog", "hosts blog.test www.blog.test", "backend pool")
    if extra_app:
        cfg += section("app wiki", "hosts wiki.test", "backend pool")
    if broken:
        cfg += "app broken\n    hosts x.test\n    backend nowhere\n"
    return cfg


def start():
    s1, s2 = HttpBackend("s1"), HttpBackend("s2")
    f = Ferry(config(s1, s2))
    assert f.admin_port, "no admin listener"
    return f, s1, s2


def spread(f, n=20, host="shop.test"):
    seen = {}
    for i in range(n):
        r = request(f.port("web"), "/x%d" % i, host=host)
        assert r.status == 200, "request %d: %d %r" % (i, r.status, r.body[:200])
        name = r.json()["name"]
        seen[name] = seen.get(name, 0) + 1
    return seen


SERVER_KEYS = {"backend", "name", "address", "node", "region", "healthy", "ejected", "drained", "disabled",
               "inflight", "remote_inflight", "ewma_latency_ms", "connect_errors", "retries", "responses"}
APP_KEYS = {"name", "mode", "hosts", "backend", "inflight", "queued", "soft", "hard", "rejected", "requests",
            "rps", "status", "spark"}


# -- tests ----------------------------------------------------------------------------------

def test_endpoint_shapes():
    f, s1, s2 = start()
    spread(f, 6)

    ov = get(f, "/api/v1/overview")
    for k in ("node", "region", "version", "pid", "started_at", "uptime_s", "config_path", "config_loaded_at",
              "generation", "workers", "reload", "connections_active", "totals", "top_apps"):
        assert k in ov, "overview lacks %s: %r" % (k, ov)
    assert ov["node"] == "it-node" and ov["region"] == "yyz", ov
    assert ov["pid"] == f.pid and ov["generation"] == 1 and ov["workers"] == 2, ov
    assert ov["config_path"].endswith("ferry.conf"), ov
    assert ov["uptime_s"] >= 0 and ov["started_at"] > 1700000000, ov
    assert set(ov["reload"]) == {"attempts", "failures", "last_ok", "last_error", "last_at"}, ov["reload"]
    assert ov["reload"]["attempts"] == 0 and ov["reload"]["last_ok"] is True, ov["reload"]
    assert set(ov["totals"]) == {"requests", "rps", "bytes_in", "bytes_out", "errors_5xx"}, ov["totals"]
    assert isinstance(ov["top_apps"], list) and len(ov["top_apps"]) <= 5

    apps = get(f, "/api/v1/apps")
    assert [a["name"] for a in apps] == ["shop", "blog"], apps
    for a in apps:
        assert set(a) == APP_KEYS, sorted(a)
        assert set(a["status"]) == {"1xx", "2xx", "3xx", "4xx", "5xx", "none"}, a["status"]
    shop = apps[0]
    assert shop["mode"] == "http" and shop["hosts"] == ["shop.test"] and shop["backend"] == "pool", shop
    assert shop["soft"] == 5 and shop["hard"] == 10, shop
    assert apps[1]["hosts"] == ["blog.test", "www.blog.test"], apps[1]

    d = get(f, "/api/v1/apps/shop")
    assert APP_KEYS <= set(d), sorted(d)
    assert d["certificate"] == {"source": "none", "hosts": [], "not_after": 0, "issuer": "", "state": "none",
                                "last_error": ""}, d["certificate"]
    assert [i["name"] for i in d["instances"]] == ["s1", "s2"], d["instances"]
    for i in d["instances"]:
        assert set(i) == SERVER_KEYS, sorted(i)
    assert {"p50", "p99"} == set(d["latency_ms"]) and "bytes_in" in d and "bytes_out" in d, d

    st, j, _ = api(f, "GET", "/api/v1/apps/nope")
    assert st == 404 and "error" in j, (st, j)
    st, j, _ = api(f, "GET", "/api/v1/apps/shop/bogus")
    assert st == 404, st
    st, j, _ = api(f, "GET", "/api/v1/apps/nope/history")
    assert st == 404, st
    # History comes from the history store (a separate piece): 200 with rows, or 503 without it.
    st, j, raw = api(f, "GET", "/api/v1/apps/shop/history?range=1h")
    assert st in (200, 503), (st, raw)
    if st == 200:
        assert j["app"] == "shop" and j["resolution_s"] == 60 and isinstance(j["points"], list), j
    else:
        assert j == {"error": "history unavailable"}, j

    servers = get(f, "/api/v1/servers")
    assert [(s["backend"], s["name"]) for s in servers] == [("pool", "s1"), ("pool", "s2")], servers
    for s in servers:
        assert set(s) == SERVER_KEYS, sorted(s)
        assert s["address"] in ("127.0.0.1:%d" % s1.port, "127.0.0.1:%d" % s2.port), s
        assert s["region"] == "yyz" and s["node"] == "" and s["drained"] is False and s["disabled"] is False, s

    fes = get(f, "/api/v1/frontends")
    assert [x["name"] for x in fes] == ["web"], fes
    web = fes[0]
    assert set(web) == {"name", "mode", "binds", "connections_total", "connections_active", "tls_handshakes",
                        "tls_failures"}, sorted(web)
    assert web["binds"] == [{"address": "127.0.0.1:0", "tls": False,
                             "listening": "127.0.0.1:%d" % f.port("web")}], web["binds"]
    assert set(web["tls_failures"]) >= {"no-certificate", "protocol", "timeout", "other"}, web

    assert get(f, "/api/v1/certificates") == []  # no TLS app, no default-certificate

    c = get(f, "/api/v1/config")
    assert set(c) == {"path", "generation", "loaded_at", "text"}, sorted(c)
    with open(f.config_path) as fh:
        assert c["text"] == fh.read()
    assert c["generation"] == 1 and c["path"] == ov["config_path"], c

    st, j, _ = api(f, "GET", "/api/v1/nothing-here")
    assert st == 404, st


def test_drain_moves_traffic_and_enable_restores_it():
    """Needs Engine::set_server_drained (the stats work): in a tree without it, drain answers 404."""
    f, s1, s2 = start()
    before = spread(f, 20)
    assert before.get("s1", 0) > 0 and before.get("s2", 0) > 0, before

    st, j, raw = api(f, "POST", "/api/v1/servers/pool/s1/drain")
    assert st == 200, (st, raw)
    assert j["backend"] == "pool" and j["name"] == "s1" and j["drained"] is True, j
    f.wait_log(r"admin action user=\S* action=drain backend=pool server=s1 result=ok")
    during = spread(f, 30)
    assert during == {"s2": 30}, during
    servers = {s["name"]: s for s in get(f, "/api/v1/servers")}
    assert servers["s1"]["drained"] is True and servers["s2"]["drained"] is False, servers
    # The drain survives a reload.
    st, j, _ = api(f, "POST", "/api/v1/reload")
    assert st == 200 and j["ok"] is True, j
    assert spread(f, 10) == {"s2": 10}

    st, j, raw = api(f, "POST", "/api/v1/servers/pool/s1/enable")
    assert st == 200 and j["drained"] is False, (st, raw)
    after = spread(f, 20)
    assert after.get("s1", 0) > 0 and after.get("s2", 0) > 0, after


def test_drain_unknown_server_is_404():
    f, s1, s2 = start()
    for path in ("/api/v1/servers/pool/nope/drain", "/api/v1/servers/nope/s1/enable"):
        st, j, _ = api(f, "POST", path)
        assert st == 404 and "error" in j, (path, st, j)
    f.wait_log(r"admin action user=\S* action=drain backend=pool server=nope result=not-found")
    st, j, _ = api(f, "POST", "/api/v1/servers/pool/s1/explode")
    assert st == 404, st
    assert spread(f, 10).keys() <= {"s1", "s2"}


def test_validate_candidates():
    f, s1, s2 = start()
    broken = config(s1, s2).replace("    backend pool\n", "    bakend pool\n", 1)
    lines = broken.splitlines()
    bad_line = next(i for i, l in enumerate(lines) if "bakend" in l) + 1
    st, j, raw = api(f, "POST", "/api/v1/config/validate", body=broken)
    assert st == 200, (st, raw)
    assert j["ok"] is False and j["errors"] >= 1, j
    errs = [d for d in j["diagnostics"] if d["severity"] == "error" and "bakend" in d["message"]]
    assert len(errs) == 1, j["diagnostics"]
    first = errs[0]
    assert first["file"] == "candidate" and first["line"] == bad_line and first["col"] == 5, (bad_line, first)
    assert first["text"].startswith("candidate:%d:5: error: " % bad_line), first

    st, j, _ = api(f, "POST", "/api/v1/config/validate", body=config(s1, s2, extra_app=True))
    assert st == 200 and j == {"ok": True, "errors": 0, "warnings": 0, "diagnostics": []}, j

    # Relative file paths resolve against the running configuration's directory, like ferryd -c.
    missing = config(s1, s2).replace("app shop\n", "app shop\n    certificate no-such.pem\n", 1)
    st, j, _ = api(f, "POST", "/api/v1/config/validate", body=missing)
    assert st == 200 and j["ok"] is False, j
    msg = " ".join(d["message"] for d in j["diagnostics"])
    assert os.path.join(os.path.dirname(f.config_path), "no-such.pem") in msg, msg
    # The same diagnostics as `ferryd -c` on that text saved next to the configuration.
    cand = os.path.join(os.path.dirname(f.config_path), "candidate")
    with open(cand, "w") as fh:
        fh.write(missing)
    rc, out = run_ferryd(["-c", "-f", cand])
    assert rc != 0
    for d in j["diagnostics"]:
        assert d["message"] in out, (d, out)

    st, j, _ = api(f, "POST", "/api/v1/config/validate", body="#" * ((1 << 20) + 10))
    assert st == 413, st

    # The check is no way to read the host's files or environment: an included file (under the
    # configuration's directory) keeps its diagnostics' position but not their text; no
    # variable resolves (test_admin_hardening.py covers both in depth).
    secret_file = os.path.join(os.path.dirname(f.config_path), "not-a-config.txt")
    with open(secret_file, "w") as fh:
        fh.write("TOPSECRETLINE one\nanother-secret-line two\n")
    st, j, raw = api(f, "POST", "/api/v1/config/validate", body=config(s1, s2) + "include %s\n" % secret_file)
    assert st == 200 and j["ok"] is False, j
    assert b"TOPSECRET" not in raw and b"another-secret" not in raw, raw[:500]
    inc = [d for d in j["diagnostics"] if d["file"] == secret_file]
    assert inc and all(d["line"] >= 1 and "included file" in d["message"] for d in inc), j["diagnostics"]
    st, j, raw = api(f, "POST", "/api/v1/config/validate",
                     body=config(s1, s2).replace("global\n", "global\n    maxconn ${HOME}\n", 1))
    assert st == 200 and os.environ["HOME"].encode() not in raw, raw[:500]
    assert j["ok"] is True and "${HOME}" in j["diagnostics"][0]["message"], j  # a placeholder: a warning
    # Nothing was applied.
    assert get(f, "/api/v1/overview")["generation"] == 1
    assert [a["name"] for a in get(f, "/api/v1/apps")] == ["shop", "blog"]


def test_reload_through_the_api():
    f, s1, s2 = start()
    f.write_config(config(s1, s2, extra_app=True))
    st, j, raw = api(f, "POST", "/api/v1/reload")
    assert st == 200 and j == {"ok": True, "generation": 2}, (st, raw)
    f.wait_log(r"admin action user=\S* action=reload result=ok")
    assert [a["name"] for a in get(f, "/api/v1/apps")] == ["shop", "blog", "wiki"]
    assert request(f.port("web"), "/", host="wiki.test").status == 200
    c = get(f, "/api/v1/config")
    assert c["generation"] == 2 and "app wiki" in c["text"], c

    f.write_config(config(s1, s2, extra_app=True, broken=True))
    st, j, raw = api(f, "POST", "/api/v1/reload")
    assert st == 200 and j["ok"] is False and "nowhere" in j["error"], (st, raw)
    ov = get(f, "/api/v1/overview")
    assert ov["generation"] == 2, ov
    assert ov["reload"]["attempts"] == 2 and ov["reload"]["failures"] == 1 and ov["reload"]["last_ok"] is False, ov
    assert "nowhere" in ov["reload"]["last_error"], ov
    # The old configuration keeps serving, and GET /config still shows it.
    assert request(f.port("web"), "/", host="wiki.test").status == 200
    assert "app broken" not in get(f, "/api/v1/config")["text"]


def test_renew_needs_an_acme_app():
    f, s1, s2 = start()
    st, j, _ = api(f, "POST", "/api/v1/certificates/shop/renew")
    assert st == 409 and "acme" in j["error"], (st, j)
    st, j, _ = api(f, "POST", "/api/v1/certificates/nope/renew")
    assert st == 404, (st, j)
    f.wait_log(r"admin action user=\S* action=renew app=shop result=refused")


def test_config_masks_admin_user_hashes():
    """GET /api/v1/config never shows a hash; the masked text validates as-is (the running hashes
    are put back for `<hash>`); a POST body the handler ignores does not spoil the keep-alive
    connection; HEAD is GET without a body."""
    s1, s2 = HttpBackend("s1"), HttpBackend("s2")
    p = subprocess.run([ferryd_path(), "--hash-password"], input=b"pw-for-ops\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    secret = p.stdout.decode().strip().splitlines()[-1]
    text = config(s1, s2).replace("global\n", "global\n    admin-user ops '%s'\n" % secret, 1)
    f = Ferry(text)
    st, j, raw = api(f, "GET", "/api/v1/config")
    assert st == 401, (st, raw)
    st, j, raw = api(f, "POST", "/api/v1/login", json.dumps({"user": "ops", "password": "pw-for-ops"}),
                     ctype="application/json")
    assert st == 200, (st, raw)
    conn = http.client.HTTPConnection("127.0.0.1", f.admin_port, timeout=30)
    hdrs = {"Host": "127.0.0.1:%d" % f.admin_port, "Authorization": "Bearer " + j["token"]}
    conn.request("GET", "/api/v1/config", headers=hdrs)
    r = conn.getresponse()
    cfg = json.loads(r.read())
    assert r.status == 200
    salt_and_hash = secret.split("$", 3)[3]
    assert salt_and_hash not in cfg["text"] and "admin-user ops <hash>" in cfg["text"], cfg["text"][:300]
    # Same connection: validate the masked text; then a POST whose body nobody reads.
    conn.request("POST", "/api/v1/config/validate", body=cfg["text"], headers=dict(hdrs, **{"Content-Type": "text/plain"}))
    r = conn.getresponse()
    v = json.loads(r.read())
    assert r.status == 200 and v["ok"], v
    conn.request("POST", "/api/v1/servers/pool/s1/enable", body=b"x" * 5000,
                 headers=dict(hdrs, **{"Content-Type": "application/octet-stream"}))
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status
    conn.request("GET", "/api/v1/me", headers=hdrs)
    r = conn.getresponse()
    me = json.loads(r.read())
    assert r.status == 200 and me["user"] == "ops", (r.status, me)
    conn.request("HEAD", "/healthz", headers=hdrs)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"", r.status
    conn.close()


def test_file_certificates():
    pki = TlsCerts("Ferry API")
    s1, s2 = HttpBackend("s1"), HttpBackend("s2")
    shop_pem = pki.issue("shop.test", ["shop.test", "www.shop.test"], days=20)
    default_pem = pki.issue("default.test", days=10)
    cfg = config(s1, s2).replace("app shop\n", "app shop\n    certificate %s\n" % shop_pem, 1)
    cfg += section("frontend secure", "bind 127.0.0.1:0 tls", "mode http", "default-certificate %s" % default_pem)
    f = Ferry(cfg)
    now = time.time()
    certs = get(f, "/api/v1/certificates")
    assert [(c["app"], c.get("frontend"), c["source"]) for c in certs] == [("shop", None, "file"),
                                                                         ("", "secure", "file")], certs
    shop, dflt = certs
    assert shop["hosts"] == ["shop.test", "www.shop.test"] and shop["state"] == "valid", shop
    assert "CN=Ferry API Intermediate CA" in shop["issuer"], shop
    assert abs(shop["not_after"] - (now + 20 * 86400)) < 600 and shop["not_before"] <= now + 5, shop
    assert shop["next_renewal"] == 0 and shop["renewal_failures"] == 0 and shop["last_error"] == "", shop
    assert dflt["hosts"] == ["default.test"] and abs(dflt["not_after"] - (now + 10 * 86400)) < 600, dflt
    d = get(f, "/api/v1/apps/shop")
    assert d["certificate"]["source"] == "file" and d["certificate"]["not_after"] == shop["not_after"], d
    assert d["certificate"]["hosts"] == shop["hosts"] and d["certificate"]["state"] == "valid", d
    # The file is re-read when it changes (same path, new certificate).
    newer = pki.issue("shop.test", ["shop.test"], days=5)
    time.sleep(0.02)
    os.replace(newer, shop_pem)
    again = get(f, "/api/v1/certificates")[0]
    assert again["hosts"] == ["shop.test"] and abs(again["not_after"] - (now + 5 * 86400)) < 600, again
    # An unreadable file shows as an error, not as a failed request.
    os.unlink(default_pem)
    gone = get(f, "/api/v1/certificates")[1]
    assert gone["state"] == "error" and default_pem in gone["last_error"], gone
    st, j, _ = api(f, "POST", "/api/v1/certificates/shop/renew")
    assert st == 409, (st, j)


def test_ferryctl_commands():
    f, s1, s2 = start()
    spread(f, 4)
    rc, out, err = ferryctl(f, "status")
    assert rc == 0, (rc, out, err)
    assert "it-node" in out and "generation 1" in out and "last reload: ok" in out, out
    rc, out, err = ferryctl(f, "apps")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "MODE", "HOSTS", "BACKEND"], out
    assert lines[1].split()[:4] == ["shop", "http", "shop.test", "pool"], out
    assert lines[2].split()[:3] == ["blog", "http", "blog.test,www.blog.test"], out
    rc, out, err = ferryctl(f, "servers")
    assert rc == 0, err
    rows = [l.split() for l in out.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("pool", "s1", "127.0.0.1:%d" % s1.port),
                                                   ("pool", "s2", "127.0.0.1:%d" % s2.port)], out
    rc, out, err = ferryctl(f, "--json", "servers")
    assert rc == 0 and [s["name"] for s in json.loads(out)] == ["s1", "s2"], out

    f.write_config(config(s1, s2, extra_app=True))
    rc, out, err = ferryctl(f, "reload")
    assert rc == 0 and "reload ok, generation 2" in out, (rc, out, err)
    f.write_config(config(s1, s2, broken=True))
    rc, out, err = ferryctl(f, "reload")
    assert rc == 1 and "nowhere" in err, (rc, out, err)

    rc, out, err = ferryctl(f, "drain", "pool", "nope")
    assert rc == 1 and "no such server" in err and "404" in err, (rc, out, err)
    rc, out, err = ferryctl(f, "renew", "shop")
    assert rc == 1 and "409" in err, (rc, out, err)
    rc, out, err = ferryctl(f, "certs")
    assert rc == 0 and out.split()[:3] == ["APP", "SOURCE", "STATE"], (rc, out, err)

    rc, out, err = ferryctl(f, "drain", "pool")
    assert rc == 2 and "usage" in err, (rc, err)
    rc, out, err = ferryctl(f, "frobnicate")
    assert rc == 2, rc
    rc, out, err = ferryctl(f, "status", admin="http://127.0.0.1:%d" % dead_port())
    assert rc == 3 and "cannot reach" in err, (rc, err)
    # FERRY_ADMIN is the default address.
    p = subprocess.run([ferryctl_path(), "apps"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       env=dict(os.environ, FERRY_ADMIN="http://127.0.0.1:%d" % f.admin_port))
    assert p.returncode == 0 and b"shop" in p.stdout, p


class _FakeAdmin:
    """A stdlib admin API stand-in recording what ferryctl sends: POST /api/v1/login (user ops,
    password pw -> token tok-1) and GET /api/v1/apps (bearer tok-1 only)."""

    def __init__(self):
        import http.server
        import threading
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                seen.append(("POST", self.path, self.headers.get("Authorization"), body))
                if self.path != "/api/v1/login":
                    return self._send(404, {"error": "not found"})
                req = json.loads(body)
                if req == {"user": "ops", "password": "pw"}:
                    return self._send(200, {"user": "ops", "token": "tok-1", "csrf": "c", "idle_timeout_s": 1800})
                return self._send(401, {"error": "bad user or password"})

            def do_GET(self):
                seen.append(("GET", self.path, self.headers.get("Authorization"), b""))
                if self.headers.get("Authorization") != "Bearer tok-1":
                    return self._send(401, {"error": "not authenticated"})
                self._send(200, [{"name": "x", "mode": "http", "hosts": [], "backend": "b", "inflight": 0,
                                  "queued": 0, "rps": 0, "requests": 0, "status": {"5xx": 0}, "rejected": 0}])

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        register(self)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_ferryctl_login_and_token():
    fake = _FakeAdmin()
    rc, out, err = ferryctl(None, "--user", "ops", "apps", admin=fake.url, env_extra={"FERRY_PASSWORD": "pw"})
    assert rc == 0 and out.splitlines()[1].split()[0] == "x", (rc, out, err)
    # The session it logged in for ends with the run.
    assert [s[:3] for s in fake.seen] == [("POST", "/api/v1/login", None), ("GET", "/api/v1/apps", "Bearer tok-1"),
                                          ("POST", "/api/v1/logout", "Bearer tok-1")], fake.seen
    del fake.seen[:]
    rc, out, err = ferryctl(None, "apps", admin=fake.url, env_extra={"FERRY_TOKEN": "tok-1"})
    assert rc == 0 and [s[:3] for s in fake.seen] == [("GET", "/api/v1/apps", "Bearer tok-1")], (rc, err, fake.seen)
    rc, out, err = ferryctl(None, "--token", "wrong", "apps", admin=fake.url)
    assert rc == 1 and "not authenticated (HTTP 401)" in err, (rc, err)
    rc, out, err = ferryctl(None, "apps", admin=fake.url, env_extra={"FERRY_USER": "ops", "FERRY_PASSWORD": "no"})
    assert rc == 1 and "login failed" in err and "401" in err, (rc, err)


def test_ferryctl_drain_and_enable():
    """Needs Engine::set_server_drained (the stats work)."""
    f, s1, s2 = start()
    rc, out, err = ferryctl(f, "drain", "pool", "s2")
    assert rc == 0 and "drained pool/s2" in out, (rc, out, err)
    assert spread(f, 12) == {"s1": 12}
    rc, out, err = ferryctl(f, "servers")
    row = [l.split() for l in out.splitlines() if l.split()[:2] == ["pool", "s2"]][0]
    assert row[4] == "drained", out
    rc, out, err = ferryctl(f, "enable", "pool", "s2")
    assert rc == 0 and "enabled pool/s2" in out, (rc, out, err)
    assert set(spread(f, 12)) == {"s1", "s2"}


if __name__ == "__main__":
    main()
