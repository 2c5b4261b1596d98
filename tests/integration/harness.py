"""Shared helpers for Ferry's integration tests (Debian's python3, stdlib only).

Every test file is a script: `/usr/bin/python3 tests/integration/test_x.py [-k SUBSTR] [-v]`.
It defines `test_*` functions and ends with `harness.main()`, which runs them in order, each
in its own temporary directory, and exits 0 (all passed), 1 (a failure) or 77 (skipped, with a
line `SKIP <reason>`). Environment: FERRYD=<path to ferryd> (required), FERRY_KEEP_TMP=1 keeps
the temporary directories, FERRY_IT_VERBOSE=1 prints ferryd's log of passing tests too.

What lives here:
  - Ferry(config_text): runs the real ferryd on a config, parses its log (listening ports,
    ready, reload results), reload()/stop()/log.
  - Backends bound to port 0 on 127.0.0.1: HttpBackend (threaded HTTP/1.1, JSON echo),
    BackendProcess (the same in a child process, to kill -9), RawBackend (scripted bytes),
    WsEchoBackend (RFC 6455), TcpEchoBackend (half-close aware), ProxyProtoBackend (receives
    PROXY v1/v2 then speaks HTTP/1.1).
  - Clients: request() (http.client), RawConn (raw socket + response parser), ws helpers,
    PROXY protocol header builders.
Everything a test starts registers itself and is cleaned up by object/PID after the test;
no fixed ports, no pkill.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
VERBOSE = os.environ.get("FERRY_IT_VERBOSE") == "1"


# ----------------------------------------------------------------------------------------------
# Test runner, per-test context, cleanup registry
# ----------------------------------------------------------------------------------------------

class Skip(Exception):
    """Raise (or call skip()) to skip the current test."""


def skip(reason):
    raise Skip(reason)


class _Context:
    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="ferry-it-%s-" % name)
        self.objects = []  # things with close(), cleaned in reverse order
        self.ferries = []

    def cleanup(self):
        for obj in reversed(self.objects):
            try:
                obj.close()
            except Exception as e:  # cleanup must not mask the test result
                print("  cleanup of %r failed: %s" % (obj, e))
        self.objects.clear()
        if os.environ.get("FERRY_KEEP_TMP") == "1":
            print("  kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


_ctx = None
_figures = []


def _register(obj):
    if _ctx is not None:
        _ctx.objects.append(obj)
    return obj


def tmpdir():
    """The current test's temporary directory."""
    assert _ctx is not None, "tmpdir() outside a test"
    return _ctx.tmp


def figure(name, value, unit=""):
    """Prints a measured figure (collected in the summary)."""
    line = "  FIGURE %s = %s%s" % (name, value, (" " + unit) if unit else "")
    print(line, flush=True)
    _figures.append(line.strip())


def ferryd_path():
    p = os.environ.get("FERRYD", "")
    if not p:
        return None
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        return None
    return p


def main():
    """Runs the calling script's test_* functions; exits 0 / 1 / 77."""
    global _ctx
    import __main__
    args = sys.argv[1:]
    filt = None
    if "-k" in args:
        filt = args[args.index("-k") + 1]
    script = os.path.basename(getattr(__main__, "__file__", "test"))
    if ferryd_path() is None:
        print("SKIP %s: FERRYD is unset or not an executable (%r)" % (script, os.environ.get("FERRYD")))
        sys.exit(77)
    tests = [(n, f) for n, f in vars(__main__).items() if n.startswith("test_") and callable(f)]
    if filt:
        tests = [(n, f) for n, f in tests if filt in n]
    passed, failed, skipped = [], [], []
    t_all = time.monotonic()
    for name, fn in tests:
        _ctx = _Context(name)
        print("=== %s" % name, flush=True)
        t0 = time.monotonic()
        ok = False
        try:
            fn()
            ok = True
            passed.append(name)
            print("--- PASS %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
        except Skip as e:
            skipped.append(name)
            ok = True
            print("--- SKIP %s: %s" % (name, e), flush=True)
        except BaseException as e:  # noqa: B036 -- report everything, including KeyboardInterrupt
            failed.append(name)
            traceback.print_exc()
            print("--- FAIL %s (%.2fs): %s" % (name, time.monotonic() - t0, _oneline(e)), flush=True)
            if isinstance(e, KeyboardInterrupt):
                _ctx.cleanup()
                raise
        finally:
            if (not ok or VERBOSE) and _ctx is not None:
                for f in _ctx.ferries:
                    f.dump_log()
            _ctx.cleanup()
            _ctx = None
    print("=== %s: %d passed, %d failed, %d skipped in %.1fs" % (
        script, len(passed), len(failed), len(skipped), time.monotonic() - t_all))
    for f in failed:
        print("FAILED %s" % f)
    if failed:
        sys.exit(1)
    if tests and len(skipped) == len(tests):
        print("SKIP %s: every test skipped" % script)
        sys.exit(77)
    sys.exit(0)


def _oneline(e):
    s = str(e).strip().splitlines()
    return (type(e).__name__ + ": " + (s[0] if s else "")).strip()


def wait_until(pred, timeout=5.0, interval=0.05, what="condition"):
    """Polls pred() until truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def free_port_closed():
    """A loopback port with nothing listening (bound then closed): connects get refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ipv6_loopback_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------
# Config helpers
# ----------------------------------------------------------------------------------------------

def base_config(workers=2, admin=True, global_extra=(), defaults_extra=(), log_level="info"):
    """`global` + `defaults` with short timeouts suitable for tests."""
    g = ["global",
         "    node         it-node",
         "    workers      %s" % workers,
         "    state-dir    %s" % os.path.join(tmpdir(), "state"),
         "    admin        %s" % ("127.0.0.1:0" if admin else "off"),
         "    log          stderr %s" % log_level]
    g += ["    " + l for l in global_extra]
    d = ["timeout connect          1s",
         "timeout client           10s",
         "timeout server           5s",
         "timeout http-request     5s",
         "timeout http-keep-alive  5s",
         "timeout tunnel           30s",
         "timeout queue            2s",
         "timeout drain            5s",
         "retries                  2"]

    def key(line):  # "timeout server 30s" -> "timeout server"; "retries 2" -> "retries"
        w = line.split()
        return " ".join(w[:2]) if w[0] == "timeout" else w[0]
    # A directive set twice in one section is an error: defaults_extra replaces our default.
    for extra in defaults_extra:
        d = [l for l in d if key(l) != key(extra)] + [extra]
    return "\n".join(g) + "\n\ndefaults\n" + "".join("    %s\n" % l for l in d) + "\n"


def section(header, *lines):
    """A config section: header at column 0, directives indented."""
    return header + "\n" + "".join("    %s\n" % l for l in lines if l) + "\n"


def backend_section(name, servers, *lines):
    """servers: list of (server_name, port[, options]) on 127.0.0.1."""
    sl = []
    for s in servers:
        opts = (" " + s[2]) if len(s) > 2 and s[2] else ""
        sl.append("server %s 127.0.0.1:%d%s" % (s[0], s[1], opts))
    return section("backend %s" % name, *(list(lines) + sl))


# ----------------------------------------------------------------------------------------------
# ferryd
# ----------------------------------------------------------------------------------------------

_LISTEN_RE = re.compile(r"\blistening frontend=(\S+) address=(\S+)")
_ADMIN_RE = re.compile(r"\badmin listening address=(\S+)")
_READY_RE = re.compile(r"\bready pid=(\d+) workers=(\d+) config=(\S+)")
_RELOAD_RE = re.compile(r"\breload (ok generation=(\d+)|failed: ?(.*))")


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class Ferry:
    """Runs `$FERRYD -f <tmp>/ferry.conf`, stderr captured to <tmp>/ferry-N.log; with
    netns=NAME, inside that network namespace (`ip netns exec` execs ferryd: the PID is its own).

    Attributes after start: pid, ports {frontend: [port, ...]}, addrs {frontend: [(host, port)]},
    admin_port, workers. Use as a context manager or let the runner clean it up.
    """

    _seq = 0

    def __init__(self, config_text, name="ferry", start=True, ready_timeout=15.0, args=(), netns=None):
        Ferry._seq += 1
        self.netns = netns  # run inside this network namespace (`ip netns exec NS`, same PID)
        self.dir = tmpdir()
        self.name = name
        self.config_path = os.path.join(self.dir, "%s.conf" % name)
        self.log_path = os.path.join(self.dir, "%s-%d.log" % (name, Ferry._seq))
        self.proc = None
        self.ports = {}
        self.addrs = {}
        self.admin_port = None
        self.workers = None
        self.exit_code = None
        self.extra_args = list(args)
        self.write_config(config_text)
        _register(self)
        if _ctx is not None:
            _ctx.ferries.append(self)
        if start:
            self.start(ready_timeout)

    # -- lifecycle -------------------------------------------------------------------------

    def write_config(self, text):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)  # atomic: a reload never reads a half-written file

    def start(self, ready_timeout=15.0):
        self._logf = open(self.log_path, "wb")
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(prefix + [ferryd_path(), "-f", self.config_path] + self.extra_args,
                                     stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
                                     cwd=self.dir)
        self.pid = self.proc.pid
        deadline = time.monotonic() + ready_timeout
        while True:
            text = self.log
            m = _READY_RE.search(text)
            if m:
                self.workers = int(m.group(2))
                break
            if self.proc.poll() is not None:
                self.exit_code = self.proc.returncode
                self.dump_log()
                raise AssertionError("ferryd exited with %s before 'ready'" % self.proc.returncode)
            if time.monotonic() > deadline:
                self.dump_log()
                raise AssertionError("ferryd not ready within %.0fs" % ready_timeout)
            time.sleep(0.02)
        self._parse_listeners()
        return self

    def _parse_listeners(self):
        text = self.log
        ports, addrs = {}, {}
        for m in _LISTEN_RE.finditer(text):
            fe, addr = m.group(1), m.group(2)
            host, port = split_addr(addr)
            if (host, port) not in addrs.setdefault(fe, []):
                addrs[fe].append((host, port))
                ports.setdefault(fe, []).append(port)
        self.ports, self.addrs = ports, addrs
        m = None
        for m in _ADMIN_RE.finditer(text):
            pass
        if m:
            self.admin_port = split_addr(m.group(1))[1]

    def port(self, frontend, i=0):
        assert frontend in self.ports, "frontend %r not in listening lines: %r" % (frontend, self.ports)
        return self.ports[frontend][i]

    @property
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern):
        return [l for l in self.log.splitlines() if re.search(pattern, l)]

    def wait_log(self, pattern, timeout=10.0, count=1):
        """Waits until `pattern` (regex) matched `count` lines; returns the last match."""
        def find():
            ms = list(re.finditer(pattern, self.log))
            return ms[count - 1] if len(ms) >= count else None
        return wait_until(find, timeout, what="log /%s/ x%d in %s" % (pattern, count, self.log_path))

    def reload(self, config_text=None, timeout=15.0):
        """Optionally rewrites the config, sends SIGHUP, waits for the next reload result.

        Returns ("ok", generation) or ("failed", message)."""
        before = len(_RELOAD_RE.findall(self.log))
        if config_text is not None:
            self.write_config(config_text)
        os.kill(self.proc.pid, signal.SIGHUP)

        def nth():
            ms = list(_RELOAD_RE.finditer(self.log))
            return ms[before] if len(ms) > before else None
        m = wait_until(nth, timeout, interval=0.02, what="reload result #%d" % (before + 1))
        self._parse_listeners()
        if m.group(2) is not None:
            return ("ok", int(m.group(2)))
        return ("failed", m.group(3))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait(self, timeout=30.0):
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("ferryd pid %d still running after %.0fs" % (self.proc.pid, timeout))
        return self.exit_code

    def stop(self, timeout=30.0):
        """SIGTERM, wait, return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_logf", None):
            self._logf.close()
            self._logf = None

    def dump_log(self, tail=80):
        lines = self.log.splitlines()
        print("  ---- %s (%d lines, last %d) ----" % (self.log_path, len(lines), min(tail, len(lines))))
        for l in lines[-tail:]:
            print("  | " + l)
        print("  ----")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "Ferry(pid=%s)" % (self.proc.pid if self.proc else None)


def run_ferryd(args, timeout=20.0, cwd=None):
    """Runs ferryd with args to completion; returns (exit code, stdout+stderr text)."""
    p = subprocess.run([ferryd_path()] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd or tmpdir())
    return p.returncode, p.stdout.decode("utf-8", "replace")


# ----------------------------------------------------------------------------------------------
# HTTP/1.1 backend (threaded, JSON echo)
# ----------------------------------------------------------------------------------------------

class _ThreadingHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ferry-it-backend"
    sys_version = ""
    disable_nagle_algorithm = True  # like real servers: no 40 ms Nagle/delayed-ACK stalls

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        b = self.server.backend
        with b.lock:
            b.connections += 1
            self.conn_id = b.connections
            b.open_socks.add(self.connection)

    def finish(self):
        b = self.server.backend
        with b.lock:
            b.open_socks.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        b = self.server.backend
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)

        def qv(k, default=None):
            return q[k][0] if k in q else default

        try:
            body = self._read_body()
        except (ValueError, ConnectionError):
            self.close_connection = True
            return
        rec = {
            "name": b.name,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
            "body_len": len(body),
            "client": "%s:%d" % self.client_address[:2],
            "conn": self.conn_id,
        }
        is_health = url.path == b.health_path
        counted = not is_health  # in b.in_flight
        with b.lock:
            if is_health:
                b.health_hits += 1
            else:
                b.hits += 1
                b.requests.append(rec)
                b.in_flight += 1
                b.max_in_flight = max(b.max_in_flight, b.in_flight)
        try:
            if is_health:
                ok = b.healthy
                self._send(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", "text/plain", [])
                return
            delay = float(qv("delay", b.delay))
            if delay > 0:
                time.sleep(delay)
            status = int(qv("status", b.status))
            extra = []
            for h in q.get("hdr", []):
                k, _, v = h.partition(":")
                extra.append((k, v))
            if b.respond_headers is not None:  # per-request extra headers chosen by the test
                extra += list(b.respond_headers(rec) or ())
            if "size" in q:
                payload = b"x" * int(qv("size"))
                ctype = "application/octet-stream"
            else:
                payload = (json.dumps(rec) + "\n").encode()
                ctype = "application/json"
            if qv("close") == "1":
                extra.append(("Connection", "close"))
                self.close_connection = True
            chunked = qv("chunked", "1" if b.chunked else "0") == "1"
            # Counted out before the response goes out: once the proxy has the whole response it
            # may send the next request, which must not find this one still counted.
            with b.lock:
                b.in_flight -= 1
                counted = False
            self._send(status, payload, ctype, extra, chunked=chunked)
        finally:
            if counted:
                with b.lock:
                    b.in_flight -= 1

    def _send(self, status, payload, ctype, extra, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        head_only = self.command == "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not head_only:
                n = max(1, len(payload) // 3)
                for i in range(0, len(payload), n):
                    part = payload[i:i + n]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(payload)))
            if not head_only:
                self._headers_buffer.append(b"\r\n" + payload)  # head and body in one write
                self.flush_headers()
            else:
                self.end_headers()
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class HttpBackend:
    """Threaded HTTP/1.1 backend on 127.0.0.1:<random port>.

    Every non-health response is JSON: name, method, path, version, headers [[k, v]...], body,
    body_len, client ("ip:port" of the upstream connection), conn (connection sequence number).
    Query parameters: delay=SECONDS, status=N, chunked=1, size=N (N bytes of 'x' instead of JSON),
    hdr=Name:Value (repeatable, extra response header), close=1. Attributes delay, status,
    chunked, healthy (GET <health_path> answers 200 "ok" or 503) may be changed while it runs;
    respond_headers, when set, is called with each request's record (the dict above) and returns
    extra response headers [(name, value)] (or None).
    """

    def __init__(self, name, delay=0.0, status=200, chunked=False, health_path="/healthz", host="127.0.0.1", port=0):
        self.name = name
        self.delay = delay
        self.status = status
        self.chunked = chunked
        self.healthy = True
        self.health_path = health_path
        self.respond_headers = None
        self.lock = threading.Lock()
        self.hits = 0
        self.health_hits = 0
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = []
        self.open_socks = set()
        srv_cls = _ThreadingHTTPServer
        if ":" in host:
            class _V6(_ThreadingHTTPServer):
                address_family = socket.AF_INET6
            srv_cls = _V6
        self.server = srv_cls((host, port), _Handler)
        self.server.backend = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="backend-%s" % name)
        self.thread.start()
        self._closed = False
        _register(self)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def reset(self):
        with self.lock:
            self.hits = 0
            self.requests.clear()

    def kill(self):
        """Closes the listener and every open connection at once (like a crashed server)."""
        if self._closed:
            return
        self._closed = True
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            socks = list(self.open_socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    close = kill

    def __repr__(self):
        return "HttpBackend(%s:%d)" % (self.name, self.port)


class BackendProcess:
    """HttpBackend in a child process (`harness.py http-backend`), so it can be kill -9'ed."""

    def __init__(self, name, delay=0.0, status=200):
        self.name = name
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "harness.py"), "http-backend",
                                      "--name", name, "--delay", str(delay), "--status", str(status)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
        _register(self)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            self.close()
            raise AssertionError("backend process %s did not start: %r" % (name, line))
        self.port = int(m.group(1))
        self.pid = self.proc.pid

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self):
        self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __repr__(self):
        return "BackendProcess(%s pid=%d)" % (self.name, self.proc.pid)


# ----------------------------------------------------------------------------------------------
# Raw TCP servers: scripted bytes, WebSocket echo, TCP echo, PROXY protocol receiver
# ----------------------------------------------------------------------------------------------

class TcpServer:
    """Accepts on 127.0.0.1:0 and runs handler(sock, server) per connection in a thread."""

    def __init__(self, handler, name="tcp", host="127.0.0.1"):
        self.name = name
        self.handler = handler
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0
        self.conns = set()
        self.records = []  # whatever handlers want to record
        self.errors = []
        self._closed = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True, name="tcp-%s" % name)
        self.thread.start()
        _register(self)

    def _accept_loop(self):
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.add(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.handler(c, self)
        except Exception as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            with self.lock:
                self.conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def record(self, item):
        with self.lock:
            self.records.append(item)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass

    def __repr__(self):
        return "TcpServer(%s:%d)" % (self.name, self.port)


def recv_until(sock, marker, limit=1 << 20, buf=b""):
    """Reads until `marker` is in the buffer; returns (head_including_marker, rest)."""
    data = bytearray(buf)
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("eof before %r (got %r)" % (marker, bytes(data[:200])))
        data += chunk
        if len(data) > limit:
            raise ValueError("no %r within %d bytes" % (marker, limit))
    i = data.index(marker) + len(marker)
    return bytes(data[:i]), bytes(data[i:])


def read_http_request(sock, buf=b""):
    """Reads one request (head + Content-Length body) from a raw socket.

    Returns (method, target, headers {lower: value}, body, rest)."""
    head, rest = recv_until(sock, b"\r\n\r\n", buf=buf)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0") or 0)
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return method, target, headers, rest[:n], rest[n:]


class RawBackend(TcpServer):
    """Reads one request head per connection, then sends `response` bytes and closes.

    `response` may be bytes or a callable(request_head_bytes) -> bytes; `after` seconds of
    sleep before answering; response=None means "close without answering"."""

    def __init__(self, response, delay=0.0, name="raw"):
        self.response = response
        self.delay = delay
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(10)
        head, _ = recv_until(c, b"\r\n\r\n")
        self.record(head)
        if self.delay:
            time.sleep(self.delay)
        resp = self.response(head) if callable(self.response) else self.response
        if resp:
            c.sendall(resp)
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        time.sleep(0.05)


def ws_accept_key(key):
    return base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


def _ws_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def ws_encode(payload, opcode=1, mask=True, fin=True):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + _ws_mask(payload, key)
    return head + payload


class WsReader:
    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("eof in websocket frame")
            self.buf += chunk

    def frame(self):
        """Returns (opcode, payload bytes) of the next frame (unmasking if needed)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        key = None
        if b1 & 0x80:
            self._need(off + 4)
            key = bytes(self.buf[off:off + 4])
            off += 4
        self._need(off + n)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        if key:
            payload = _ws_mask(payload, key)
        return b0 & 0x0F, payload


class WsEchoBackend(TcpServer):
    """Minimal RFC 6455 server: handshake, echoes text/binary frames, answers ping and close.

    Records each handshake's request headers. A request without `Upgrade: websocket` gets a
    plain 200 "not a websocket" response."""

    def __init__(self, name="ws"):
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        method, target, headers, _, rest = read_http_request(c)
        self.record({"target": target, "headers": headers})
        if headers.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in headers:
            body = b"not a websocket\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            return
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n" % ws_accept_key(headers["sec-websocket-key"])).encode())
        r = WsReader(c, rest)
        while True:
            op, payload = r.frame()
            if op in (1, 2):
                c.sendall(ws_encode(payload, opcode=op, mask=False))
            elif op == 9:
                c.sendall(ws_encode(payload, opcode=10, mask=False))
            elif op == 8:
                c.sendall(ws_encode(payload[:2], opcode=8, mask=False))
                return


class TcpEchoBackend(TcpServer):
    """Echoes bytes as they arrive; on EOF from the peer (half-close) it sends
    b"--eof after N bytes--\\n" and then closes its side."""

    def __init__(self, name="echo"):
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        total = 0
        while True:
            data = c.recv(65536)
            if not data:
                break
            total += len(data)
            c.sendall(data)
        self.record(total)
        c.sendall(b"--eof after %d bytes--\n" % total)
        c.shutdown(socket.SHUT_WR)


def parse_proxy_header(sock, buf=b""):
    """Reads a PROXY protocol v1 or v2 header. Returns (info dict, rest of the buffer)."""
    data = bytearray(buf)

    def need(n):
        while len(data) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("eof in PROXY header (got %r)" % bytes(data))
            data.extend(chunk)

    need(6)
    if bytes(data[:6]) == b"PROXY ":
        while b"\r\n" not in data:
            need(len(data) + 1)
            if len(data) > 108:
                raise ValueError("PROXY v1 line too long")
        i = data.index(b"\r\n")
        parts = bytes(data[:i]).decode("ascii").split(" ")
        info = {"version": 1, "raw": bytes(data[:i]).decode("ascii"), "proto": parts[1]}
        if parts[1] in ("TCP4", "TCP6"):
            info.update(src=parts[2], dst=parts[3], sport=int(parts[4]), dport=int(parts[5]))
        return info, bytes(data[i + 2:])
    need(16)
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if bytes(data[:12]) != sig:
        raise ValueError("not a PROXY header: %r" % bytes(data[:16]))
    ver_cmd, fam = data[12], data[13]
    ln = struct.unpack("!H", bytes(data[14:16]))[0]
    need(16 + ln)
    body = bytes(data[16:16 + ln])
    info = {"version": 2, "command": ver_cmd & 0x0F, "family": fam}
    if fam == 0x11:  # TCP over IPv4
        s, d, sp, dp = struct.unpack("!4s4sHH", body[:12])
        info.update(proto="TCP4", src=socket.inet_ntop(socket.AF_INET, s), dst=socket.inet_ntop(socket.AF_INET, d),
                    sport=sp, dport=dp)
    elif fam == 0x21:  # TCP over IPv6
        s, d, sp, dp = struct.unpack("!16s16sHH", body[:36])
        info.update(proto="TCP6", src=socket.inet_ntop(socket.AF_INET6, s),
                    dst=socket.inet_ntop(socket.AF_INET6, d), sport=sp, dport=dp)
    return info, bytes(data[16 + ln:])


class ProxyProtoBackend(TcpServer):
    """Expects a PROXY v1/v2 header on each connection, records it, then serves HTTP/1.1
    keep-alive requests, answering JSON {"name", "proxy": <header info>, "path", "headers"}.
    With tcp=True it echoes bytes instead of speaking HTTP."""

    def __init__(self, name="pp", tcp=False):
        self.tcp = tcp
        super().__init__(self._serve, name=name)

    def _serve(self, c, srv):
        c.settimeout(30)
        try:
            info, rest = parse_proxy_header(c)
        except (ValueError, ConnectionError) as e:
            self.record({"error": str(e)})
            return
        self.record(info)
        if self.tcp:
            if rest:
                c.sendall(rest)
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
        while True:
            try:
                method, target, headers, body, rest = read_http_request(c, rest)
            except ConnectionError:
                return
            payload = json.dumps({"name": self.name, "proxy": info, "path": target, "headers": headers}).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(payload), payload))


def proxy_v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def proxy_v2(src, dst, sport, dport, command=1):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if ":" in src:
        addr = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport)
        fam = 0x21
    else:
        addr = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + struct.pack("!HH", sport, dport)
        fam = 0x11
    return sig + bytes([0x20 | command, fam]) + struct.pack("!H", len(addr)) + addr


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, version="HTTP/1.1", raw_head=b""):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.version = version
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError("response is not JSON: %d %r" % (self.status, self.body[:300]))

    def __repr__(self):
        return "<Response %s %d %r %r>" % (self.version, self.status, self.headers, self.body[:200])


def upstream_header(echo, name):
    """A request header as the JSON-echo backend saw it (None if absent; joined if repeated)."""
    vals = [v for k, v in echo["headers"] if k.lower() == name.lower()]
    return ", ".join(vals) if vals else None


def request(port, path="/", method="GET", host="app.test", headers=None, body=None, timeout=10.0,
            addr="127.0.0.1", conn=None):
    """One request with http.client. A new connection unless `conn` (HTTPConnection) is given."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data, "HTTP/1.%d" % (r.version - 10))
    finally:
        if own:
            conn.close()


def connect(port, addr="127.0.0.1", timeout=5.0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


class RawConn:
    """A raw client socket with a buffered HTTP/1 response parser. With `tls` (an
    ssl.SSLContext) the connection is TLS: SNI `sni`, resuming `session` if given; `prefix`
    bytes (e.g. a PROXY header) are sent in the clear before the handshake."""

    def __init__(self, port, addr="127.0.0.1", timeout=5.0, tls=None, sni=None, session=None, prefix=b""):
        self.sock = connect(port, addr, timeout)
        if prefix:
            self.sock.sendall(prefix)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=sni, session=session)
        self.buf = bytearray()
        self.eof = False
        _register(self)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("eof in response line/headers: %r" % bytes(self.buf[:300]))
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _read_n(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("eof in body (%d of %d bytes)" % (len(self.buf), n))
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def read_head(self, timeout=5.0):
        """Reads a status line + headers. Returns (version, status, reason, headers, raw)."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("eof before a complete response head: %r" % bytes(self.buf[:300]))
        i = self.buf.index(b"\r\n\r\n")
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError("bad status line %r" % lines[0])
        headers = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers.append((k.strip(), v.strip()))
        return parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else ""), headers, raw

    def read_response(self, head_request=False, timeout=5.0, allow_1xx=False):
        """Reads one response; skips 1xx interim responses unless allow_1xx."""
        while True:
            version, status, reason, headers, raw = self.read_head(timeout)
            if 100 <= status < 200 and status != 101 and not allow_1xx:
                continue
            break
        resp = Response(status, reason, headers, b"", version, raw)
        if head_request or 100 <= status < 200 or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                size = int(self._read_line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self._read_line() != b"":
                        pass
                    break
                body += self._read_n(size)
                if self._read_line() != b"":
                    raise AssertionError("bad chunk terminator")
            resp.body = bytes(body)
        elif resp.header("Content-Length") is not None:
            resp.body = self._read_n(int(resp.header("Content-Length")))
        else:
            while self._fill():
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def wait_closed(self, timeout=3.0):
        """True if the peer closes (EOF or reset) within timeout; extra bytes are kept in buf."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except socket.timeout:
                return False
            except OSError:
                self.eof = True
        return True

    def read_all(self, timeout=5.0):
        """Reads until EOF (or timeout); returns everything buffered."""
        self.wait_closed(timeout)
        d = bytes(self.buf)
        self.buf.clear()
        return d

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ws_handshake(port, host="app.test", path="/ws", addr="127.0.0.1"):
    """Opens a WebSocket through Ferry. Returns (RawConn, Response of the 101, WsReader)."""
    key = base64.b64encode(os.urandom(16)).decode()
    c = RawConn(port, addr)
    c.send("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, key))
    resp = c.read_response(allow_1xx=True)
    assert resp.status == 101, "expected 101, got %r" % resp
    assert resp.header("Sec-WebSocket-Accept") == ws_accept_key(key), "bad Sec-WebSocket-Accept in %r" % resp
    reader = WsReader(c.sock, bytes(c.buf))
    c.buf.clear()
    return c, resp, reader


class TlsCerts:
    """A private PKI (made with the openssl command): a root CA, an intermediate CA that issues
    server certificates (served with the intermediate, as public CAs do), and client contexts
    that trust the root. Skips the test when openssl is missing."""

    def __init__(self, name="Ferry Test"):
        if not shutil.which("openssl"):
            skip("the openssl command is not installed")
        self.dir = tmpdir()
        self.ca = os.path.join(self.dir, "root.crt")
        root_key = os.path.join(self.dir, "root.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-days", "30", "-subj", "/CN=%s Root CA" % name, "-keyout", root_key, "-out", self.ca,
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._inter = os.path.join(self.dir, "inter.crt")
        self._inter_key = os.path.join(self.dir, "inter.key")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s Intermediate CA" % name, "-keyout", self._inter_key,
                      "-out", self._inter + ".csr")
        ext = os.path.join(self.dir, "inter.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
        self._openssl("x509", "-req", "-in", self._inter + ".csr", "-CA", self.ca, "-CAkey", root_key,
                      "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", self._inter)
        self._n = 0

    def _openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.strip()))

    def issue(self, cn, sans=None, days=30):
        """A PEM file (leaf certificate, the intermediate, then the key) for `cn` with DNS SANs
        `sans` (default [cn]); returns its path. The CN makes each certificate recognisable."""
        self._n += 1
        base = os.path.join(self.dir, "leaf%d" % self._n)
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s" % cn, "-keyout", base + ".key", "-out", base + ".csr")
        with open(base + ".ext", "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in (sans or [cn])))
        self._openssl("x509", "-req", "-in", base + ".csr", "-CA", self._inter, "-CAkey", self._inter_key,
                      "-CAcreateserial", "-days", str(days), "-extfile", base + ".ext", "-out", base + ".crt")
        path = base + ".pem"
        with open(path, "w") as f:
            f.write(open(base + ".crt").read() + open(self._inter).read() + open(base + ".key").read())
        return path

    def client(self, minimum=None, maximum=None, verify=True):
        """An ssl.SSLContext trusting this CA (TLS versions as ssl.TLSVersion)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(self.ca)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
        return ctx


def peer_cn(conn):
    """The CN of the certificate a TLS RawConn was shown."""
    cert = conn.sock.getpeercert()
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


# ----------------------------------------------------------------------------------------------
# Load helpers
# ----------------------------------------------------------------------------------------------

def timed_request(port, **kw):
    t0 = time.monotonic()
    r = request(port, **kw)
    return r, (time.monotonic() - t0) * 1000.0


class FloodProcess:
    """`harness.py flood` in a child process: N client threads hammering host:port for S seconds,
    new connection per request. After finish(), .stats holds counts by status."""

    def __init__(self, port, host, clients, seconds, path="/"):
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "harness.py"), "flood", "--port", str(port),
                                      "--host", host, "--clients", str(clients), "--seconds", str(seconds),
                                      "--path", path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
        self.stats = None
        _register(self)

    def finish(self, timeout=60):
        out, _ = self.proc.communicate(timeout=timeout)
        self.stats = json.loads(out.decode().strip().splitlines()[-1])
        return self.stats

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _flood(port, host, clients, seconds, path):
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    stats = {"requests": 0, "by_status": {}, "retry_after": 0, "errors": 0, "error_samples": []}

    def worker():
        while time.monotonic() < stop_at:
            try:
                r = request(port, path=path, host=host, timeout=15)
                with lock:
                    stats["requests"] += 1
                    k = str(r.status)
                    stats["by_status"][k] = stats["by_status"].get(k, 0) + 1
                    if r.status == 503 and r.header("Retry-After"):
                        stats["retry_after"] += 1
                if r.status != 200:
                    time.sleep(0.02)
            except Exception as e:
                with lock:
                    stats["errors"] += 1
                    if len(stats["error_samples"]) < 5:
                        stats["error_samples"].append(repr(e))
                time.sleep(0.02)

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(stats), flush=True)


def _cli():
    import argparse
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("http-backend")
    b.add_argument("--name", required=True)
    b.add_argument("--delay", type=float, default=0.0)
    b.add_argument("--status", type=int, default=200)
    f = sub.add_parser("flood")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--host", required=True)
    f.add_argument("--clients", type=int, default=40)
    f.add_argument("--seconds", type=float, default=5)
    f.add_argument("--path", default="/")
    a = ap.parse_args()
    if a.cmd == "http-backend":
        be = HttpBackend(a.name, delay=a.delay, status=a.status)
        print("PORT %d" % be.port, flush=True)
        # Exit when the parent goes away (stdout closed) or on a signal.
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        while True:
            time.sleep(3600)
    elif a.cmd == "flood":
        _flood(a.port, a.host, a.clients, a.seconds, a.path)


if __name__ == "__main__":
    _cli()


# ----------------------------------------------------------------------------------------------
# Peer proxies (HAProxy, nginx) run by a test, e.g. for differential tests
# ----------------------------------------------------------------------------------------------

class PeerProcess:
    """Another server program run in the foreground by a test (HAProxy `-db`, nginx `daemon off;
    master_process off;`): started by PID with its output in `log_path`, ready once every port in
    `ports` (127.0.0.1) accepts a connection, stopped by PID (SIGTERM, then SIGKILL after 5 s).
    The ports are chosen by the caller (free_port_closed(): the program binds them itself); if the
    program exits before it is ready, start() returns False (e.g. a port taken meanwhile) and the
    caller may retry with other ports."""

    def __init__(self, name, argv, ports, log_path, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.ports = list(ports)
        self.log_path = log_path
        self.cwd = cwd or tmpdir()
        self.proc = None
        self._logf = None
        _register(self)

    def start(self, timeout=10.0):
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, cwd=self.cwd)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5).close()
                pending.pop(0)
                continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("%s (pid %d) not accepting on %r within %.0fs; log:\n%s"
                                     % (self.name, self.pid, pending, timeout, self.log[-2000:]))
            time.sleep(0.02)
        return True

    @property
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._logf:
            self._logf.close()
            self._logf = None

    def __repr__(self):
        return "PeerProcess(%s pid=%s)" % (self.name, self.proc.pid if self.proc else None)
