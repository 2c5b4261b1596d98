"""Load for tests: timed requests, and a flood of new-connection requests from a child process
(`python3 -m ferrykit flood`, so the load does not share the test's GIL)."""

import json
import subprocess
import threading
import time

from ferrykit.suite import kit_process, register
from ferrykit.wire import request


def timed_request(port, **kw):
    t0 = time.monotonic()
    r = request(port, **kw)
    return r, (time.monotonic() - t0) * 1000.0


class FloodProcess:
    """`python3 -m ferrykit flood` in a child process: N client threads hammering host:port for S seconds,
    new connection per request. After finish(), .stats holds counts by status."""

    def __init__(self, port, host, clients, seconds, path="/"):
        self.proc = kit_process(["flood", "--port", str(port), "--host", host, "--clients", str(clients),
                                 "--seconds", str(seconds), "--path", path],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
        self.stats = None
        register(self)

    def finish(self, timeout=60):
        out, _ = self.proc.communicate(timeout=timeout)
        self.stats = json.loads(out.decode().strip().splitlines()[-1])
        return self.stats

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def flood(port, host, clients, seconds, path):
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
