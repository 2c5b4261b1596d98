"""Processes, ports, CPU pinning, RSS and machine load for the benchmark harness.

Everything the harness starts goes through `Proc`, which remembers the PID; cleanup stops
exactly those PIDs (SIGTERM, then SIGKILL), never processes found by name.
"""
import os
import random
import signal
import socket
import subprocess
import time

_started = []  # every Proc still alive, for cleanup at exit


def free_ports(n, lo=20000, hi=32000):
    """n distinct TCP ports on 127.0.0.1 that are free right now (below the ephemeral range)."""
    ports = []
    tries = 0
    while len(ports) < n:
        tries += 1
        if tries > 10000:
            raise RuntimeError("could not find %d free ports" % n)
        p = random.randint(lo, hi)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        ports.append(p)
    return ports


def wait_port(port, timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited (%s) before listening on %d; log: %s"
                               % (proc.name, proc.poll(), port, proc.log_tail()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on 127.0.0.1:%d after %.0fs" % (port, timeout))


def pinned(cpus, argv):
    """argv prefixed with `taskset -c CPUS` (cpus: '1', '0', '0-1'; None = no pinning)."""
    return (["taskset", "-c", cpus] if cpus else []) + list(argv)


class Proc:
    """A process we started: name, PID, log file. stop() ends it (and only it)."""

    def __init__(self, name, argv, log_path, cpus=None, cwd=None, env=None):
        self.name = name
        self.argv = pinned(cpus, argv)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, cwd=cwd, env=env)
        self.pid = self.popen.pid  # taskset execs the program: same PID
        self.t_start = time.monotonic()
        _started.append(self)

    def poll(self):
        return self.popen.poll()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=15):
        return "\n".join(self.log_text().splitlines()[-n:])

    def wait_log(self, needle, timeout=60.0):
        """Seconds from start until `needle` appears in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return time.monotonic() - self.t_start
            if self.poll() is not None:
                raise RuntimeError("%s exited (%s) before '%s':\n%s"
                                   % (self.name, self.poll(), needle, self.log_tail()))
            time.sleep(0.01)
        raise RuntimeError("%s: no '%s' within %.0fs:\n%s" % (self.name, needle, timeout, self.log_tail()))

    def rss_kib(self):
        """VmRSS of this process plus its direct children (KiB)."""
        return sum(rss_kib(p) for p in [self.pid] + children(self.pid))

    def cpu_seconds(self):
        """(user, system) CPU seconds of this process and its direct children (all threads)."""
        u = k = 0.0
        for p in [self.pid] + children(self.pid):
            pu, pk = cpu_seconds(p)
            u, k = u + pu, k + pk
        return u, k

    def stop(self, timeout=10.0):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()
        if self in _started:
            _started.remove(self)


def stop_all():
    for p in list(reversed(_started)):
        try:
            p.stop(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cpu_seconds(pid):
    """(utime, stime) of a process in seconds, from /proc/PID/stat; (0, 0) if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tck, int(fields[12]) / tck  # fields 14 and 15 of stat(5)
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_quiet(limit=1.0, max_wait=600, step=60, say=print):
    """Wait (up to max_wait s) for the 1-minute load to drop to `limit`. Returns (load, waited s)."""
    waited = 0
    load = loadavg()
    while load > limit and waited < max_wait:
        say("  machine busy: load %.2f > %.1f, waiting %ds (waited %ds of %ds)"
            % (load, limit, step, waited, max_wait))
        time.sleep(step)
        waited += step
        load = loadavg()
    if load > limit:
        say("  proceeding anyway with load %.2f (results will be noisier)" % load)
    return load, waited


def run(argv, cpus=None, timeout=None, check=True):
    """Run a short command to completion; returns (stdout text, elapsed s)."""
    t0 = time.monotonic()
    r = subprocess.run(pinned(cpus, argv), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    dt = time.monotonic() - t0
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode,
                                                     r.stdout.decode()[-2000:], r.stderr.decode()[-2000:]))
    return r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace"), dt
