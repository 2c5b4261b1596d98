"""Other programs a test runs in the foreground (HAProxy, nginx, Pebble, Prometheus, ...):
started and stopped by PID, output in a log file in the test's temporary directory."""

import signal
import socket
import subprocess
import time

from ferrykit.suite import register, tmpdir


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
        register(self)

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
