"""Differential test (issue 13): the same malformed HTTP/1 and HTTP/2 requests sent to Ferry,
HAProxy and nginx, all three started here on 127.0.0.1 (ports chosen free, own configs in the
test's temporary directory, started and stopped by PID), each proxying to its own listener of one
recording HTTP/1.1 backend (Recorder).

Each case (diff_cases.py) is one request on a fresh connection. Its request carries a token
(`dc<NNN>z`) in the target and in `X-Diff-Case`, so the backend can tell which case reached it
and with what head. A case's outcome for one proxy:
  FWD   the request (or the case's offending element, see `unsafe` in the case) reached the
        backend as sent. Body cases count only a completely received body.
  SAN   it reached the backend with the offending element removed or rewritten (sanitised).
  REF   it did not reach the backend, and the proxy answered 4xx/5xx, closed, reset the
        stream or sent GOAWAY (refused). REF*: a body case whose head was forwarded but whose
        body the proxy aborted.
  STALL it did not reach the backend and the proxy sent nothing within the read timeout.
  OK    it did not reach the backend but the proxy answered < 400 itself.
The client-side answer (status, close, RST:<code>, GOAWAY:<code>, timeout) is printed beside it.

Asserted: control cases are FWD on all three (the setup works); for every other case that
HAProxy or nginx refuses or sanitises (REF/SAN), Ferry does not forward it as sent (not FWD),
except cases marked `valid` (the RFC allows the request, a peer is merely stricter) and
KNOWN_LAX (today's known gaps, reported as expected failures with their issue 13 item; a
KNOWN_LAX case Ferry now handles fails the test until it is removed from the list).

The peers run as commonly configured reverse proxies, defaults otherwise: HAProxy 2.6 `mode
http` with a `proto h2` bind for h2c; nginx 1.22 with `proxy_http_version 1.1` and
`proxy_set_header Host $host` (which is what makes nginx sanitise a mismatched or malformed Host)
and an `http2` listen for h2c. Their ports are chosen free (bound, closed, passed in the config),
retried if taken meanwhile.

The table (case, RFC clause, Ferry / HAProxy / nginx) is printed on every run and saved as
differential.txt and differential.json (with every head the backend received) in the test's
temporary directory (kept with FERRY_KEEP_TMP=1) and to $FERRY_DIFF_REPORT if set.
Skips (exit 77) when haproxy or nginx is not installed (scripts/install-deps.sh test)."""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import threading
import time

import diff_cases as C
from ferrykit.backends import TcpServer
from ferrykit.config import backend_section, base_config, section
from ferrykit.h2client import H2Conn
from ferrykit.h2frames import data_frame, error_name
from ferrykit.procs import PeerProcess
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, register, skip, tmpdir
from ferrykit.wire import RawConn, Response, free_port_closed, recv_until

# A proxy silent this long on a case: STALL (longer when ferryd runs under sanitizers).
READ_TIMEOUT = 5.0 if os.environ.get("FERRY_SANITIZE") else 1.5
PROXIES = ("ferry", "haproxy", "nginx")

# Today's known gaps, where Ferry forwards what HAProxy or nginx refuses or sanitises: case -> why
# (the issue 13 item whose fix closes it). Remove an entry when its fix lands: the test then
# fails with "XPASS" until it is removed, so the list stays true.
# Every case issue 13 found laxer than a peer is fixed (items 1, 2, 5, 7, 8 and the Host port);
# a new gap goes here, with its issue, until it is closed.
KNOWN_LAX = {}


# ----------------------------------------------------------------------------------------------
# The recording backend: one listener per proxy, HTTP/1.1 keep-alive, 200 to everything
# ----------------------------------------------------------------------------------------------

class Recorder:
    """Records every request head (as soon as it is read) with the case tokens found in it and
    whether its body (framed by the head's Content-Length / chunked) was completely received.
    Answers 200 `ok` with `X-Backend: 1`; a CONNECT gets a bare 200 and what follows on the
    connection is recorded as further "heads" (tunnelled bytes)."""

    TOKEN = re.compile(rb"dc(\d{3})([pz])")

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals = {p: [] for p in PROXIES}
        self.servers = {p: TcpServer(lambda c, s, p=p: self._serve(p, c), name="rec-" + p) for p in PROXIES}
        self.ports = {p: s.port for p, s in self.servers.items()}

    def _record(self, proxy, head):
        rec = {"head": head, "complete": None, "tokens": set(m.group(0).decode() for m in self.TOKEN.finditer(head))}
        with self.lock:
            self.arrivals[proxy].append(rec)
        return rec

    def _serve(self, proxy, c):
        c.settimeout(10)
        buf = b""
        while True:
            try:
                head, buf = recv_until(c, b"\r\n\r\n", limit=1 << 20, buf=buf)
            except (ConnectionError, OSError, ValueError):
                if buf:
                    self._record(proxy, buf)["complete"] = False
                return
            rec = self._record(proxy, head)
            lines = head.split(b"\r\n")
            hdrs = C.parse_headers(head)
            te = b",".join(v for k, v in hdrs if k == b"transfer-encoding").lower()
            cl = [v for k, v in hdrs if k == b"content-length"]
            try:
                if te.split(b",")[-1].strip() == b"chunked":
                    body, buf = self._chunked(c, buf)
                elif cl:
                    n = int(cl[0])
                    while len(buf) < n:
                        d = c.recv(65536)
                        if not d:
                            raise ConnectionError("eof in body")
                        buf += d
                    body, buf = buf[:n], buf[n:]
                else:
                    body = b""
            except (ConnectionError, OSError, ValueError):
                rec["complete"] = False
                return
            rec["body"] = body
            rec["tokens"] |= set(m.group(0).decode() for m in self.TOKEN.finditer(body))
            rec["complete"] = True
            if lines[0].startswith(b"CONNECT "):
                c.sendall(b"HTTP/1.1 200 OK\r\nX-Backend: 1\r\n\r\n")
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nX-Backend: 1\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")

    @staticmethod
    def _chunked(c, buf):
        body = bytearray()
        while True:
            line, buf = recv_until(c, b"\r\n", buf=buf)
            size = int(line[:-2].split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    line, buf = recv_until(c, b"\r\n", buf=buf)
                    if line == b"\r\n":
                        return bytes(body), buf
            while len(buf) < size + 2:
                d = c.recv(65536)
                if not d:
                    raise ConnectionError("eof in chunk")
                buf += d
            if buf[size:size + 2] != b"\r\n":
                raise ValueError("bad chunk end")
            body += buf[:size]
            buf = buf[size + 2:]

    def for_token(self, proxy, token):
        with self.lock:
            return [r for r in self.arrivals[proxy] if token in r["tokens"]]

    def unattributed(self, proxy):
        with self.lock:
            return [r for r in self.arrivals[proxy] if not r["tokens"]]

    def close(self):
        for s in self.servers.values():
            s.close()


# ----------------------------------------------------------------------------------------------
# The three proxies
# ----------------------------------------------------------------------------------------------

def start_ferry(be_port):
    cfg = base_config(workers=1, admin=False) \
        + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be_port)]) \
        + section("app a", "hosts a.test", "backend pool")
    f = Ferry(cfg)
    return f.port("web"), f.port("web")


HAPROXY_CFG = """global
    nbthread 1
    pidfile {d}/haproxy.pid
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 5s
    timeout http-request 5s
frontend h1
    bind 127.0.0.1:{p1}
    default_backend b
frontend h2
    bind 127.0.0.1:{p2} proto h2
    default_backend b
backend b
    server s1 127.0.0.1:{be}
"""

NGINX_CFG = """daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/nginx-tmp/body;
    proxy_temp_path {d}/nginx-tmp/proxy;
    fastcgi_temp_path {d}/nginx-tmp/fastcgi;
    uwsgi_temp_path {d}/nginx-tmp/uwsgi;
    scgi_temp_path {d}/nginx-tmp/scgi;
    upstream b {{
        server 127.0.0.1:{be};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{p1};
        listen 127.0.0.1:{p2} http2;
        location / {{
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def start_peer(kind, be_port):
    """HAProxy or nginx on two fresh ports (HTTP/1 and h2c prior knowledge); retried with other
    ports if the program exits before listening (a port taken between choosing and binding)."""
    d = tmpdir()
    for attempt in range(3):
        p1, p2 = free_port_closed(), free_port_closed()
        if kind == "haproxy":
            path = os.path.join(d, "haproxy.cfg")
            argv = ["haproxy", "-db", "-f", path]
            text = HAPROXY_CFG.format(d=d, p1=p1, p2=p2, be=be_port)
        else:
            os.makedirs(os.path.join(d, "nginx-tmp"), exist_ok=True)
            path = os.path.join(d, "nginx.conf")
            argv = ["nginx", "-p", d, "-c", path, "-e", os.path.join(d, "nginx-stderr.log")]
            text = NGINX_CFG.format(d=d, p1=p1, p2=p2, be=be_port)
        with open(path, "w") as f:
            f.write(text)
        p = PeerProcess(kind, argv, [p1, p2], os.path.join(d, "%s-%d.log" % (kind, attempt)))
        if p.start():
            return p1, p2
        print("  %s exited before listening (attempt %d): %s" % (kind, attempt + 1, p.log[-500:].strip()))
        p.close()
    raise AssertionError("%s did not start" % kind)


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------

def _h1_answer(c, method):
    """One response on RawConn c: its status as text, or close / timeout / garbage."""
    try:
        while True:
            _, status, _, headers, _ = c.read_head(timeout=READ_TIMEOUT)
            if 100 <= status < 200 and status != 101:
                continue
            break
        r = Response(status, "", headers, b"")
        if not (status == 101 or (method == b"CONNECT" and 200 <= status < 300) or status in (204, 304)):
            if "chunked" in (r.header("Transfer-Encoding") or "").lower():
                while True:
                    size = int(c._read_line().split(b";")[0].strip(), 16)
                    if size == 0:
                        while c._read_line() != b"":
                            pass
                        break
                    c._read_n(size + 2)
            elif r.header("Content-Length") is not None:
                c._read_n(int(r.header("Content-Length")))
            else:
                c.read_all(READ_TIMEOUT)
        return str(status)
    except socket.timeout:
        return "timeout"
    except (ConnectionError, OSError):
        return "close"
    except (AssertionError, ValueError):
        return "garbage"


def run_h1(case, port):
    c = RawConn(port, timeout=READ_TIMEOUT)
    try:
        c.send(case.request)
        method = case.request.split(b" ", 1)[0]
        answer = _h1_answer(c, method)
        if case.followup is not None and answer not in ("close", "timeout", "garbage"):
            try:
                c.send(case.followup)
                answer += "/" + _h1_answer(c, b"GET")
            except OSError:
                answer += "/close"
        return answer
    finally:
        c.close()


def run_h2(case, port):
    try:
        conn = H2Conn.connect(port, timeout=READ_TIMEOUT)
    except OSError as e:
        return "connect failed: %s" % e
    try:
        sid = 1
        end_on_headers = case.body is None and case.trailers is None
        conn.send_headers(sid, case.fields, end_stream=end_on_headers or case.end_on_headers)
        if case.body is not None and not case.end_on_headers:
            conn.send(data_frame(sid, case.body, end_stream=case.trailers is None))
        if case.trailers is not None:
            conn.send_headers(sid, case.trailers, end_stream=True)
        st = conn._stream(sid)
        deadline = time.monotonic() + READ_TIMEOUT
        while not st.done and conn.goaway is None and not conn.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                conn.read_frame(timeout=left)
            except socket.timeout:
                break
            except OSError:
                break
        if st.headers is not None:
            return st.header(":status")
        if st.reset is not None:
            return "RST:" + error_name(st.reset)
        if conn.goaway is not None:
            return "GOAWAY:" + error_name(conn.goaway[1])
        return "close" if conn.eof else "timeout"
    except OSError:
        return "close"
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------------
# Classification and report
# ----------------------------------------------------------------------------------------------

def classify(case, answer, arrivals):
    """FWD / SAN / REF / STALL / OK (see the module comment); a body case whose head reached the
    backend without its complete body is REF* (the head only: the proxy aborted the body)."""
    got = [a for a in arrivals if a["complete"] or not case.body_case]
    if any(case.unsafe(a["head"]) for a in got):
        return "FWD"
    if got:
        return "SAN"
    last = answer.split("/")[-1]
    if last == "timeout":
        return "STALL"
    if last.isdigit() and int(last) < 400:
        return "OK"
    return "REF*" if arrivals else "REF"


SAFE = ("REF", "REF*", "SAN")


def verdict(case, out):
    f, peers = out["ferry"], [out["haproxy"], out["nginx"]]
    if case.control:
        return "control" if all(o == "FWD" for o in out.values()) else "CONTROL BROKEN"
    peer_safe = any(p in SAFE for p in peers)
    if f == "FWD" and peer_safe:
        if case.valid:
            return "laxer (valid per RFC)"
        if case.name in KNOWN_LAX:
            return "xfail (%s)" % KNOWN_LAX[case.name]
        return "LAXER"
    if f != "FWD" and case.name in KNOWN_LAX and peer_safe:
        return "XPASS (remove from KNOWN_LAX)"
    if f != "FWD" and any(p == "FWD" for p in peers):
        return "stricter"
    return "same" if f == "FWD" or peer_safe else "ferry safe"


def test_differential():
    for tool in ("haproxy", "nginx"):
        if not shutil.which(tool):
            skip("%s is not installed (scripts/install-deps.sh test installs it)" % tool)
    cases = C.cases()
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    assert not set(KNOWN_LAX) - set(names), "KNOWN_LAX names unknown cases: %r" % (set(KNOWN_LAX) - set(names))
    t0 = time.monotonic()
    rec = register(Recorder())
    ports = {"ferry": start_ferry(rec.ports["ferry"]),
             "haproxy": start_peer("haproxy", rec.ports["haproxy"]),
             "nginx": start_peer("nginx", rec.ports["nginx"])}
    figure("differential_startup", "%.2f" % (time.monotonic() - t0), "s")

    def job(case, proxy):
        h1_port, h2_port = ports[proxy]
        return run_h1(case, h1_port) if case.proto == "h1" else run_h2(case, h2_port)

    t1 = time.monotonic()
    answers = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        futs = {pool.submit(job, c, p): (c.name, p) for c in cases for p in PROXIES}
        for fut in concurrent.futures.as_completed(futs):
            answers[futs[fut]] = fut.result()
    time.sleep(0.3)  # a head forwarded just before a proxy's error answer is recorded by now
    figure("differential_requests", len(cases) * len(PROXIES))
    figure("differential_send_time", "%.2f" % (time.monotonic() - t1), "s")

    rows, report = [], []
    for c in cases:
        out, cells, heads = {}, {}, {}
        for p in PROXIES:
            arr = rec.for_token(p, c.token)
            out[p] = classify(c, answers[(c.name, p)], arr)
            cells[p] = "%s %s" % (answers[(c.name, p)], out[p])
            heads[p] = [{"head": a["head"].decode("latin-1"), "complete": a["complete"]} for a in arr]
        v = verdict(c, out)
        rows.append((c, cells, v))
        report.append({"case": c.name, "proto": c.proto, "clause": c.clause, "verdict": v,
                       "outcome": out, "answer": {p: answers[(c.name, p)] for p in PROXIES},
                       "backend_heads": heads, "request": c.describe()})
    table = format_table(rows) + "\n" + summary(rows)
    unattributed = {p: [a["head"].decode("latin-1")[:200] for a in rec.unattributed(p)] for p in PROXIES}
    print(table)
    for p, u in unattributed.items():
        if u:
            print("  unattributed heads at the backend from %s: %r" % (p, u))
    save_report(table, report, unattributed)

    by = lambda prefix: [r for r in rows if r[2].startswith(prefix)]  # noqa: E731
    figure("differential_cases", len(cases))
    figure("differential_ferry_laxer_known", len(by("xfail")))
    figure("differential_ferry_laxer_valid", len(by("laxer")))
    figure("differential_ferry_stricter", len(by("stricter")))
    problems = ["%s: %s (ferry %s, haproxy %s, nginx %s)" % (c.name, v, cells["ferry"], cells["haproxy"], cells["nginx"])
                for c, cells, v in rows if v in ("LAXER", "CONTROL BROKEN") or v.startswith("XPASS")]
    assert not problems, "%d case(s):\n  %s" % (len(problems), "\n  ".join(problems))


def format_table(rows):
    w = max(len(c.name) for c, _, _ in rows)
    wc = max(len(c.clause) for c, _, _ in rows)
    cw = {p: max(len(p), max(len(cells[p]) for _, cells, _ in rows)) for p in PROXIES}
    head = "%-*s  %-*s  %s  %s" % (w, "case", wc, "clause", "  ".join("%-*s" % (cw[p], p) for p in PROXIES), "verdict")
    out = [LEGEND, head, "-" * len(head)]
    for c, cells, v in rows:
        out.append("%-*s  %-*s  %s  %s" % (w, c.name, wc, c.clause, "  ".join("%-*s" % (cw[p], cells[p]) for p in PROXIES), v))
    return "\n".join(out)


LEGEND = ("FWD forwarded as sent, SAN forwarded sanitised, REF refused (REF*: head forwarded, body aborted), "
          "STALL no answer in %.1fs, OK answered < 400 without forwarding; a/b = first answer/follow-up answer"
          % READ_TIMEOUT)


def summary(rows):
    """The cases where Ferry is laxer or stricter than a peer, by kind."""
    out = []
    for title, pick in (("Ferry laxer than a peer, known (KNOWN_LAX)", lambda v: v.startswith("xfail")),
                        ("Ferry laxer than a peer, request valid per RFC", lambda v: v.startswith("laxer")),
                        ("Ferry laxer than a peer, NOT EXPECTED", lambda v: v == "LAXER"),
                        ("Ferry stricter than a peer", lambda v: v == "stricter")):
        hits = ["%s (%s)" % (c.name, c.clause) for c, _, v in rows if pick(v)]
        out.append("%s: %d%s" % (title, len(hits), "".join("\n    " + h for h in hits)))
    return "\n".join(out)


def save_report(table, report, unattributed):
    paths = [os.path.join(tmpdir(), "differential")]
    if os.environ.get("FERRY_DIFF_REPORT"):
        paths.append(os.environ["FERRY_DIFF_REPORT"])
    for base in paths:
        base = base[:-4] if base.endswith(".txt") else base
        with open(base + ".txt", "w") as f:
            f.write(table + "\n")
        with open(base + ".json", "w") as f:
            json.dump({"cases": report, "unattributed": unattributed}, f, indent=1)
        print("  report: %s.txt, %s.json" % (base, base))


if __name__ == "__main__":
    main()
