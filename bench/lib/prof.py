#!/usr/bin/python3
"""Profile Ferry on scenario 1 (keep-alive, small responses); used by bench/profile.

  1. callgrind on a RelWithDebInfo ferryd, collecting only inside the worker thread's loop
     (--toggle-collect), for a fixed number of keep-alive requests (ka_client.py): top
     functions by self and inclusive instructions, instructions per request, and calls per
     request of malloc/free/new/delete (from the call counts in the callgrind file).
  2. System calls per request of the Release ferryd (and, for comparison, haproxy and nginx)
     during a wrk run: counted in the kernel by `perf stat` on the syscall tracepoints where it
     works (near full speed, so reads that find nothing count as in a real run; EAGAIN recvfrom
     is counted apart), and by strace -c -f (which slows the proxy so much that such reads
     mostly vanish: compare its call mix, not its EAGAINs).

With --close the callgrind part opens a new connection per request (`Connection: close`, as
scenario 2 does), so the accept and close path is in the count.

With --h2 the callgrind part drives HTTP/2 over TLS instead (h2load -n N -c C -m 32, after a
500-request warm-up that is counted in the total): the downstream HTTP/2 request path's cost
per request, deterministic where req/s ratios on a shared VM are not; the strace part then runs
h2load -c32 -m10 in cleartext (h2c) and over TLS. With --close the strace part's wrk sends
`Connection: close` too. --strace-only skips the callgrind part.

With --cache callgrind also simulates the caches and the branch predictor and prints their
misses per request: equal instruction counts can still differ in instruction-cache misses when
the code the request path runs through is spread wider.

Usage: prof.py --ferryd-prof PATH --ferryd PATH --out DIR [--requests N] [--conns C] [--h2] [--close]
       [--cache] [--strace-only]
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import configs  # noqa: E402
import loadgen  # noqa: E402
import procs  # noqa: E402
from stack import HERE, PYTHON, make_tls_cert, start_proxy, start_upstream  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
H2_WARMUP = 500
ALLOC = ("malloc", "free", "calloc", "realloc", "operator new(unsigned long)",
         "operator delete(void*, unsigned long)", "operator delete(void*)")


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.big_bytes = 1 << 20
        self.load_cpus = "0"
        self.proxy_cpus = "1"
        self.workers = 1


def call_counts(path):
    """callee name -> total calls, from a callgrind output file."""
    names, counts = {}, collections.Counter()
    callee = None
    rx = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = rx.match(line.rstrip("\n"))
                if m:
                    if m.group(2):
                        names[m.group(1)] = m.group(2)
                    if line.startswith("cfn="):
                        callee = names.get(m.group(1), m.group(1))
            elif line.startswith("calls=") and callee:
                counts[callee] += int(line[6:].split()[0])
    return counts


def summary_events(path):
    """(event, total) pairs of a callgrind file: Ir, and with --cache-sim the cache events
    (I1mr: first-level instruction-cache misses, D1mr/D1mw data misses, LL: last level) and
    with --branch-sim the branches (Bc/Bcm conditional and mispredicted, Bi/Bim indirect)."""
    events, totals = [], []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith(("summary:", "totals:")):
                totals = [int(x) for x in line.split()[1:]]
    return list(zip(events, totals))


def total_ir(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def callgrind(args, ctx, up, out):
    d = os.path.join(ctx.tmp, "ferry-prof")
    os.makedirs(d, exist_ok=True)
    port, tls_port = procs.free_ports(2)
    cert = make_tls_cert(ctx) if args.h2 else None
    conf = configs.write(os.path.join(d, "ferry.conf"),
                         configs.ferry(d, 1, port, up, tls_port=tls_port if args.h2 else None, tls_cert=cert,
                                       app_lines=configs.rules_50()[0] if args.rules else ()))
    cg = os.path.join(out, "callgrind.out")
    proc = procs.Proc("ferryd-callgrind",
                      ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg,
                       "--toggle-collect=*_Invoker<std::tuple<ferry::proxy::Worker::start()::{lambda()#1}> > >::_M_run()*",
                       "--dump-instr=no", "--compress-strings=yes"] +
                      (["--cache-sim=yes", "--branch-sim=yes"] if args.cache else []) + [
                       args.ferryd_prof, "-f", conf],
                      os.path.join(out, "callgrind.log"), cpus=ctx.proxy_cpus)
    proc.wait_log("ready pid=", timeout=180)
    if args.h2:
        n = args.requests + H2_WARMUP
        url = "https://127.0.0.1:%d/" % tls_port
        for count in (H2_WARMUP, args.requests):
            r = subprocess.run(["taskset", "-c", ctx.load_cpus, "h2load", "-n", str(count), "-c",
                                str(args.conns), "-m", "32", url], capture_output=True, text=True)
            done = re.search(r"requests: .* (\d+) succeeded", r.stdout)
            if r.returncode != 0 or not done or int(done.group(1)) != count:
                raise RuntimeError("h2load: " + r.stdout[-2000:] + r.stderr[-2000:])
        what = "HTTP/2 requests over TLS (h2load -c %d -m 32, %d of them warm-up)" % (args.conns, H2_WARMUP)
    else:
        n = args.requests
        r = subprocess.run(["taskset", "-c", ctx.load_cpus, PYTHON, os.path.join(HERE, "ka_client.py")] +
                           (["--close"] if args.close else []) +
                           [str(port), str(args.requests), str(args.conns)], capture_output=True, text=True)
        print("  client: " + (r.stdout + r.stderr).strip())
        what = ("requests, each on a new connection (Connection: close), %d at a time" if args.close
                else "keep-alive requests over %d connections") % args.conns
    os.kill(proc.pid, signal.SIGTERM)
    proc.popen.wait(120)
    proc.stop()
    ir = total_ir(cg)
    print("\n== callgrind: %d %s, worker loop only" % (n, what))
    print("  instructions (user space, worker thread): %d = %.0f per request" % (ir, ir / n))
    if args.cache:
        print("  per request: " + "  ".join("%s %.1f" % (e, v / n) for e, v in summary_events(cg)))
    for incl in ("no", "yes"):
        r = subprocess.run(["callgrind_annotate", "--inclusive=" + incl, "--threshold=99",
                            cg], capture_output=True, text=True)
        path = os.path.join(out, "annotate-%s.txt" % ("inclusive" if incl == "yes" else "self"))
        with open(path, "w") as f:
            f.write(r.stdout)
        print("\n  top by %s instructions (full list: %s):" % ("inclusive" if incl == "yes" else "self", path))
        rows = [l for l in r.stdout.splitlines() if re.match(r"^\s*[\d,]+ \(", l)]
        for l in rows[:args.top]:
            print("   " + l[:220])
    counts = call_counts(cg)
    print("\n  allocator calls per request:")
    for name in ALLOC:
        if counts.get(name):
            print("   %-45s %6.2f" % (name, counts[name] / n))
    print("\n  most called functions (calls per request):")
    for name, c in counts.most_common(25):
        print("   %8.2f  %s" % (c / n, name[:180]))
    # line-level annotation of the hottest source files, for file:line hot spots
    r = subprocess.run(["callgrind_annotate", "--auto=yes", "--show-percs=yes", "--context=0", cg],
                       capture_output=True, text=True)
    with open(os.path.join(out, "annotate-lines.txt"), "w") as f:
        f.write(r.stdout)
    rows = hot_lines(r.stdout)
    with open(os.path.join(out, "hot-lines.txt"), "w") as f:
        for c, pct, where, text in rows:
            f.write("%12d %6.2f%%  %-45s %s\n" % (c, pct, where, text))
    print("\n  hottest lines of Ferry's own sources (inclusive Ir; full list: hot-lines.txt):")
    for c, pct, where, text in [x for x in rows if not x[2].startswith("/")][:args.top]:
        print("   %6.2f%%  %5.0f/req  %-32s %s" % (pct, c / n, where, text[:150]))


def hot_lines(text):
    """(Ir, %, file:line, source or call) for every annotated line, most expensive first."""
    rows, path, ln = [], None, None
    for line in text.splitlines():
        m = re.match(r"-- Auto-annotated source: (.*)", line)
        if m:
            path, ln = m.group(1).strip().replace(ROOT + "/", ""), None
            continue
        m = re.match(r"-- line (\d+) -+", line)
        if m:
            ln = int(m.group(1))
            continue
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s(.*)", line)
        if m and path and ln is not None:
            rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), "%s:%d" % (path, ln),
                         m.group(3).strip()))
            ln += 1
        elif ln is not None and re.match(r"\s*\.\s", line):
            ln += 1
    rows.sort(reverse=True)
    return rows


PERF_EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_recvfrom", "syscalls:sys_exit_recvfrom",
               "syscalls:sys_enter_sendto", "syscalls:sys_enter_sendmsg", "syscalls:sys_enter_epoll_ctl",
               "syscalls:sys_enter_epoll_wait"]


def perf_works():
    """True when `perf stat` can count syscall tracepoints here (in-kernel counters)."""
    try:
        r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "true"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "not supported" not in r.stderr and "<not" not in r.stderr


def perf_one(ctx, name, t, pid, out, secs, load):
    """Syscalls per request counted in the kernel (perf stat on tracepoints) while `load` runs:
    unlike strace this barely slows the proxy, so reads that find nothing (recvfrom failing
    with EAGAIN, counted with a filter) happen as often as in a real run."""
    log = os.path.join(out, "perf-%s.txt" % name)
    argv = ["perf", "stat", "-x,", "-o", log, "-p", str(pid)]
    for e in PERF_EVENTS:
        argv += ["-e", e]
        if e == "syscalls:sys_exit_recvfrom":
            argv += ["--filter", "ret == -11"]
    st = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    res = load(t, secs)
    st.send_signal(signal.SIGINT)
    st.wait(30)
    n = max(res["requests"], 1)
    counts = {}
    for line in open(log):
        f = line.strip().split(",")
        if len(f) >= 3 and f[0].isdigit():
            counts[f[2]] = int(f[0])
    per = lambda e: counts.get(e, 0) / n  # noqa: E731
    print("  %-14s %7d requests (%6.0f req/s), %.2f syscalls/request: recvfrom %.2f (EAGAIN %.2f), "
          "sendto %.2f, sendmsg %.2f, epoll_ctl %.2f, epoll_wait %.3f"
          % (name, res["requests"], res["rps"], per("raw_syscalls:sys_enter"), per("syscalls:sys_enter_recvfrom"),
             per("syscalls:sys_exit_recvfrom"), per("syscalls:sys_enter_sendto"),
             per("syscalls:sys_enter_sendmsg"), per("syscalls:sys_enter_epoll_ctl"),
             per("syscalls:sys_enter_epoll_wait")))


def strace_one(ctx, name, t, pid, out, secs, load):
    """strace -c -f of `pid` while `load` runs for `secs`: syscalls per request."""
    log = os.path.join(out, "strace-%s.txt" % name)
    st = subprocess.Popen(["strace", "-c", "-f", "-o", log, "-p", str(pid)],
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    res = load(t, secs)
    st.send_signal(signal.SIGINT)
    st.wait(30)
    text = open(log).read()
    total = 0
    per = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and f[-1] == "total":
            total = int(f[3])
        elif len(f) >= 5 and re.match(r"^[\d.]+$", f[0]) and f[-1] != "total":
            calls = int(f[3])
            per.append((calls, f[-1]))
    per.sort(reverse=True)
    n = res["requests"]
    print("  %-8s %6d requests under strace (%5.0f req/s), %.2f syscalls/request: %s"
          % (name, n, res["rps"], total / max(n, 1),
             ", ".join("%s %.2f" % (s, c / n) for c, s in per[:8])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd-prof", required=True)
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--strace-secs", type=int, default=5)
    ap.add_argument("--h2", action="store_true",
                    help="callgrind on HTTP/2 over TLS; strace on h2c and h2 over TLS")
    ap.add_argument("--close", action="store_true",
                    help="callgrind on a new connection per request (Connection: close, scenario 2)")
    ap.add_argument("--rules", action="store_true", help="the app carries the 50 request rules of `bench/run rules`")
    ap.add_argument("--strace-only", action="store_true", help="skip callgrind: only the strace part")
    ap.add_argument("--cache", action="store_true",
                    help="simulate the caches and branch predictor too (misses per request; slower)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ctx = Ctx(tempfile.mkdtemp(prefix="ferry-prof-"))
    ctx.ferryd = args.ferryd
    try:
        up, _ = start_upstream(ctx)
        if not args.strace_only:
            callgrind(args, ctx, up, args.out)
        # The strace part follows the callgrind one: keep-alive, Connection: close, or HTTP/2
        # (h2c with prior knowledge and h2 over TLS, h2load -c32 -m10 as `bench/run h2`).
        if args.h2:
            loads = [("h2c", lambda t, secs: loadgen.h2load(t.h2c_url(), 32, 10, secs, ctx.load_cpus)),
                     ("h2-tls", lambda t, secs: loadgen.h2load(t.tls_url(), 32, 10, secs, ctx.load_cpus))]
        else:
            hdr = ("Connection: close",) if args.close else ()
            loads = [("close" if args.close else "ka",
                      lambda t, secs: loadgen.wrk(t.url(), 32, secs, ctx.load_cpus, headers=hdr))]
        cert = make_tls_cert(ctx) if args.h2 else None
        # perf counts in the kernel (near full speed); strace stops the proxy at every call, which
        # hides reads that find nothing: the peer has long answered by the time the proxy reads.
        use_perf = perf_works()
        if not use_perf:
            print("\n(perf stat cannot count syscall tracepoints here: strace only)")
        for what, load in loads:
            for tool in (["perf"] if use_perf else []) + ["strace"]:
                if tool == "perf":
                    print("\n== perf stat (syscall tracepoints), %s, 32 connections, %ds (Release builds)"
                          % (what, args.strace_secs))
                else:
                    print("\n== strace -c -f, %s, 32 connections, %ds (Release builds; strace slows everything, "
                          "the counts per request are what matter)" % (what, args.strace_secs))
                for kind in ("ferry", "haproxy", "nginx"):
                    t = start_proxy(ctx, kind, up, tag=tool, tls_cert=cert)
                    load(t, 1)
                    one = perf_one if tool == "perf" else strace_one
                    one(ctx, "%s-%s" % (kind, what), t, t.proc.pid, args.out, args.strace_secs, load)
                    t.stop()
    finally:
        procs.stop_all()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    print("\nfiles: " + args.out)


if __name__ == "__main__":
    main()
