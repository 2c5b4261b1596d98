"""Load for tests: timed requests, a flood of new-connection requests from a child process
(`python3 -m ferrykit flood`, so the load does not share the test's GIL), and h2load runs."""

import json
import re
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


def h2load(url, n=5000, c=4, m=20):
    """Runs `h2load -n N -c C -m M` against `url` (:authority a.test). Returns (its output,
    [total, started, done, succeeded, failed, errored, timeout], [2xx, 3xx, 4xx, 5xx],
    requests per second, the application protocol or None). AssertionError if h2load fails or
    its summary is missing; the caller checks that h2load is installed (suite.need_tool)."""
    out = subprocess.run(["h2load", "-n", str(n), "-c", str(c), "-m", str(m), "-H", ":authority: a.test", url],
                         capture_output=True, timeout=60)
    text = out.stdout.decode("latin-1")
    assert out.returncode == 0, (out.returncode, text[-1500:], out.stderr[-500:])
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                    r"(\d+) errored, (\d+) timeout", text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    fin = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    proto = re.search(r"Application protocol: (\S+)", text)
    assert req and codes and fin, text[-1500:]
    return text, [int(x) for x in req.groups()], [int(x) for x in codes.groups()], float(fin.group(3)), \
        proto.group(1) if proto else None
