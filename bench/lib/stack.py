"""Starting the upstream and the proxies under test: one `Target` per proxy instance."""
import os
import subprocess

import configs
from procs import Proc, free_ports, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


class Target:
    """One thing wrk talks to: a proxy instance (or the upstream itself, 'direct')."""

    def __init__(self, name, http_port, tcp_port=None, proc=None, tls_port=None, h2c_port=None):
        self.name = name
        self.http_port = http_port
        # HTTP/2 with prior knowledge (h2c): Ferry and HAProxy take it on the HTTP/1 listener,
        # nginx needs a listener of its own (`listen ... http2` speaks only HTTP/2).
        self.h2c_port = h2c_port
        self.tcp_port = tcp_port
        self.tls_port = tls_port  # HTTPS in front of the same upstream, if started with a cert
        self.proc = proc      # None for 'direct' (the upstream is owned by the context)
        self.warmed = False

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def tls_url(self, path="/"):
        return "https://127.0.0.1:%d%s" % (self.tls_port, path)

    def h2c_url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.h2c_port, path)

    def tcp_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.tcp_port, path)

    def stop(self):
        if self.proc:
            self.proc.stop()


def start_upstream(ctx):
    """nginx serving `/` (24 B), `/64k` and `/big` (a sparse file), pinned with the load tools."""
    www = os.path.join(ctx.tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "64k"), "wb") as f:
        f.write(os.urandom(64 * 1024))
    with open(os.path.join(www, "big"), "wb") as f:
        f.truncate(ctx.big_bytes)  # sparse: read from the page cache of zero pages, no disk
    (port,) = free_ports(1)
    conf = configs.write(os.path.join(ctx.tmp, "upstream.conf"), configs.upstream_nginx(ctx.tmp, port, www))
    proc = Proc("upstream-nginx", ["nginx", "-p", ctx.tmp + "/", "-e", ctx.tmp + "/upstream-error.log",
                                   "-c", conf], os.path.join(ctx.tmp, "upstream.log"), cpus=ctx.load_cpus)
    wait_port(port, proc=proc)
    return port, proc


def make_tls_cert(ctx):
    """A self-signed ECDSA P-256 certificate for a.test with its key in one PEM (what all three
    proxies load); wrk does not verify it."""
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "30", "-subj", "/CN=a.test", "-addext", "subjectAltName=DNS:a.test",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    pem = os.path.join(d, "a.test.pem")
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    return pem


def start_slow_upstream(ctx, delay_ms):
    (port,) = free_ports(1)
    proc = Proc("slow-upstream", [PYTHON, os.path.join(HERE, "slow_upstream.py"), str(port), str(delay_ms)],
                os.path.join(ctx.tmp, "slow-upstream-%d.log" % port), cpus=ctx.load_cpus)
    wait_port(port, proc=proc)
    return port, proc


def start_proxy(ctx, kind, up_port, tcp=False, tag="", ferry_apps=None, haproxy_frontend="",
                haproxy_extra="", workers=None, tls_cert=None, ferry_app_lines=()):
    """Start `kind` (ferry|haproxy|nginx) in front of 127.0.0.1:up_port, pinned on ctx.proxy_cpus.
    With `tls_cert` (PEM: certificate and key) it also listens with TLS on target.tls_port.

    Returns a Target. The ferry start-up time (to the `ready` line) is kept in target.ready_s.
    """
    workers = workers or ctx.workers
    http_port, tcp_port, tls_port, h2c_port = free_ports(4)
    if not tcp:
        tcp_port = None
    if not tls_cert:
        tls_port = None
    name = kind + (("-" + tag) if tag else "")
    d = os.path.join(ctx.tmp, name)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "stderr.log")
    if kind == "ferry":
        conf = configs.write(os.path.join(d, "ferry.conf"),
                             configs.ferry(d, workers, http_port, up_port, tcp_port, ferry_apps,
                                           tls_port=tls_port, tls_cert=tls_cert, app_lines=ferry_app_lines))
        proc = Proc(name, [ctx.ferryd, "-f", conf], log, cpus=ctx.proxy_cpus)
        ready_s = proc.wait_log("ready pid=", timeout=300)
    elif kind == "haproxy":
        conf = configs.write(os.path.join(d, "haproxy.cfg"),
                             configs.haproxy(d, workers, http_port, up_port, tcp_port,
                                             haproxy_frontend, haproxy_extra, tls_port, tls_cert))
        proc = Proc(name, ["haproxy", "-db", "-f", conf], log, cpus=ctx.proxy_cpus)
        ready_s = None
    elif kind == "nginx":
        conf = configs.write(os.path.join(d, "nginx.conf"),
                             configs.nginx_proxy(d, workers, http_port, up_port, tcp_port, tls_port, tls_cert,
                                                 h2c_port))
        proc = Proc(name, ["nginx", "-p", d + "/", "-e", d + "/nginx-error.log", "-c", conf], log,
                    cpus=ctx.proxy_cpus)
        ready_s = None
    else:
        raise ValueError(kind)
    wait_port(http_port, proc=proc)
    if kind != "nginx":
        h2c_port = http_port
    for p in (tcp_port, tls_port, h2c_port):
        if p:
            wait_port(p, proc=proc)
    t = Target(kind, http_port, tcp_port, proc, tls_port, h2c_port)
    t.ready_s = ready_s
    t.config = conf
    return t
