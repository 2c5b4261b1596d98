"""The ferryd runner: Ferry(config_text) starts the real ferryd on a config file in the test's
temporary directory, reads its log (listening ports, ready, reload results), reloads it with
SIGHUP, stops it by PID; run_ferryd() runs it to completion (`-c`, `--hash-password`, ...).

Threads: a Ferry is driven from the test's thread. Errors: AssertionError when ferryd exits
before it is ready, is not ready in time, or a reload result does not come."""

import os
import re
import signal
import subprocess
import time

from ferrykit.procs import read_log, terminate
from ferrykit.suite import ferryd_path, register, register_ferry, tmpdir, wait_until
from ferrykit.wire import request

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
        register(self)
        register_ferry(self)
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
        return read_log(self.log_path)

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
        terminate(self.proc, grace=10.0)
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


_password_hashes = {}


def hash_password(password):
    """`ferryd --hash-password` of `password` (the line it prints), run once per password and
    process: scrypt is slow on purpose. AssertionError if ferryd fails."""
    if password not in _password_hashes:
        p = subprocess.run([ferryd_path(), "--hash-password"], input=(password + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        lines = [l.strip() for l in p.stdout.decode().splitlines() if l.strip()]
        assert p.returncode == 0 and lines, "ferryd --hash-password failed (%d): %r %r" % (
            p.returncode, p.stdout, p.stderr)
        _password_hashes[password] = lines[-1]
    return _password_hashes[password]


# Prometheus text exposition (GET /metrics on the admin listener)

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape_metrics(f, timeout=10.0):
    """(status, content type, body text) of GET /metrics on the admin listener of Ferry `f`."""
    r = request(f.admin_port, "/metrics", host="127.0.0.1:%d" % f.admin_port, timeout=timeout)
    return r.status, r.header("Content-Type"), r.body.decode()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of every sample line; AssertionError on a
    line that is not a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        assert m, "unparsable sample line %r" % line
        labels = frozenset(_LABEL_RE.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric_value(samples, name, **labels):
    """The value of sample `name` with exactly these labels in parse_metrics() output; 0 if absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)
