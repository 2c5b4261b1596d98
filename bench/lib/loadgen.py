"""Load generators: wrk (HTTP/1.1) and curl (bulk download), with their output parsed."""
import os
import re
import subprocess
import tempfile

from procs import pinned, run

_UNITS_T = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}   # -> ms
_UNITS_B = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * _UNITS_T[m.group(2)]


def _bytes(text):
    m = re.match(r"([\d.]+)(B|KB|MB|GB|TB)$", text)
    return float(m.group(1)) * _UNITS_B[m.group(2)]


def parse_wrk(out):
    r = {"errors": 0, "non2xx": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+\w+) read", out)
    if not m:
        raise RuntimeError("cannot parse wrk output:\n" + out)
    r["requests"] = int(m.group(1))
    secs = _ms(m.group(2) + m.group(3)) / 1e3
    r["seconds"] = secs
    r["bytes"] = _bytes(m.group(4))
    r["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    r["mib_s"] = r["bytes"] / secs / 2 ** 20
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        if m:
            r["p" + pct] = _ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def wrk_argv(url, conns, secs, headers=(), threads=1, latency=True):
    argv = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs, "--timeout", "10s"]
    if latency:
        argv.append("--latency")
    for h in headers:
        argv += ["-H", h]
    return argv + [url]


def wrk(url, conns, secs, cpus, headers=(), threads=1):
    out, _ = run(wrk_argv(url, conns, secs, headers, threads), cpus=cpus, timeout=secs + 60)
    return parse_wrk(out)


def wrk_background(url, conns, secs, cpus, headers=(), threads=1):
    """Start wrk without waiting; finish with wrk_finish(popen)."""
    return subprocess.Popen(pinned(cpus, wrk_argv(url, conns, secs, headers, threads)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wrk_finish(popen, timeout=120):
    out, _ = popen.communicate(timeout=timeout)
    return parse_wrk(out.decode("utf-8", "replace"))


def parse_h2load(out):
    m = re.search(r"finished in ([\d.]+)(\w+), ([\d.]+) req/s, ([\d.]+)(\w+)/s", out)
    if not m:
        raise RuntimeError("cannot parse h2load output:\n" + out)
    r = {"seconds": _ms(m.group(1) + m.group(2)) / 1e3, "rps": float(m.group(3)),
         "mib_s": _bytes(m.group(4) + m.group(5)) / 2 ** 20}
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    r["requests"] = int(m.group(2))
    r["errors"] = int(m.group(4)) + int(m.group(5))
    m = re.search(r"status codes: (\d+) 2xx", out)
    # With -D, h2load can count one more 2xx than requests done (a response finishing as the
    # duration ends): never a negative count.
    r["non2xx"] = max(0, r["requests"] - int(m.group(1))) if m else 0
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        r["mean"] = _ms(m.group(3))
    return r


def h2load(url, conns, streams, secs, cpus, log_dir=None):
    """HTTP/2 load for `secs` seconds: `conns` connections with `streams` concurrent streams each.
    With `log_dir`, h2load logs every request's time, from which p50 and p99 (ms) are added."""
    argv = ["h2load", "-c", str(conns), "-m", str(streams), "-D", str(secs)]
    log = None
    if log_dir:
        fd, log = tempfile.mkstemp(prefix="h2load-", suffix=".log", dir=log_dir)
        os.close(fd)
        argv += ["--log-file", log]
    out, _ = run(argv + [url], cpus=cpus, timeout=secs + 60)
    r = parse_h2load(out)
    if log:
        r.update(_h2load_percentiles(log))
        os.unlink(log)
    return r


def _h2load_percentiles(path):
    """h2load --log-file lines are `start(us)<TAB>status<TAB>duration(us)`."""
    times = sorted(int(line.split()[2]) for line in open(path) if line.count("\t") >= 2)
    if not times:
        return {}
    at = lambda q: times[min(len(times) - 1, int(q * len(times)))] / 1e3  # noqa: E731
    return {"p50": at(0.50), "p99": at(0.99)}


def h2load_close(url, conns, requests, cpus):
    """HTTP/1.1 over TLS, one request per connection (`Connection: close`): h2load opens a new
    connection for each and never resumes a TLS session, so every one is a full handshake."""
    out, _ = run(["h2load", "--h1", "-c", str(conns), "-n", str(requests), "-H", "Connection: close", url],
                 cpus=cpus, timeout=600)
    return parse_h2load(out)


def curl_download(url, cpus, timeout=300):
    """Download url to /dev/null; returns {'mib_s', 'bytes', 'seconds'}."""
    out, _ = run(["curl", "-sS", "-o", "/dev/null", "--max-time", str(timeout),
                  "-w", "%{size_download} %{time_total} %{http_code}\n", url], cpus=cpus,
                 timeout=timeout + 10)
    size, secs, code = out.split()[-3:]
    if code != "200":
        raise RuntimeError("curl %s: HTTP %s" % (url, code))
    size, secs = float(size), float(secs)
    return {"bytes": size, "seconds": secs, "mib_s": size / secs / 2 ** 20}
