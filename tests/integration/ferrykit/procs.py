"""Other programs a test runs in the foreground (Pebble, Prometheus, HAProxy, nginx, ...):
started and stopped by PID, their output in a log file, closed after the test.

Driven from the test's thread. Errors: AssertionError when a PeerProcess does not accept on
its ports in time."""

import signal
import socket
import subprocess
import time

from ferrykit.suite import register, tmpdir


def read_log(path):
    """The text of the log file `path` so far ("" before it exists)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def terminate(proc, sig=signal.SIGTERM, grace=5.0):
    """Stops the child `proc` (a subprocess.Popen) if it still runs: `sig`, then SIGKILL if it
    has not exited within `grace` seconds."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class ChildProcess:
    """`args` run as a child process (started at once unless start=False), stdout and stderr
    appended to `log_path`; registered with the running test. close() sends `stop` (SIGTERM by
    default; SIGKILL for programs whose shutdown is not under test), then SIGKILL after 5 s."""

    def __init__(self, args, log_path, env=None, cwd=None, stop=signal.SIGTERM, start=True):
        self.argv = list(args)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop
        self.proc = None
        self.pid = None
        self._logf = None
        register(self)
        if start:
            self.start()

    def start(self):
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, cwd=self.cwd, env=self.env)
        self.pid = self.proc.pid
        return self

    @property
    def log(self):
        return read_log(self.log_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        terminate(self.proc, self.stop_signal)
        if self._logf:
            self._logf.close()
            self._logf = None

    def __repr__(self):
        return "%s(%s pid=%s)" % (type(self).__name__, self.argv[0], self.pid)


class PeerProcess(ChildProcess):
    """Another server program run in the foreground by a test (HAProxy `-db`, nginx `daemon off;
    master_process off;`): started by start() with its output in `log_path`, ready once every
    port in `ports` (127.0.0.1) accepts a connection, stopped by PID (SIGTERM, then SIGKILL
    after 5 s). The ports are chosen by the caller (free_port_closed(): the program binds them
    itself); if the program exits before it is ready, start() returns False (e.g. a port taken
    meanwhile) and the caller may retry with other ports."""

    def __init__(self, name, argv, ports, log_path, cwd=None):
        self.name = name
        self.ports = list(ports)
        super().__init__(argv, log_path, cwd=cwd or tmpdir(), start=False)

    def start(self, timeout=10.0):
        super().start()
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

    def __repr__(self):
        return "PeerProcess(%s pid=%s)" % (self.name, self.pid)
