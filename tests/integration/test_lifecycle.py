"""Process lifecycle: ready/admin, graceful drain on SIGTERM, drain timeout, --daemon/--pidfile."""
import os
import re
import signal
import socket
import subprocess
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import ferryd_path, figure, main, register, tmpdir, wait_until
from ferrykit.wire import RawConn, request


def _cfg(port, drain="10s", admin=True, log=None):
    cfg = base_config(admin=admin, defaults_extra=["timeout drain %s" % drain, "timeout server 30s"])
    if log:
        cfg = cfg.replace("    log          stderr info", "    log          %s info" % log)
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("s1", port)])
    cfg += section("app a", "hosts app.test", "backend pool")
    return cfg


def test_ready_and_admin_healthz():
    be = HttpBackend("b")
    f = Ferry(_cfg(be.port))
    m = re.search(r"ready pid=(\d+) workers=(\d+) config=(\S+)", f.log)
    assert int(m.group(1)) == f.pid, m.group(0)
    assert int(m.group(2)) == 2, "workers 2 in the config, ready says %s" % m.group(2)
    assert m.group(3).endswith("ferry.conf"), m.group(3)
    assert f.admin_port, "no 'admin listening' line"
    r = request(f.admin_port, "/healthz", host="127.0.0.1")
    assert r.status == 200 and r.body.strip() == b"ok", r
    # Log line format: "2026-11-27T19:00:00.123Z <Level> <message>".
    for line in f.log_lines(r"listening|ready"):
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ ", line), "bad log line format: %r" % line


def test_graceful_drain():
    be = HttpBackend("slow", delay=0)
    f = Ferry(_cfg(be.port, drain="10s"))
    port = f.port("web")
    # An idle keep-alive connection (should be closed at drain) and a slow in-flight request.
    idle = RawConn(port)
    idle.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert idle.read_response().status == 200
    busy = RawConn(port, timeout=15)
    busy.send("GET /slow?delay=2 HTTP/1.1\r\nHost: app.test\r\n\r\n")
    wait_until(lambda: be.in_flight == 1, what="slow request in flight")
    t0 = time.monotonic()
    f.signal(signal.SIGTERM)
    f.wait_log(r"draining connections=\d+ timeout=\d+", timeout=3)
    # New connections are refused once the listeners are closed.
    def refused():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except ConnectionRefusedError:
            return True
        s.close()
        return False
    wait_until(refused, timeout=1.5, interval=0.05, what="listener closed after SIGTERM")
    # Admin says draining.
    if f.admin_port:
        try:
            r = request(f.admin_port, "/healthz", host="127.0.0.1", timeout=2)
            assert r.status == 503 and b"draining" in r.body, "admin /healthz during drain: %r" % r
        except ConnectionRefusedError:
            raise AssertionError("admin closed during drain; expected 503 draining")
    assert idle.wait_closed(2), "idle keep-alive connection not closed at drain"
    r = busy.read_response(timeout=10)
    done = time.monotonic() - t0
    assert r.status == 200 and r.json()["path"] == "/slow?delay=2", r
    assert busy.wait_closed(2), "connection kept open after its last request during drain"
    code = f.wait(10)
    total = time.monotonic() - t0
    figure("drain: in-flight request finished / process exited after SIGTERM", "%.2f/%.2f" % (done, total), "s")
    assert code == 0, "exit code %d after a graceful drain" % code
    assert total < 5, "process lingered %.1fs after the last connection finished" % total
    log = f.log
    assert re.search(r"\bdrained\b", log) and re.search(r"\bstopped\b", log), "missing drained/stopped lines"


def test_drain_timeout():
    be = HttpBackend("stuck", delay=0)
    f = Ferry(_cfg(be.port, drain="1s"))
    c = RawConn(f.port("web"), timeout=15)
    c.send("GET /stuck?delay=8 HTTP/1.1\r\nHost: app.test\r\n\r\n")
    wait_until(lambda: be.in_flight == 1, what="stuck request in flight")
    t0 = time.monotonic()
    code = f.stop(timeout=10)
    elapsed = time.monotonic() - t0
    figure("drain timeout 1s: exit after", "%.2f" % elapsed, "s")
    assert elapsed < 4, "exit took %.1fs with timeout drain 1s" % elapsed
    assert code == 0, "exit code %d" % code
    assert c.wait_closed(2), "stuck connection left open after exit"


def test_sigterm_when_idle_exits_fast():
    be = HttpBackend("b")
    f = Ferry(_cfg(be.port))
    assert request(f.port("web")).status == 200
    t0 = time.monotonic()
    code = f.stop()
    assert code == 0, code
    assert time.monotonic() - t0 < 2, "idle drain took %.1fs" % (time.monotonic() - t0)


class _Pidfile:
    def __init__(self, path):
        self.path = path

    def close(self):
        try:
            pid = int(open(self.path).read().strip())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_daemon_mode_with_pidfile():
    be = HttpBackend("b")
    d = tmpdir()
    log = os.path.join(d, "daemon.log")
    cfgp = os.path.join(d, "daemon.conf")
    with open(cfgp, "w") as fh:
        fh.write(_cfg(be.port, log=log))
    pidf = os.path.join(d, "ferryd.pid")
    register(_Pidfile(pidf))
    p = subprocess.run([ferryd_path(), "-f", cfgp, "--daemon", "--pidfile", pidf], cwd=d,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    assert p.returncode == 0, "ferryd --daemon exited %d: %s" % (p.returncode, p.stdout.decode())
    wait_until(lambda: os.path.exists(pidf) and open(pidf).read().strip(), timeout=10, what="pidfile")
    pid = int(open(pidf).read().strip())
    os.kill(pid, 0)
    wait_until(lambda: os.path.exists(log) and "ready pid=%d" % pid in open(log).read(), timeout=15,
               what="ready in %s" % log)
    m = re.search(r"listening frontend=web address=\S+:(\d+)", open(log).read())
    assert m, open(log).read()
    assert request(int(m.group(1))).status == 200
    os.kill(pid, signal.SIGTERM)

    def gone():
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True
    wait_until(gone, timeout=10, what="daemon exit")
    assert "stopped" in open(log).read()
    assert not os.path.exists(pidf), "pidfile left behind after a clean stop"


if __name__ == "__main__":
    main()
