#!/usr/bin/python3
"""A stand-in for ferryd's admin listener, for working on the console without a full ferryd:
serves web/console/* and /vendor/chart.js with the same headers as ferryd, and the JSON API of
docs/API.md with made-up, moving figures (two apps, two servers each; drain/enable, validate,
reload, renew, login with CSRF). Development aid only: the committed browser test
(tests/integration/test_console.py) runs against the real ferryd.

    /usr/bin/python3 tests/browser/mock_api.py [--port 8099] [--no-auth] [--no-chart]
    (user ops, password secret)
"""
import argparse
import http.server
import json
import os
import random
import secrets
import threading
import time
import urllib.parse

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSOLE = os.path.join(TOP, "web", "console")
CHART = "/usr/share/javascript/chart.js/chart.min.js"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
CONFIG = """global
    node     mock-1
    admin    127.0.0.1:9900

frontend web
    bind 127.0.0.1:8080

backend shop
    server s1 127.0.0.1:9001
    server s2 127.0.0.1:9002

app shop
    host shop.test
    backend shop
"""

lock = threading.Lock()
started = time.time()
sessions = {}  # cookie -> (user, csrf)
apps = {n: {"servers": {s: {"responses": 0, "drained": False} for s in ("s1", "s2")}, "requests": 0,
            "history": {}} for n in ("shop", "blog")}


def tick():
    while True:
        time.sleep(1)
        with lock:
            for name, a in apps.items():
                live = [s for s in a["servers"].values() if not s["drained"]]
                n = random.randint(5, 15) if name == "shop" else random.randint(0, 3)
                for i in range(n):
                    if live:
                        live[i % len(live)]["responses"] += 1
                a["requests"] += n
                m = int(time.time()) // 60 * 60
                row = a["history"].setdefault(m, {"t": m, "requests": 0, "s2xx": 0, "s3xx": 0, "s4xx": 0,
                                                  "s5xx": 0, "bytes_in": 0, "bytes_out": 0, "p50_ms": 1.0,
                                                  "p95_ms": 3.0, "p99_ms": 6.0, "peak_inflight": 0, "rejected": 0})
                row["requests"] += n
                row["s2xx"] += n
                row["peak_inflight"] = max(row["peak_inflight"], random.randint(0, 6))


def seed():
    now = int(time.time()) // 60 * 60
    for name, a in apps.items():
        for k in range(1, 90):
            if random.random() < 0.1:
                continue
            n = random.randint(200, 600) if name == "shop" else random.randint(0, 60)
            a["history"][now - 60 * k] = {"t": now - 60 * k, "requests": n, "s2xx": n - n // 20, "s3xx": 0,
                                          "s4xx": n // 25, "s5xx": n // 20 - n // 25, "bytes_in": n * 300,
                                          "bytes_out": n * 2000, "p50_ms": 1 + random.random(),
                                          "p95_ms": 4 + random.random(), "p99_ms": 8 + 4 * random.random(),
                                          "peak_inflight": random.randint(1, 30), "rejected": 0}


def instance(app, sname):
    s = apps[app]["servers"][sname]
    return {"backend": app, "name": sname, "address": "127.0.0.1:%d" % (9000 + int(sname[1:])), "node": "",
            "region": "yyz", "healthy": True, "ejected": False, "drained": s["drained"], "disabled": False,
            "inflight": random.randint(0, 3), "remote_inflight": 0, "ewma_latency_ms": 1.5,
            "connect_errors": 0, "retries": 0, "responses": s["responses"]}


def app_entry(name):
    a = apps[name]
    now = int(time.time()) // 60 * 60
    return {"name": name, "mode": "http", "hosts": [name + ".test"], "backend": name, "inflight": 2, "queued": 0,
            "soft": 20, "hard": 40, "rejected": 0, "requests": a["requests"], "rps": 10.0,
            "status": {"1xx": 0, "2xx": a["requests"], "3xx": 0, "4xx": 0, "5xx": 0, "none": 0},
            "spark": [a["history"].get(now - 60 * k, {}).get("requests", 0) for k in range(29, -1, -1)]}


def validate(text):
    diags = []
    known = {"global", "defaults", "frontend", "backend", "app", "node", "admin", "bind", "server", "host",
             "mesh", "workers", "log", "timeout", "retries", "state-dir", "admin-user", "mode", "acme"}
    for i, line in enumerate(text.split("\n"), 1):
        w = line.split()
        if w and not w[0].startswith("#") and w[0] not in known:
            col = len(line) - len(line.lstrip()) + 1
            msg = "unknown directive '%s'" % w[0]
            diags.append({"line": i, "col": col, "severity": "error", "message": msg,
                          "text": "candidate:%d:%d: error: %s" % (i, col, msg)})
    return {"ok": not diags, "errors": len(diags), "warnings": 0, "diagnostics": diags}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        if not self.path.startswith("/api/"):
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("Referrer-Policy", "no-referrer")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def session(self):
        if self.server.no_auth:
            return ("", "")
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "ferry_session" and v in sessions:
                return sessions[v]
        return None

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path in ("/", "/index.html") or path.startswith("/console/"):
            rel = "index.html" if not path.startswith("/console/") else path[len("/console/"):]
            f = os.path.normpath(os.path.join(CONSOLE, rel))
            if not f.startswith(CONSOLE) or not os.path.isfile(f):
                return self.send(404, {"error": "not found"})
            with open(f, "rb") as fh:
                return self.send(200, fh.read(), TYPES.get(os.path.splitext(f)[1], "application/octet-stream"))
        if path == "/vendor/chart.js":
            if not os.path.isfile(CHART):
                return self.send(404, {"error": "Chart.js not installed: apt install libjs-chart.js"})
            with open(CHART, "rb") as fh:
                return self.send(200, fh.read(), TYPES[".js"])
        if path == "/healthz":
            return self.send(200, b"ok\n", "text/plain")
        return self.api("GET", path, b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        return self.api("POST", urllib.parse.urlparse(self.path).path, body)

    def api(self, method, path, body):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if (method, path) == ("POST", "/api/v1/login"):
            try:
                cred = json.loads(body)
            except ValueError:
                return self.send(400, {"error": "bad JSON"})
            if cred.get("user") != "ops" or cred.get("password") != "secret":
                return self.send(401, {"error": "bad user or password"})
            sid, csrf = secrets.token_hex(16), secrets.token_hex(16)
            sessions[sid] = ("ops", csrf)
            return self.send(200, {"user": "ops", "token": sid, "csrf": csrf, "idle_timeout_s": 1800},
                             headers=[("Set-Cookie", "ferry_session=%s; HttpOnly; SameSite=Strict; Path=/" % sid)])
        s = self.session()
        if s is None:
            return self.send(401, {"error": "not authenticated"})
        if method == "POST" and not self.server.no_auth and self.headers.get("X-CSRF-Token") != s[1]:
            return self.send(403, {"error": "CSRF token missing or wrong"})
        parts = path.split("/")[3:]  # after /api/v1
        with lock:
            if path == "/api/v1/me":
                return self.send(200, {"user": s[0], "csrf": s[1], "auth": "none" if self.server.no_auth else "session"})
            if path == "/api/v1/logout":
                return self.send(200, {})
            if path == "/api/v1/overview":
                return self.send(200, {"node": "mock-1", "region": "yyz", "version": "0.1.0", "pid": os.getpid(),
                                       "started_at": int(started), "uptime_s": int(time.time() - started),
                                       "config_path": "/etc/ferry/ferry.conf", "config_loaded_at": int(started),
                                       "generation": 1, "workers": 2,
                                       "reload": {"attempts": 0, "failures": 0, "last_ok": True, "last_error": "", "last_at": 0},
                                       "connections_active": 3,
                                       "totals": {"requests": sum(a["requests"] for a in apps.values()), "rps": 12.0,
                                                  "bytes_in": 1000, "bytes_out": 20000, "errors_5xx": 0},
                                       "top_apps": [{"name": "shop", "rps": 10.0}, {"name": "blog", "rps": 1.5}]})
            if path == "/api/v1/apps":
                return self.send(200, [app_entry(n) for n in apps])
            if parts[:1] == ["apps"] and len(parts) >= 2 and parts[1] in apps:
                name = parts[1]
                if len(parts) == 3 and parts[2] == "history":
                    rng = q.get("range", ["1h"])[0]
                    secs = {"15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "48h": 172800}.get(rng)
                    if not secs:
                        return self.send(400, {"error": "bad range"})
                    now = int(time.time())
                    pts = [r for t, r in sorted(apps[name]["history"].items()) if t >= now - secs]
                    return self.send(200, {"app": name, "resolution_s": 60, "from": now - secs, "to": now, "points": pts})
                e = app_entry(name)
                e.update({"instances": [instance(name, x) for x in apps[name]["servers"]], "bytes_in": 1, "bytes_out": 2,
                          "latency_ms": {"p50": 1.2, "p99": 8.0},
                          "certificate": {"source": "none", "hosts": [], "not_after": 0, "issuer": "", "state": "none", "last_error": ""}})
                return self.send(200, e)
            if parts[:1] == ["servers"] and len(parts) == 4 and method == "POST":
                b, srv, verb = parts[1:]
                if b not in apps or srv not in apps[b]["servers"]:
                    return self.send(404, {"error": "no server %s/%s" % (b, srv)})
                apps[b]["servers"][srv]["drained"] = verb == "drain"
                return self.send(200, instance(b, srv))
            if path == "/api/v1/frontends":
                return self.send(200, [{"name": "web", "mode": "http", "binds": [{"address": "127.0.0.1:8080", "tls": False, "listening": "127.0.0.1:8080"}],
                                        "connections_total": 100, "connections_active": 2, "tls_handshakes": 0,
                                        "tls_failures": {"no-certificate": 0, "protocol": 0, "timeout": 0, "other": 0}}])
            if path == "/api/v1/certificates":
                return self.send(200, [{"app": "shop", "source": "acme", "hosts": ["shop.test"], "issuer": "CN=Pebble",
                                        "not_before": int(started), "not_after": int(started) + 90 * 86400, "state": "valid",
                                        "last_error": "", "next_renewal": int(started) + 60 * 86400, "renewal_failures": 0}])
            if parts[:1] == ["certificates"] and method == "POST":
                return self.send(202, {"app": parts[1], "state": "pending"})
            if path == "/api/v1/mesh":
                return self.send(404, {"error": "not found"})
            if path == "/api/v1/config":
                return self.send(200, {"path": "/etc/ferry/ferry.conf", "generation": 1, "loaded_at": int(started), "text": CONFIG})
            if path == "/api/v1/config/validate":
                return self.send(200, validate(body.decode("utf-8", "replace")))
            if path == "/api/v1/reload":
                return self.send(200, {"ok": True, "generation": 2})
        return self.send(404, {"error": "not found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--no-auth", action="store_true")
    ap.add_argument("--no-chart", action="store_true", help="answer 404 for /vendor/chart.js")
    a = ap.parse_args()
    seed()
    threading.Thread(target=tick, daemon=True).start()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.no_auth = a.no_auth
    if a.no_chart:
        global CHART
        CHART = "/nonexistent/chart.min.js"
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
