#!/usr/bin/python3
"""The benchmark driver behind bench/run: runs the chosen scenarios and writes the report.

Usage (normally through bench/run): bench.py --ferryd PATH --out DIR [--quick] [--rounds N]
       [--secs S] [--workers N] [--proxies ferry,haproxy,nginx] [SCENARIO...]
"""
import argparse
import atexit
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loadgen  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402
from stack import Target, make_tls_cert, start_proxy, start_upstream  # noqa: E402


class Context:
    def __init__(self, args):
        self.args = args
        self.ferryd = args.ferryd
        self.rounds = args.rounds
        self.secs = args.secs
        self.workers = args.workers
        self.proxies = args.proxies
        # 2 CPUs: the proxy gets CPU 1 to itself; wrk/curl and the upstream share CPU 0.
        # With --workers 2 the proxy may use both CPUs (and then shares them with the load).
        ncpu = os.cpu_count() or 1
        self.proxy_cpus = args.proxy_cpus or ("1" if ncpu > 1 and self.workers == 1 else "0-%d" % (ncpu - 1))
        self.load_cpus = args.load_cpus or "0"
        self.big_bytes = (256 if args.quick else 1024) * 2 ** 20
        self.routing_apps = args.routing_apps
        self.idle_conns = args.idle_conns
        self.iso_slow_conns = args.iso_slow_conns
        self.tmp = tempfile.mkdtemp(prefix="ferry-bench-")
        self.results = {}
        self._stack = None
        self._upstream = None
        self.log = open(os.path.join(args.out, "run.log"), "a")

    def say(self, msg):
        print(msg, flush=True)
        self.log.write(msg + "\n")
        self.log.flush()

    def record(self, key, metric, target, value, unit, better):
        sc = self.results.setdefault(key, {"title": self.title, "metrics": {}, "notes": []})
        m = sc["metrics"].setdefault(metric, {"unit": unit, "better": better, "values": {}})
        m["values"].setdefault(target, []).append(value)

    def note(self, key, text):
        sc = self.results.setdefault(key, {"title": self.title, "metrics": {}, "notes": []})
        sc["notes"].append(text)

    def upstream_port(self):
        if self._upstream is None:
            self._upstream = start_upstream(self)
        return self._upstream[0]

    def stack(self):
        """The standard targets, started once: each proxy (HTTP + TCP frontends) and 'direct'."""
        if self._stack is None:
            up = self.upstream_port()
            cert = make_tls_cert(self)
            self._stack = [start_proxy(self, kind, up, tcp=True, tls_cert=cert) for kind in self.proxies]
            self._stack.append(Target("direct", up))
            self.say("  started: " + ", ".join("%s :%d%s" % (t.name, t.http_port,
                                                           (" tcp :%d" % t.tcp_port) if t.tcp_port else "")
                                               for t in self._stack))
        return self._stack

    def warm(self, t):
        if not t.warmed:
            loadgen.wrk(t.url(), 32, 1, self.load_cpus)
            t.warmed = True

    def close(self):
        for t in self._stack or []:
            t.stop()
        if self._upstream:
            self._upstream[1].stop()
        procs.stop_all()
        if not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def versions(ferryd):
    def first(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return "?"
    return {"ferryd": first([ferryd, "--version"]), "haproxy": first(["haproxy", "-v"]).split(" - ")[0],
            "nginx": first(["nginx", "-v"]), "wrk": first(["wrk", "-v"]).split(" Copyright")[0],
            "kernel": "Linux " + platform.release()}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--secs", type=int)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--proxies", default="ferry,haproxy,nginx")
    ap.add_argument("--proxy-cpus")
    ap.add_argument("--load-cpus")
    ap.add_argument("--routing-apps", type=int, default=100000)
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--iso-slow-conns", type=int, default=1000)
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("scenarios", nargs="*")
    args = ap.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.secs = args.secs or (3 if args.quick else 8)
    args.proxies = [p for p in args.proxies.split(",") if p]

    by_number = {str(v[0]): k for k, v in scenarios.REGISTRY.items() if v[0] is not None}
    chosen = []
    for s in args.scenarios or [k for k, v in scenarios.REGISTRY.items() if v[3]]:
        s = by_number.get(s, s)
        if s not in scenarios.REGISTRY:
            sys.exit("unknown scenario '%s'; known: %s" % (s, ", ".join(
                "%s (%s)" % (k, v[0]) for k, v in scenarios.REGISTRY.items())))
        chosen.append(s)

    os.makedirs(args.out, exist_ok=True)
    ctx = Context(args)
    atexit.register(ctx.close)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: sys.exit(130))

    if args.no_wait:
        load, waited = procs.loadavg(), 0
    else:
        load, waited = procs.wait_quiet(say=ctx.say)
    meta = {"timestamp": os.path.basename(os.path.normpath(args.out)), "command": args.command,
            "cpus": os.cpu_count(), "cpu_model": cpu_model(), "load_before": load, "waited_for_quiet_s": waited,
            "proxy_cpus": ctx.proxy_cpus, "load_cpus": ctx.load_cpus, "workers": args.workers,
            "rounds": args.rounds, "secs": args.secs, "scenarios": chosen, "versions": versions(args.ferryd),
            "tmp": ctx.tmp, "load_per_scenario": {}}
    ctx.say("bench: scenarios %s, %d round(s) x %d s, %d worker(s), proxy CPU %s, load CPU %s"
            % (" ".join(chosen), args.rounds, args.secs, args.workers, ctx.proxy_cpus, ctx.load_cpus))
    t_all = time.monotonic()
    failed = []
    for name in chosen:
        number, title, fn, _ = scenarios.REGISTRY[name]
        ctx.title = title
        t0 = time.monotonic()
        ctx.say("== %s: %s (load %.2f)" % (name, title, procs.loadavg()))
        meta["load_per_scenario"][name] = procs.loadavg()
        try:
            fn(ctx)
        except Exception as e:  # noqa: BLE001 - one broken scenario must not lose the others
            failed.append(name)
            ctx.say("   FAILED: %s: %s" % (name, e))
            ctx.results.setdefault(name, {"title": title, "metrics": {}, "notes": []})["notes"].append(
                "scenario failed: %s" % e)
        ctx.say("   (%s took %.0f s)" % (name, time.monotonic() - t0))
    meta["elapsed_s"] = round(time.monotonic() - t_all)
    meta["failed"] = failed

    summary = report.summarize(ctx.results)
    report.write_json(os.path.join(args.out, "results.json"), summary, meta)
    md = report.markdown(summary, meta)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    ctx.say("")
    ctx.say("== summary (medians; ratios Ferry/other) — full table: %s/results.md" % args.out)
    ctx.say(report.text_summary(summary))
    ctx.say("bench: done in %d s%s" % (meta["elapsed_s"], (", FAILED: " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
