"""Scale-to-zero: `autostart HOOK`, `autostart-timeout` and `autostop IDLE [keep N]`
(docs/CATALOG.md, "Scale-to-zero"). One ferryd, a test orchestrator (a Python webhook that
starts a backend process and registers it through the admin API), and command hooks.

test_webhook_start_and_stop:
  start     six concurrent requests for an app without an instance are held; the orchestrator
            gets exactly one start call, starts a backend process and registers it; every held
            request then succeeds, and the next ones go straight through (no hook call);
  metrics   held 6, failed 0, one successful start call;
  autostop  after IDLE without traffic the instance is set stopping, the hook gets a stop call
            naming it, and it ends `stopped`; the next request starts a new one.
test_keep:
  keep      `autostop 1s keep 1` with two idle instances stops exactly one.
test_command_hooks:
  timeout   a hook that starts nothing (bare `true`, looked up on PATH): the request gets 503
            with Retry-After at autostart-timeout;
  failure   a hook exiting 3: 503, and the API shows the failure;
  command   a shell hook that writes an instance file (FERRY_APP from its environment) into
            the watched instances-dir: the held request is served by that instance.
"""
import http.server
import json
import os
import threading
import time

from ferrykit.backends import BackendProcess, HttpBackend
from ferrykit.config import base_config, section
from ferrykit.runner import Ferry, metric_value, parse_metrics, scrape_metrics
from ferrykit.suite import figure, main, tmpdir, wait_until
from ferrykit.wire import request


def api(f, path, method="GET", body=None):
    return request(f.admin_port, path, host="127.0.0.1:%d" % f.admin_port, method=method,
                   body=json.dumps(body).encode() if body is not None else None,
                   headers={"Content-Type": "application/json"} if body is not None else None)


def instances(f, app):
    return {i["id"]: i for i in api(f, "/api/v1/instances?app=" + app).json()["instances"]}


def autoscale(f, app):
    return [a for a in api(f, "/api/v1/instances").json()["autoscale"] if a["app"] == app][0]


class Orchestrator:
    """The webhook: `start` starts a backend process (after `delay`) and registers it as a
    started instance; `stop` kills the named instance's process."""

    def __init__(self, delay=0.5):
        self.calls = []
        self.procs = {}
        self.started = 0
        self.ferry = None
        self.delay = delay
        self.lock = threading.Lock()
        orch = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with orch.lock:
                    orch.calls.append(body)
                if body["action"] == "start":
                    threading.Thread(target=orch.start_instance, args=(body["app"],), daemon=True).start()
                elif body["action"] == "stop":
                    p = orch.procs.pop(body["instance"], None)
                    if p:
                        p.close()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def start_instance(self, app):
        time.sleep(self.delay)  # a machine takes a moment to boot
        with self.lock:
            self.started += 1
            name = "%s-%d" % (app, self.started)
        p = BackendProcess(name)
        self.procs[name] = p
        r = api(self.ferry, "/api/v1/instances",
                method="POST", body={"app": app, "id": name, "address": "127.0.0.1:%d" % p.port, "state": "started"})
        assert r.status == 200, r.body

    def of(self, action):
        with self.lock:
            return [c for c in self.calls if c["action"] == action]


def get(f, host="app.test", timeout=15):
    t0 = time.monotonic()
    r = request(f.port("web"), "/", host=host, timeout=timeout)
    return r, time.monotonic() - t0


def test_webhook_start_and_stop():
    orch = Orchestrator(delay=0.5)
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0")
    cfg += section("backend pool", "instances catalog")
    cfg += section("app web", "hosts app.test", "backend pool",
                   "autostart http://127.0.0.1:%d/hook" % orch.port, "autostart-timeout 10s", "autostop 2s")
    f = Ferry(cfg)
    orch.ferry = f

    results = []
    threads = [threading.Thread(target=lambda: results.append(get(f))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r, _ in results] == [200] * 6, [(r.status, r.body[:80]) for r, _ in results]
    names = {r.json()["name"] for r, _ in results}
    assert names == {"web-1"}, names
    first = max(took for _, took in results)
    assert first >= 0.5, first  # they did wait for the instance
    starts = orch.of("start")
    assert len(starts) == 1, starts
    assert starts[0]["app"] == "web" and starts[0]["node"], starts[0]
    figure("held request served after start", first * 1000, "ms")

    r, took = get(f)
    assert r.status == 200 and r.json()["name"] == "web-1"
    assert took < 0.5, took
    assert len(orch.of("start")) == 1

    m = parse_metrics(scrape_metrics(f)[2])
    assert metric_value(m, "ferry_app_autostart_held_requests_total", app="web") == 6
    assert metric_value(m, "ferry_app_autostart_failed_requests_total", app="web") == 0
    assert metric_value(m, "ferry_app_autostart_waiting_requests", app="web") == 0
    assert metric_value(m, "ferry_autoscale_hook_calls_total", app="web", action="start", result="ok") == 1

    # Idle for 2 s: stopping, the stop call, then stopped.
    wait_until(lambda: len(orch.of("stop")) == 1, timeout=6, interval=0.1, what="the stop hook called")
    stop = orch.of("stop")[0]
    assert stop["instance"] == "web-1" and stop["address"].startswith("127.0.0.1:"), stop
    wait_until(lambda: instances(f, "web")["web-1"]["state"] == "stopped", timeout=3, what="web-1 stopped")
    f.wait_log(r"admin action user=autostop action=instance-stop app=web id=web-1")
    assert metric_value(parse_metrics(scrape_metrics(f)[2]), "ferry_autoscale_hook_calls_total", app="web",
                        action="stop", result="ok") == 1

    # Scaled to zero: the next request starts a new instance.
    r, took = get(f)
    assert r.status == 200 and r.json()["name"] == "web-2", (r.status, r.body[:100])
    assert len(orch.of("start")) == 2


def test_keep():
    orch = Orchestrator()
    a, b = HttpBackend("a"), HttpBackend("b")
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0")
    cfg += section("backend pool", "instances catalog")
    cfg += section("app web", "hosts app.test", "backend pool",
                   "autostart http://127.0.0.1:%d/hook" % orch.port, "autostop 1s keep 1")
    f = Ferry(cfg)
    for name, be in (("i1", a), ("i2", b)):
        r = api(f, "/api/v1/instances", method="POST",
                body={"app": "web", "id": name, "address": "127.0.0.1:%d" % be.port})
        assert r.status == 200, r.body
    wait_until(lambda: len(orch.of("stop")) == 1, timeout=5, interval=0.1, what="one stop call")
    time.sleep(2.5)  # more idle seconds: still one
    assert len(orch.of("stop")) == 1, orch.calls
    states = sorted(i["state"] for i in instances(f, "web").values())
    assert states == ["started", "stopped"], states


def test_command_hooks():
    d = os.path.join(tmpdir(), "instances.d")
    os.makedirs(d)
    be = HttpBackend("files")
    hook = os.path.join(tmpdir(), "start.sh")
    with open(hook, "w") as fh:
        fh.write('#!/bin/sh\n[ "$FERRY_ACTION" = start ] || exit 0\n'
                 'printf \'{"app": "%%s", "address": "127.0.0.1:%d"}\' "$FERRY_APP" > "%s/.tmp"\n'
                 'mv "%s/.tmp" "%s/$FERRY_APP.json"\n' % (be.port, d, d, d))
    os.chmod(hook, 0o755)
    cfg = base_config() + section("catalog", "instances-dir %s" % d)
    cfg += section("frontend web", "bind 127.0.0.1:0")
    cfg += section("backend pool", "instances catalog")
    cfg += section("app never", "hosts never.test", "backend pool", "autostart true", "autostart-timeout 1s")
    cfg += section("backend pool2", "instances catalog")
    cfg += section("app broken", "hosts broken.test", "backend pool2", "autostart /bin/sh -c 'exit 3'",
                   "autostart-timeout 1s")
    cfg += section("backend pool3", "instances catalog")
    cfg += section("app files", "hosts files.test", "backend pool3", "autostart %s" % hook)
    f = Ferry(cfg)

    r, took = get(f, host="never.test")
    assert r.status == 503 and r.header("Retry-After") == "1", (r.status, r.headers)
    assert 0.9 <= took < 3, took
    assert b"no instance of app 'never' started within 1s" in r.body, r.body
    assert autoscale(f, "never")["start_ok"] == 1

    r, _ = get(f, host="broken.test")
    assert r.status == 503
    wait_until(lambda: autoscale(f, "broken")["last_error"] == "start: exited with status 3", timeout=3,
               what="the failure in the API")
    f.wait_log(r"autostart: app broken: the start hook failed: exited with status 3")

    r, took = get(f, host="files.test")
    assert r.status == 200 and r.json()["name"] == "files", (r.status, r.body[:100])
    assert instances(f, "files")["files"]["metadata"] == {"ferry.source": "file:files"}
    m = parse_metrics(scrape_metrics(f)[2])
    assert metric_value(m, "ferry_app_autostart_failed_requests_total", app="never") == 1
    assert metric_value(m, "ferry_app_autostart_failed_requests_total", app="files") == 0


if __name__ == "__main__":
    main()
