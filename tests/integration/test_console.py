"""The web console in headless Chromium (Debian `chromium`, driven by playwright-core from npm:
tests/browser/console.spec.mjs).

ferryd runs two apps with two backend servers each while a background thread sends traffic to
both; the browser logs in (an `admin-user` is configured when this ferryd has
`--hash-password`), opens the busier app and checks its requests chart was drawn with data,
drains an instance with its button and sees it marked drained while the drained server's
responses stop growing and the other's grow, enables it again, validates a broken candidate
config and sees the error's line number listed and highlighted, and sees no console errors, no
page errors and no error shown by the console. Screenshots go to $FERRY_ARTIFACTS, else
tests/integration/artifacts/console/ (git-ignored); their paths are printed.

SKIPs (exit 77) without /usr/bin/chromium, node or npm, Debian's libjs-chart.js, or when
`npm install` in tests/browser fails (e.g. no access to the npm registry).
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, hash_password, run_ferryd
from ferrykit.suite import INTEGRATION_DIR, figure, main, register, skip, wait_until
from ferrykit.wire import dead_port, request

TOP = os.path.dirname(os.path.dirname(INTEGRATION_DIR))
BROWSER_DIR = os.path.join(TOP, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"
CHART_JS = "/usr/share/javascript/chart.js"
USER, PASSWORD = "ops", "console-test-password"


def _artifacts_dir():
    d = os.environ.get("FERRY_ARTIFACTS") or os.path.join(INTEGRATION_DIR, "artifacts")
    d = os.path.join(d, "console")
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):  # only the screenshots a previous run of this test made
        if re.match(r"\d\d-[\w-]+\.png$", name):
            os.remove(os.path.join(d, name))
    return d


def _require_browser():
    """Returns (node, npm) or skips with the reason."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [n for n, p in (("/usr/bin/chromium (Debian package chromium)", os.access(CHROMIUM, os.X_OK)),
                              ("node", node), ("npm", npm)) if not p]
    if missing:
        skip("missing: %s (scripts/install-deps.sh test)" % ", ".join(missing))
    if not os.path.isdir(CHART_JS):
        skip("Chart.js missing: %s (Debian package libjs-chart.js)" % CHART_JS)
    with open(os.path.join(BROWSER_DIR, "package.json")) as f:
        want = json.load(f)["dependencies"]["playwright-core"]
    have = None
    try:
        with open(os.path.join(BROWSER_DIR, "node_modules", "playwright-core", "package.json")) as f:
            have = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    if have != want:
        p = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
        if p.returncode != 0:
            tail = p.stdout.decode("utf-8", "replace").strip().splitlines()[-3:]
            skip("npm install in tests/browser failed (exit %d): %s" % (p.returncode, " / ".join(tail)))
    return node, npm


def _admin_user_line():
    """`admin-user ops HASH` when this ferryd can hash passwords (else no users: open console)."""
    rc, out = run_ferryd(["--help"])
    if "--hash-password" not in out:
        return None
    return "admin-user %s %s" % (USER, hash_password(PASSWORD))


def _api_headers(port, user_line):
    """Headers for a JSON API call: with users configured, a bearer token from POST /api/v1/login."""
    hdrs = {"Content-Type": "application/json"}
    if user_line:
        r = request(port, "/api/v1/login", method="POST", host="127.0.0.1:%d" % port, headers=hdrs,
                    body=json.dumps({"user": USER, "password": PASSWORD}).encode())
        assert r.status == 200, r
        hdrs["Authorization"] = "Bearer " + r.json()["token"]
    return hdrs


class Traffic:
    """Requests to each host in turn on keep-alive connections from one thread until close()."""

    def __init__(self, port, hosts, per_second=40):
        self.port, self.hosts, self.delay = port, hosts, 1.0 / per_second
        self.sent = self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="traffic")
        self.thread.start()
        register(self)

    def _run(self):
        conns = {}
        i = 0
        while not self.stop.is_set():
            host = self.hosts[i % len(self.hosts)]
            i += 1
            for attempt in (1, 2):  # a keep-alive connection the server just closed: once more on a new one
                try:
                    if host not in conns:
                        conns[host] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    r = request(self.port, "/t/%d" % i, host=host, conn=conns[host])
                    self.sent += 1
                    if r.status != 200:
                        self.failed += 1
                    break
                except (OSError, http.client.HTTPException):
                    c = conns.pop(host, None)
                    if c:
                        c.close()
                    if attempt == 2:
                        self.sent += 1
                        self.failed += 1
            self.stop.wait(self.delay)
        for c in conns.values():
            c.close()

    def close(self):
        self.stop.set()
        self.thread.join(10)


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'")


def _admin_get(port, path, headers=None, method="GET"):
    return request(port, path, method=method, host="127.0.0.1:%d" % port, headers=headers)


def test_console_served():
    """The shell, its assets and Chart.js come from ferryd itself, open, with the security and
    cache headers; unknown console files are 404; index.html's module graph is all served."""
    f = Ferry(base_config(workers=1))
    port = f.admin_port
    r = _admin_get(port, "/")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/html; charset=utf-8", r.headers
    assert r.header("Content-Security-Policy") == CSP, r.header("Content-Security-Policy")
    assert r.header("X-Content-Type-Options") == "nosniff" and r.header("Referrer-Policy") == "no-referrer", r.headers
    assert r.header("Cache-Control") == "no-cache", r.header("Cache-Control")
    with open(os.path.join(TOP, "web", "console", "index.html"), "rb") as fh:
        assert r.body == fh.read(), "GET / is not web/console/index.html"
    # Every file index.html and the modules reference is served, with a JavaScript or CSS type
    # (module scripts need one under nosniff) and the same bytes as the source tree.
    todo = re.findall(r'(?:src|href)="(/console/[^"]+|/vendor/[^"]+)"', r.body.decode())
    seen = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        a = _admin_get(port, path)
        if path == "/vendor/chart.js":
            if os.path.isdir(CHART_JS):
                assert a.status == 200 and a.header("Content-Type").startswith("text/javascript"), a
                assert b"Chart.js" in a.body[:300], "not Chart.js: %r" % a.body[:100]
            else:
                assert a.status == 404 and b"apt install libjs-chart.js" in a.body, a
            continue
        assert a.status == 200, "%s: %r" % (path, a)
        assert a.header("Content-Security-Policy") == CSP and a.header("X-Content-Type-Options") == "nosniff", a.headers
        with open(os.path.join(TOP, "web", "console", path[len("/console/"):]), "rb") as fh:
            assert a.body == fh.read(), "%s differs from the source tree" % path
        if path.endswith(".js"):
            assert a.header("Content-Type") == "text/javascript; charset=utf-8", (path, a.headers)
            base = os.path.dirname(path)
            for imp in re.findall(r"""from '(\.[^']+)'""", a.body.decode()):
                todo.append(os.path.normpath(os.path.join(base, imp)))
        elif path.endswith(".css"):
            assert a.header("Content-Type") == "text/css; charset=utf-8", (path, a.headers)
    assert len([p for p in seen if p.endswith(".js")]) >= 10, "module graph too small: %r" % sorted(seen)
    figure("console files served", len(seen))
    # Revalidation by ETag.
    a = _admin_get(port, "/console/style.css")
    etag = a.header("ETag")
    assert etag, a.headers
    b = _admin_get(port, "/console/style.css", headers={"If-None-Match": etag})
    assert b.status == 304 and not b.body, b
    # Unknown files: 404, no file system lookups (the names are the embedded ones only).
    for path in ("/console/nope.js", "/console/%2e%2e/CMakeLists.txt", "/console/", "/console/js"):
        n = _admin_get(port, path)
        assert n.status == 404, "%s: %r" % (path, n)
        assert n.header("X-Content-Type-Options") == "nosniff", n.headers
    h = _admin_get(port, "/", method="HEAD")
    assert h.status == 200 and not h.body and h.header("Content-Security-Policy") == CSP, h


def test_console_in_chromium():
    node, _ = _require_browser()
    artifacts = _artifacts_dir()
    user_line = _admin_user_line()

    bes = {n: HttpBackend(n, delay=0.03 if n == "shop1" else 0.0) for n in ("shop1", "shop2", "blog1", "blog2")}
    cfg = base_config(global_extra=[user_line] if user_line else ())
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += backend_section("shop", [("s1", bes["shop1"].port), ("s2", bes["shop2"].port)], "balance roundrobin")
    cfg += backend_section("blog", [("b1", bes["blog1"].port), ("b2", bes["blog2"].port)], "balance roundrobin")
    cfg += section("app shop", "hosts shop.test", "backend shop")
    cfg += section("app blog", "hosts blog.test", "backend blog")
    # The live catalog: one started and one stopped instance (the instances page), and a
    # scale-to-zero hook (its row; never called: an instance is started).
    cfg += section("backend live", "instances catalog")
    cfg += section("app live", "hosts live.test", "backend live", "autostart true")
    # Slow requests (shop1 answers in 30 ms) are listed on the app page, linked to their traces
    # (every one sampled; the collector's port refuses: the export fails, counted).
    trace_url = "http://127.0.0.1:9/trace/%{trace-id}"
    cfg += section("tracing", "endpoint http://127.0.0.1:%d/v1/traces" % dead_port(), "sample 1", "slow 20ms",
                   "ui-url %s" % trace_url)
    f = Ferry(cfg)
    assert f.admin_port, "no 'admin listening' line in ferryd's log"

    hdrs = _api_headers(f.admin_port, user_line)
    for iid, state in (("l1", "started"), ("l2", "stopped")):
        r = request(f.admin_port, "/api/v1/instances", method="POST", host="127.0.0.1:%d" % f.admin_port, headers=hdrs,
                    body=json.dumps({"app": "live", "id": iid, "address": "127.0.0.1:%d" % bes["blog2"].port,
                                     "state": state}).encode())
        assert r.status == 200, r
    traffic = Traffic(f.port("web"), ["shop.test", "shop.test", "blog.test", "live.test"])
    wait_until(lambda: traffic.sent >= 20, timeout=10, what="traffic flowing")
    assert traffic.failed == 0, "requests failed before the browser started: %d of %d" % (traffic.failed, traffic.sent)

    env = dict(os.environ, FERRY_CONSOLE_URL="http://127.0.0.1:%d" % f.admin_port, FERRY_CONSOLE_APP="shop",
               FERRY_ARTIFACTS=artifacts, FERRY_CHROMIUM=CHROMIUM, FERRY_CONSOLE_TRACE_URL=trace_url,
               FERRY_CONSOLE_CATALOG="live/l1,live/l2")
    if user_line:
        env.update(FERRY_CONSOLE_USER=USER, FERRY_CONSOLE_PASSWORD=PASSWORD)
    t0 = time.monotonic()
    p = subprocess.run([node, os.path.join(BROWSER_DIR, "console.spec.mjs")], cwd=BROWSER_DIR, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    out = p.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        print("  | " + line)
    figure("browser run", "%.1f" % (time.monotonic() - t0), "s")
    traffic.close()
    figure("traffic", "%d requests, %d failed" % (traffic.sent, traffic.failed))

    shots = re.findall(r"^SCREENSHOT (.+)$", out, re.M)
    assert shots and all(os.path.isfile(s) and os.path.getsize(s) > 0 for s in shots), "screenshots missing: %r" % shots
    failed = re.findall(r"^CHECK FAIL (.+)$", out, re.M)
    assert p.returncode == 0 and not failed, "browser checks failed (exit %d): %s" % (
        p.returncode, "; ".join(f[:200] for f in failed) or out[-500:])
    for name in ("login", "chart drawn", "slow request linked", "drain", "enable", "validate", "instances view",
                 "instances of one app", "no console errors",
                 "no page errors"):
        assert re.search(r"^CHECK ok %s\b" % re.escape(name), out, re.M), "check %r did not run" % name
    if user_line:  # every action is logged with its user (docs/API.md)
        assert f.log_lines(r"admin action user=%s action=drain" % USER), "the drain was not logged with its user"
    assert traffic.failed == 0, "%d of %d requests failed while the console drained a server" % (traffic.failed, traffic.sent)


if __name__ == "__main__":
    main()
