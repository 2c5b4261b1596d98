"""The benchmark scenarios. Each is one function registered with @scenario.

A scenario receives the run context `ctx` and records numbers with
    ctx.record(SCENARIO_KEY, METRIC, TARGET, value, unit, better)
where `better` is "higher" or "lower". Rounds are interleaved: for each round, every target in
turn (ABCABC), so slow drifts of the shared machine hit every proxy alike.

To add one (e.g. TLS, HTTP/2 with h2load, the mesh): write a function here, decorate it with
@scenario("name", "title"), use ctx.stack() for the standard upstream + proxies, or
start_proxy()/start_upstream() from stack.py for instances of its own, and stop what you start.
"""
import base64
import os
import socket
import subprocess
import time

import configs
import loadgen
from procs import Proc, free_ports, run, wait_port
from stack import HERE, PYTHON, Target, make_tls_cert, start_proxy, start_slow_upstream

REGISTRY = {}  # name -> (number, title, function, default)


def scenario(name, title, number=None, default=True):
    def register(fn):
        REGISTRY[name] = (number, title, fn, default)
        return fn
    return register


def _wrk_rounds(ctx, key, path="/", conns=32, headers=(), metrics=("rps", "p50", "p99"), tls=False):
    """The common shape: for each round, for each standard target, one wrk run. `tls`: over
    each proxy's HTTPS listener (the plain upstream, 'direct', has none and is left out)."""
    units = {"rps": ("req/s", "higher"), "p50": ("ms", "lower"), "p99": ("ms", "lower"),
             "mib_s": ("MiB/s", "higher")}
    targets = [t for t in ctx.stack() if t.tls_port or not tls]
    for r in range(ctx.rounds):
        for t in targets:
            ctx.warm(t)
            cpu0 = t.proc.cpu_seconds() if t.proc else None
            res = loadgen.wrk(t.tls_url(path) if tls else t.url(path), conns, ctx.secs, ctx.load_cpus, headers)
            cpu = _record_cpu(ctx, key, t, cpu0, res["requests"])
            ctx.say("  %-14s round %d %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %8.1f MiB/s%s%s"
                    % (key, r + 1, t.name, res["rps"], res.get("p50", 0), res.get("p99", 0),
                       res["mib_s"], cpu, _errs(res)))
            for m in metrics:
                ctx.record(key, m, t.name, res[m], *units[m])
            ctx.record(key, "errors", t.name, res["errors"] + res["non2xx"], "count", "lower")


def _record_cpu(ctx, key, t, cpu0, requests):
    """Where the proxy's time went per request since `cpu0`: user space (its code) vs kernel
    (syscalls, TCP). Records both and returns them as text for the progress line."""
    if not cpu0 or not requests:
        return ""
    u1, k1 = t.proc.cpu_seconds()
    us_user = (u1 - cpu0[0]) * 1e6 / requests
    us_sys = (k1 - cpu0[1]) * 1e6 / requests
    ctx.record(key, "cpu user us/req", t.name, us_user, "us", "lower")
    ctx.record(key, "cpu sys us/req", t.name, us_sys, "us", "lower")
    return "  cpu/req user %5.1f us sys %5.1f us" % (us_user, us_sys)


def _errs(res):
    n = res["errors"] + res["non2xx"]
    return ("  ERRORS %d (socket %d, non-2xx %d)" % (n, res["errors"], res["non2xx"])) if n else ""


@scenario("ka", "HTTP/1.1 keep-alive, 24-byte response", 1)
def keep_alive(ctx):
    for conns in (32, 256):
        _wrk_rounds(ctx, "ka-c%d" % conns, "/", conns)


@scenario("close", "HTTP/1.1 Connection: close per request (32 connections)", 2)
def conn_close(ctx):
    _wrk_rounds(ctx, "close-c32", "/", 32, headers=("Connection: close",))


@scenario("big", "64 KiB responses, keep-alive (32 connections)", 3)
def big(ctx):
    _wrk_rounds(ctx, "64k-c32", "/64k", 32, metrics=("rps", "mib_s", "p99"))


@scenario("tls", "HTTPS keep-alive (TLS 1.3, ECDSA P-256, 32 connections, 24-byte response)", 8)
def tls_keep_alive(ctx):
    _wrk_rounds(ctx, "tls-ka-c32", "/", 32, tls=True)


@scenario("tls-hs", "HTTPS with a new TLS connection per request (Connection: close; wrk "
                    "resumes the previous session, 32 connections)", 9)
def tls_handshakes(ctx):
    _wrk_rounds(ctx, "tls-hs-c32", "/", 32, headers=("Connection: close",), tls=True)


@scenario("tls-full", "HTTPS with a full TLS handshake per request (h2load --h1, Connection: close, "
                      "no session resumption, 32 connections)", 13)
def tls_full(ctx):
    """h2load never resumes, so each request is a full TLS 1.3 handshake (X25519 + an ECDSA
    P-256 signature). The client side of a full handshake costs about as much as the server
    side, so one load CPU may not saturate the proxy's: `proxy cpu %` says how busy the proxy
    was, and the CPU per handshake (user + kernel) is the comparable figure when it is < 100."""
    key = "tls-full-c32"
    targets = [t for t in ctx.stack() if t.tls_port]
    n = max(500, 600 * ctx.secs)
    for r in range(ctx.rounds):
        for t in targets:
            ctx.warm(t)
            cpu0 = t.proc.cpu_seconds()
            res = loadgen.h2load_close(t.tls_url("/"), 32, n, ctx.load_cpus)
            u1, k1 = t.proc.cpu_seconds()
            cpu = _record_cpu(ctx, key, t, cpu0, res["requests"])
            busy = 100.0 * ((u1 - cpu0[0]) + (k1 - cpu0[1])) / res["seconds"]
            per = ((u1 - cpu0[0]) + (k1 - cpu0[1])) * 1e6 / max(1, res["requests"])
            ctx.say("  %-14s round %d %-8s %9.0f hs/s  proxy cpu %5.1f %%  %6.0f us/handshake%s%s"
                    % (key, r + 1, t.name, res["rps"], busy, per, cpu, _errs(res)))
            ctx.record(key, "rps", t.name, res["rps"], "handshakes/s", "higher")
            ctx.record(key, "cpu us/handshake", t.name, per, "us", "lower")
            ctx.record(key, "proxy cpu %", t.name, busy, "%", "lower")
            ctx.record(key, "errors", t.name, res["errors"] + res["non2xx"], "count", "lower")


@scenario("h2", "HTTP/2 downstream with h2load (32 connections x 10 streams, 24-byte response, "
                "HTTP/1.1 upstream), over TLS and cleartext (h2c, prior knowledge)", 10)
def h2(ctx):
    targets = [t for t in ctx.stack() if t.tls_port]
    for key, url in (("h2-tls-c32-m10", lambda t: t.tls_url("/")), ("h2c-c32-m10", lambda t: t.h2c_url("/"))):
        for r in range(ctx.rounds):
            for t in targets:
                ctx.warm(t)
                cpu0 = t.proc.cpu_seconds()
                res = loadgen.h2load(url(t), 32, 10, ctx.secs, ctx.load_cpus, log_dir=ctx.tmp)
                cpu = _record_cpu(ctx, key, t, cpu0, res["requests"])
                ctx.say("  %-14s round %d %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms%s%s"
                        % (key, r + 1, t.name, res["rps"], res.get("p50", 0), res.get("p99", 0), cpu, _errs(res)))
                ctx.record(key, "rps", t.name, res["rps"], "req/s", "higher")
                ctx.record(key, "p50", t.name, res.get("p50", 0), "ms", "lower")
                ctx.record(key, "p99", t.name, res.get("p99", 0), "ms", "lower")
                ctx.record(key, "errors", t.name, res["errors"] + res["non2xx"], "count", "lower")


@scenario("tcp", "Raw TCP mode: bulk download through the TCP proxy (curl of a sparse file)", 4)
def tcp(ctx):
    key = "tcp-bulk"
    # Warm-up straight from the upstream: the first read of the fresh sparse file fills the page
    # cache (seconds for 1 GiB), which would otherwise be charged to whichever proxy goes first.
    loadgen.curl_download("http://127.0.0.1:%d/big" % ctx.upstream_port(), ctx.load_cpus)
    for r in range(ctx.rounds):
        for t in ctx.stack():
            url = t.tcp_url("/big") if t.tcp_port else t.url("/big")
            res = loadgen.curl_download(url, ctx.load_cpus)
            ctx.say("  %-14s round %d %-8s %8.0f MiB/s (%.0f MiB in %.2f s)"
                    % (key, r + 1, t.name, res["mib_s"], res["bytes"] / 2 ** 20, res["seconds"]))
            ctx.record(key, "mib_s", t.name, res["mib_s"], "MiB/s", "higher")


@scenario("routing", "Routing scale: Ferry with 100,000 apps vs 1 app (matching host: a.test "
                    "in the 1-app config, app50000.test in the 100,000-app one)", 5)
def routing(ctx):
    key = "routing"
    n = ctx.routing_apps
    many = configs.ferry_many_apps(n)
    up = ctx.upstream_port()
    mid = "app%d.test" % (n // 2)
    for r in range(ctx.rounds):
        # `ferryd -c` on the big config (the file of the instance started below)
        small = start_proxy(ctx, "ferry", up, tag="1app-r%d" % r)
        large = start_proxy(ctx, "ferry", up, tag="%dapps-r%d" % (n, r), ferry_apps=many)
        out, check_s = run([ctx.ferryd, "-c", "-f", large.config], cpus=ctx.proxy_cpus, check=False)
        ctx.record(key, "ferryd -c time", "%d apps" % n, check_s, "s", "lower")
        _, check1_s = run([ctx.ferryd, "-c", "-f", small.config], cpus=ctx.proxy_cpus, check=False)
        ctx.record(key, "ferryd -c time", "1 app", check1_s, "s", "lower")
        ctx.record(key, "start to ready", "%d apps" % n, large.ready_s, "s", "lower")
        ctx.record(key, "start to ready", "1 app", small.ready_s, "s", "lower")
        ctx.record(key, "RSS after ready", "%d apps" % n, large.proc.rss_kib() / 1024, "MiB", "lower")
        ctx.record(key, "RSS after ready", "1 app", small.proc.rss_kib() / 1024, "MiB", "lower")
        size = os.path.getsize(large.config)
        runs = [("1 app", small, "a.test", "matching host"),
                ("%d apps" % n, large, mid, "matching host"),
                ("1 app", small, "nomatch.test", "no matching host (default-app)"),
                ("%d apps" % n, large, "nomatch.test", "no matching host (default-app)")]
        for col, t, host, what in runs:
            loadgen.wrk(t.url(), 32, 1, ctx.load_cpus, headers=("Host: " + host,))  # warm-up
            res = loadgen.wrk(t.url(), 32, ctx.secs, ctx.load_cpus, headers=("Host: " + host,))
            ctx.say("  %-14s round %d %-11s Host %-16s %9.0f req/s  p99 %6.2f ms%s"
                    % (key, r + 1, col, host, res["rps"], res["p99"], _errs(res)))
            ctx.record(key, "rps, " + what, col, res["rps"], "req/s", "higher")
            ctx.record(key, "p99, " + what, col, res["p99"], "ms", "lower")
        ctx.say("  %-14s round %d ferryd -c %.2f s, ready %.2f s vs %.2f s (1 app), RSS %.0f vs %.0f MiB, "
                "config %.1f MiB" % (key, r + 1, check_s, large.ready_s, small.ready_s,
                                     large.proc.rss_kib() / 1024, small.proc.rss_kib() / 1024, size / 2 ** 20))
        if "error" in out:
            ctx.note(key, "ferryd -c reported: " + out.strip().splitlines()[-1])
        for col, t in (("%d apps" % n, large), ("1 app", small)):
            ctx.record(key, "RSS after load", col, t.proc.rss_kib() / 1024, "MiB", "lower")
        large.stop()
        small.stop()


@scenario("memory", "Memory: RSS holding 10,000 idle keep-alive client connections, plain and TLS", 6)
def memory(ctx):
    n = ctx.idle_conns
    up = ctx.upstream_port()
    cert = make_tls_cert(ctx)
    for key, tls in (("memory", False), ("memory-tls", True)):
        _memory_rounds(ctx, key, n, up, cert if tls else None)


def _memory_rounds(ctx, key, n, up, cert):
    for r in range(ctx.rounds):
        for kind in ctx.proxies:
            t = start_proxy(ctx, kind, up, tag="mem-r%d%s" % (r, "-tls" if cert else ""), tls_cert=cert)
            loadgen.wrk(t.url(), 32, 1, ctx.load_cpus)   # warm-up: allocator caches, upstream pool
            time.sleep(0.5)
            base = t.proc.rss_kib()
            argv = [PYTHON, os.path.join(HERE, "idle_client.py"), str(t.tls_port if cert else t.http_port), str(n)]
            client = subprocess.Popen(["taskset", "-c", ctx.load_cpus] + argv + (["--tls"] if cert else []),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            line = client.stdout.readline().split()
            held = int(line[1]) if line and line[0] == "holding" else 0
            time.sleep(float(os.environ.get("BENCH_MEM_SETTLE", "1.0")))
            loaded = t.proc.rss_kib()
            alive = t.proc.poll() is None
            client.stdin.close()
            client.terminate()
            client.wait(10)
            t.stop()
            ctx.say("  %-14s round %d %-8s RSS %6.1f MiB idle, %6.1f MiB with %d connections (%.1f KiB each)%s"
                    % (key, r + 1, kind, base / 1024, loaded / 1024, held,
                       (loaded - base) / max(held, 1), "" if held == n and alive else
                       "  WARNING: only %d held, proxy %s" % (held, "alive" if alive else "died")))
            ctx.record(key, "RSS idle (after warm-up)", kind, base / 1024, "MiB", "lower")
            ctx.record(key, "RSS with %d idle conns" % n, kind, loaded / 1024, "MiB", "lower")
            ctx.record(key, "KiB per idle conn", kind, (loaded - base) / max(held, 1), "KiB", "lower")
            ctx.record(key, "conns held", kind, held, "count", "higher")


ISO_FERRY_APPS = """backend slowb
    pool-max-idle {pool}
    server slow1 127.0.0.1:{slow}

app slow
    hosts slow.test
    backend slowb
    concurrency hard {limit} queue {queue}

app fast
    hosts fast.test
    backend b
"""

ISO_HAPROXY_FRONTEND = """    acl is_slow hdr(host) -i slow.test
    use_backend slowb if is_slow
"""

ISO_HAPROXY_BACKEND = """
backend slowb
    http-reuse always
    server slow1 127.0.0.1:{slow} maxconn {limit} maxqueue {queue}
"""


@scenario("isolation", "Per-app isolation: a fast app's latency while another app is saturated", 7)
def isolation(ctx):
    """App `slow` (upstream answering after 100 ms, budget hard 64 + queue) is flooded by 1000
    connections; app `fast` (the nginx upstream) gets 32 connections. Ferry: `concurrency hard
    64 queue 2000`; HAProxy: server `maxconn 64 maxqueue 2000` (its per-backend queue). nginx has
    no request queue in the open-source version (max_conns without a queue would answer 502),
    so it is not part of this scenario."""
    key = "isolation"
    limit, queue, slow_conns, delay = 64, 2000, ctx.iso_slow_conns, 100
    slow_port, slow_proc = start_slow_upstream(ctx, delay)
    up = ctx.upstream_port()
    fmt = dict(pool=configs.POOL, slow=slow_port, limit=limit, queue=queue)
    targets = [start_proxy(ctx, "ferry", up, tag="iso", ferry_apps=ISO_FERRY_APPS.format(**fmt))]
    if "haproxy" in ctx.proxies:
        targets.append(start_proxy(ctx, "haproxy", up, tag="iso", haproxy_frontend=ISO_HAPROXY_FRONTEND,
                                   haproxy_extra=ISO_HAPROXY_BACKEND.format(**fmt)))
    try:
        for r in range(ctx.rounds):
            for t in targets:
                if not t.warmed:
                    loadgen.wrk(t.url(), 32, 1, ctx.load_cpus, headers=("Host: fast.test",))
                    t.warmed = True
                alone = loadgen.wrk(t.url(), 32, ctx.secs, ctx.load_cpus, headers=("Host: fast.test",))
                flood = loadgen.wrk_background(t.url(), slow_conns, ctx.secs + 3, ctx.load_cpus,
                                               headers=("Host: slow.test",))
                time.sleep(1.5)   # let the slow app's budget fill and its queue build
                busy = loadgen.wrk(t.url(), 32, ctx.secs, ctx.load_cpus, headers=("Host: fast.test",))
                slow = loadgen.wrk_finish(flood)
                ctx.say("  %-14s round %d %-8s fast app p99 %6.2f ms alone, %6.2f ms with slow app saturated "
                        "(%.0f vs %.0f req/s); slow app %.0f req/s, p99 %.0f ms, %d errors"
                        % (key, r + 1, t.name, alone["p99"], busy["p99"], alone["rps"], busy["rps"],
                           slow["rps"], slow["p99"], slow["errors"] + slow["non2xx"]))
                ctx.record(key, "fast app p99, alone", t.name, alone["p99"], "ms", "lower")
                ctx.record(key, "fast app p99, slow app saturated", t.name, busy["p99"], "ms", "lower")
                ctx.record(key, "fast app rps, alone", t.name, alone["rps"], "req/s", "higher")
                ctx.record(key, "fast app rps, slow app saturated", t.name, busy["rps"], "req/s", "higher")
                ctx.record(key, "fast app errors, saturated", t.name, busy["errors"] + busy["non2xx"],
                           "count", "lower")
                ctx.record(key, "slow app rps (bound: %d/%.1fs)" % (limit, delay / 1000), t.name,
                           slow["rps"], "req/s", "higher")
                ctx.record(key, "slow app p99", t.name, slow["p99"], "ms", "lower")
                ctx.record(key, "slow app errors/rejections", t.name, slow["errors"] + slow["non2xx"],
                           "count", "lower")
    finally:
        for t in targets:
            t.stop()
        slow_proc.stop()


# -- backhaul: edge -> worker over HTTP/2 vs a direct connection --------------------------------

class _Chain:
    """The processes of a two-hop chain (edge first): CPU time summed, stopped together."""

    def __init__(self, procs):
        self.procs = procs

    def cpu_seconds(self):
        u = k = 0.0
        for p in self.procs:
            pu, pk = p.cpu_seconds()
            u, k = u + pu, k + pk
        return u, k

    def poll(self):
        return next((p.poll() for p in self.procs if p.poll() is not None), None)

    def stop(self):
        for p in self.procs:
            p.stop()


@scenario("rules", "Request rules: 50 rules per app (40 path prefixes, 8 headers, 1 regex, 1 header set; "
                  "none matches) vs the same Ferry with none, and HAProxy with the same ACLs (keep-alive, "
                  "32 connections)", 12)
def rules(ctx):
    """Targets: `ferry` and `haproxy` carry the 50 rules (so the Ferry/HAProxy ratio compares
    rule engines); `ferry no rules` is the reference for the cost of the rules themselves,
    recorded as `rps 50 rules / none`."""
    key = "rules-c32"
    up = ctx.upstream_port()
    ferry_lines, hap_lines = configs.rules_50()
    targets = [start_proxy(ctx, "ferry", up, tag="50rules", ferry_app_lines=ferry_lines)]
    if "haproxy" in ctx.proxies:
        targets.append(start_proxy(ctx, "haproxy", up, tag="50rules", haproxy_frontend=hap_lines))
    bare = start_proxy(ctx, "ferry", up, tag="norules")
    bare.name = "ferry no rules"
    targets.append(bare)
    ctx.say("  started: " + ", ".join("%s :%d" % (t.name, t.http_port) for t in targets))
    try:
        for r in range(ctx.rounds):
            rps = {}
            for t in targets:
                ctx.warm(t)
                cpu0 = t.proc.cpu_seconds() if t.proc else None
                res = loadgen.wrk(t.url("/"), 32, ctx.secs, ctx.load_cpus)
                cpu = _record_cpu(ctx, key, t, cpu0, res["requests"])
                rps[t.name] = res["rps"]
                ctx.say("  %-14s round %d %-15s %9.0f req/s  p99 %6.2f ms%s%s"
                        % (key, r + 1, t.name, res["rps"], res["p99"], cpu, _errs(res)))
                ctx.record(key, "rps", t.name, res["rps"], "req/s", "higher")
                ctx.record(key, "p99", t.name, res["p99"], "ms", "lower")
                ctx.record(key, "errors", t.name, res["errors"] + res["non2xx"], "count", "lower")
            if rps.get("ferry no rules"):
                ctx.record(key, "rps 50 rules / none", "ferry", rps["ferry"] / rps["ferry no rules"], "x", "higher")
    finally:
        for t in targets:
            t.stop()


def _wait_tcp(addr, port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited (%s); log: %s" % (proc.name, proc.poll(), proc.log_tail()))
        try:
            socket.create_connection((addr, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %s:%d after %.0fs" % (addr, port, timeout))


def _key_file(path):
    """A private key file in `wg genkey` format (mode 0600) and a public key of the right form:
    ferryd only checks the format here (no WireGuard interface is made)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (base64.b64encode(os.urandom(32)).decode() + "\n").encode())
    os.close(fd)
    return path, base64.b64encode(os.urandom(32)).decode()


def _start_chain(ctx, kind, up):
    """edge (127.0.0.1:http) -> worker (127.0.0.3:bh) -> upstream, both hops pinned on the proxy
    CPUs. Ferry: two ferryd with a mesh section, the edge's server `node worker` (the backhaul,
    HTTP/2 cleartext, one multiplexed connection per edge thread). HAProxy: two haproxy, the
    edge's server `proto h2`, the worker's bind `proto h2`, `http-reuse always`."""
    http_port, edge_bh, worker_bh = free_ports(3)
    d = os.path.join(ctx.tmp, "%s-2hop" % kind)
    os.makedirs(d, exist_ok=True)
    tag = os.getpid() % 10000
    if kind == "ferry":
        ek, epub = _key_file(os.path.join(d, "edge.key"))
        wk, wpub = _key_file(os.path.join(d, "worker.key"))
        wconf = configs.write(os.path.join(d, "worker.conf"), configs.ferry_backhaul_worker(
            d + "/w", ctx.workers, "127.0.0.3:%d" % worker_bh, "127.0.0.2:%d" % edge_bh, up, wk, epub, "fbw%d" % tag))
        econf = configs.write(os.path.join(d, "edge.conf"), configs.ferry_backhaul_edge(
            d + "/e", ctx.workers, http_port, "127.0.0.2:%d" % edge_bh, "127.0.0.3:%d" % worker_bh, up, ek, wpub,
            "fbe%d" % tag))
        worker = Proc("ferry-worker", [ctx.ferryd, "-f", wconf], os.path.join(d, "worker.log"), cpus=ctx.proxy_cpus)
        worker.wait_log("ready pid=", timeout=60)
        edge = Proc("ferry-edge", [ctx.ferryd, "-f", econf], os.path.join(d, "edge.log"), cpus=ctx.proxy_cpus)
        edge.wait_log("ready pid=", timeout=60)
    else:
        wconf = configs.write(os.path.join(d, "worker.cfg"), configs.haproxy_hop(
            d, ctx.workers, "127.0.0.3:%d" % worker_bh, "127.0.0.1:%d" % up, listen_h2=True))
        econf = configs.write(os.path.join(d, "edge.cfg"), configs.haproxy_hop(
            d, ctx.workers, "127.0.0.1:%d" % http_port, "127.0.0.3:%d" % worker_bh, server_h2=True))
        worker = Proc("haproxy-worker", ["haproxy", "-db", "-f", wconf], os.path.join(d, "worker.log"),
                      cpus=ctx.proxy_cpus)
        _wait_tcp("127.0.0.3", worker_bh, worker)
        edge = Proc("haproxy-edge", ["haproxy", "-db", "-f", econf], os.path.join(d, "edge.log"), cpus=ctx.proxy_cpus)
    wait_port(http_port, proc=edge)
    t = Target(kind, http_port, proc=_Chain([edge, worker]))
    t.hop_port = worker_bh
    return t


def _hop_connections(port):
    """Established TCP connections to 127.0.0.3:port (the edge's connections to the worker)."""
    out, _ = run(["ss", "-Htn", "state", "established", "( dport = :%d )" % port], check=False)
    return len([l for l in out.splitlines() if l.strip()])


@scenario("backhaul", "Mesh backhaul: edge -> worker (HTTP/2 cleartext over loopback) -> upstream, vs one hop and "
                      "direct; a two-hop HAProxy chain with h2 between the hops for comparison", 11)
def backhaul(ctx):
    """Latency the second hop adds (wrk -c1: one request at a time) and throughput of 64
    concurrent clients over the edge's multiplexed connection to the worker (wrk -c64).
    Targets: `ferry` and `haproxy` are the two-hop chains (so the Ferry/HAProxy ratios compare
    chains); `ferry 1-hop`, `haproxy 1-hop` and `direct` are the references. Both hops run on
    the proxy CPUs (one core with --workers 1). nginx is left out: its open-source proxy module
    speaks only HTTP/1.1 to upstreams, so it has no multiplexed hop to compare."""
    up = ctx.upstream_port()
    chains = [_start_chain(ctx, kind, up) for kind in ("ferry", "haproxy") if kind == "ferry" or kind in ctx.proxies]
    singles = []
    for kind in ("ferry", "haproxy"):
        if kind == "ferry" or kind in ctx.proxies:
            s = start_proxy(ctx, kind, up, tag="1hop")
            s.name = kind + " 1-hop"
            singles.append(s)
    direct = Target("direct", up)
    targets = chains + singles + [direct]
    ctx.say("  started: " + ", ".join("%s :%d" % (t.name, t.http_port) for t in targets))
    try:
        for r in range(ctx.rounds):
            p50 = {}
            for t in targets:
                ctx.warm(t)
                cpu0 = t.proc.cpu_seconds() if t.proc else None
                one = loadgen.wrk(t.url(), 1, ctx.secs, ctx.load_cpus)
                cpu = _record_cpu(ctx, "backhaul-c1", t, cpu0, one["requests"])
                ctx.say("  %-14s round %d %-14s %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms%s%s"
                        % ("backhaul-c1", r + 1, t.name, one["rps"], one["p50"], one["p99"], cpu, _errs(one)))
                p50[t.name] = one["p50"]
                ctx.record("backhaul-c1", "p50", t.name, one["p50"], "ms", "lower")
                ctx.record("backhaul-c1", "p99", t.name, one["p99"], "ms", "lower")
                ctx.record("backhaul-c1", "rps", t.name, one["rps"], "req/s", "higher")
                ctx.record("backhaul-c1", "errors", t.name, one["errors"] + one["non2xx"], "count", "lower")
                cpu0 = t.proc.cpu_seconds() if t.proc else None
                many = loadgen.wrk(t.url(), 64, ctx.secs, ctx.load_cpus)
                cpu = _record_cpu(ctx, "backhaul-c64", t, cpu0, many["requests"])
                conns = ""
                if getattr(t, "hop_port", None):
                    n = _hop_connections(t.hop_port)
                    ctx.record("backhaul-c64", "edge->worker connections", t.name, n, "count", "lower")
                    conns = "  %d edge->worker connection(s)" % n
                ctx.say("  %-14s round %d %-14s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms%s%s%s"
                        % ("backhaul-c64", r + 1, t.name, many["rps"], many["p50"], many["p99"], cpu, conns,
                           _errs(many)))
                ctx.record("backhaul-c64", "rps", t.name, many["rps"], "req/s", "higher")
                ctx.record("backhaul-c64", "p99", t.name, many["p99"], "ms", "lower")
                ctx.record("backhaul-c64", "errors", t.name, many["errors"] + many["non2xx"], "count", "lower")
            for kind in ("ferry", "haproxy"):
                if kind in p50 and kind + " 1-hop" in p50:
                    ctx.record("backhaul-c1", "p50 added by the second hop", kind,
                               (p50[kind] - p50[kind + " 1-hop"]) * 1000, "us", "lower")
            for kind in ("ferry", "haproxy"):
                if kind in p50:
                    ctx.record("backhaul-c1", "p50 over direct", kind, (p50[kind] - p50["direct"]) * 1000, "us", "lower")
                if kind + " 1-hop" in p50:
                    ctx.record("backhaul-c1", "p50 over direct", kind + " 1-hop",
                               (p50[kind + " 1-hop"] - p50["direct"]) * 1000, "us", "lower")
    finally:
        for t in chains + singles:
            t.stop()
