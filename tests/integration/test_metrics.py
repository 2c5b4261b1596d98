"""GET /metrics: exact counts after known traffic (2xx, 4xx, budget 503s, TCP), the
exposition passes `promtool check metrics`, a real Prometheus scrapes it and rate() moves, and a
10,000-app scrape takes well under a second."""
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import json
import http.client

from ferrykit.backends import HttpBackend, TcpEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.h2client import H2Conn
from ferrykit.procs import ChildProcess
from ferrykit.runner import Ferry, metric_value, parse_metrics, scrape_metrics
from ferrykit.suite import figure, main, skip, tmpdir, wait_until
from ferrykit.tls import TlsCerts
from ferrykit.wire import RawConn, connect, free_port_closed, recv_all, request

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"

def metrics(f):
    status, ctype, body = scrape_metrics(f)
    assert status == 200, (status, body[:200])
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
    return body, parse_metrics(body)


def promtool_check(body):
    """`promtool check metrics` finds nothing to report (exit 0, no output)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=body.encode(), capture_output=True, timeout=60)
    report = (p.stdout + p.stderr).decode().strip()
    assert p.returncode == 0 and report == "", "promtool check metrics:\n%s" % report


def _setup():
    """ferryd with the default access log (stderr) in front of an HTTP, a slow and a TCP backend."""
    be = HttpBackend("web")
    slow = HttpBackend("slow", delay=1.5)
    echo = TcpEchoBackend("echo")
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http")
    cfg += section("frontend tcp", "bind 127.0.0.1:0", "mode tcp", "app echo")
    cfg += backend_section("pool", [("s1", be.port)])
    cfg += backend_section("slowpool", [("slow1", slow.port)])
    cfg += backend_section("echo-pool", [("e1", echo.port)])
    cfg += section("app shop", "hosts shop.test", "backend pool", "concurrency soft 10 hard 50 queue 5")
    cfg += section("app tight", "hosts tight.test", "backend slowpool", "concurrency hard 1 queue 0")
    cfg += section("app lane", "hosts lane.test", "backend slowpool", "concurrency hard 1 queue 5")
    cfg += section("app echo", "mode tcp", "backend echo-pool")
    return Ferry(cfg), be, slow, echo


def test_exact_counts_and_promtool():
    f, be, slow, echo = _setup()
    port = f.port("web")
    _, before = metrics(f)
    n = 25
    for i in range(n):
        r = request(port, "/x?size=100", host="shop.test")
        assert r.status == 200, r
    for i in range(3):
        r = request(port, "/x?status=404", host="shop.test")
        assert r.status == 404, r
    # The budget: one slow request holds tight's only unit, the next one is refused (503).
    holder = threading.Thread(target=lambda: request(port, "/hold", host="tight.test"), daemon=True)
    holder.start()
    wait_until(lambda: slow.in_flight == 1, timeout=5, what="the slow request at the backend")
    r = request(port, "/x", host="tight.test")
    assert r.status == 503, r
    holder.join(10)
    # The queue: the second request to lane waits for the first one's unit (about 1.5 s).
    first = threading.Thread(target=lambda: request(port, "/first", host="lane.test"), daemon=True)
    first.start()
    wait_until(lambda: slow.in_flight == 1, timeout=5, what="lane's first request at the backend")
    t0 = time.monotonic()
    r = request(port, "/second", host="lane.test")
    waited = time.monotonic() - t0
    assert r.status == 200, r
    first.join(10)
    # Two TCP connections with known byte counts.
    for payload in (b"a" * 1000, b"b" * 500):
        s = connect(f.port("tcp"))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        s.close()
        assert got.startswith(payload), got[:40]

    def settled():
        _, m = metrics(f)
        # TCP connections are counted when they end, a moment after the client sees EOF.
        tcp = metric_value(m, "ferry_app_requests_total", app="echo", protocol="tcp", status_class="none")
        return m if tcp >= 2 else None
    after = wait_until(settled, timeout=5, what="the TCP connections counted")
    body, _ = metrics(f)

    def delta(name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)
    assert delta("ferry_app_requests_total", app="shop", protocol="http1", status_class="2xx") == n
    assert delta("ferry_app_requests_total", app="shop", protocol="http1", status_class="4xx") == 3
    assert delta("ferry_app_request_duration_seconds_count", app="shop") == n + 3
    assert delta("ferry_app_request_duration_seconds_bucket", app="shop", le="+Inf") == n + 3
    assert delta("ferry_app_sent_bytes_total", app="shop") >= n * 100
    assert delta("ferry_app_rejected_requests_total", app="tight") == 1
    assert delta("ferry_app_requests_total", app="tight", protocol="http1", status_class="5xx") == 1
    assert delta("ferry_app_requests_total", app="tight", protocol="http1", status_class="2xx") == 1
    assert delta("ferry_app_rejected_requests_total", app="shop") == 0
    assert delta("ferry_app_rejected_requests_total", app="lane") == 0
    assert delta("ferry_app_queue_wait_seconds_count", app="lane") == 1
    wait_sum = delta("ferry_app_queue_wait_seconds_sum", app="lane")
    assert 0.5 < wait_sum <= waited, (wait_sum, waited)
    assert delta("ferry_app_queue_wait_seconds_bucket", app="lane", le="0.25") == 0
    assert delta("ferry_app_queue_wait_seconds_bucket", app="lane", le="+Inf") == 1
    assert metric_value(after, "ferry_app_queue_wait_seconds_count", app="shop") == 0  # never queued: no series
    assert delta("ferry_app_requests_total", app="echo", protocol="tcp", status_class="none") == 2
    assert delta("ferry_app_received_bytes_total", app="echo") == 1500
    assert metric_value(after, "ferry_app_concurrency_hard_limit", app="shop") == 50
    assert metric_value(after, "ferry_app_concurrency_soft_limit", app="shop") == 10
    assert metric_value(after, "ferry_app_requests_in_flight", app="shop") == 0
    assert metric_value(after, "ferry_server_healthy", backend="pool", server="s1") == 1
    assert metric_value(after, "ferry_server_drained", backend="pool", server="s1") == 0
    assert metric_value(after, "ferry_server_responses_total", backend="pool", server="s1") >= n + 3
    # Every HTTP request above used its own connection.
    assert delta("ferry_frontend_connections_total", frontend="web") >= n + 3 + 2
    assert delta("ferry_frontend_connections_total", frontend="tcp") == 2
    assert metric_value(after, "ferry_config_generation") == 1
    assert metric_value(after, "ferry_config_last_reload_successful") == 1
    assert any(k[0] == "ferry_build_info" and ("node", "it-node") in k[1] for k in after), "ferry_build_info"
    rss = metric_value(after, "process_resident_memory_bytes")
    assert rss > 1e6, rss
    start = metric_value(after, "process_start_time_seconds")
    assert abs(start - time.time()) < 600, start
    assert metric_value(after, "process_open_fds") > 5 and metric_value(after, "process_max_fds") > 0

    if not os.path.exists(PROMTOOL):
        skip("promtool not installed (%s): the counts above passed" % PROMTOOL)
    promtool_check(body)
    figure("metrics exposition size (3 apps)", len(body), "bytes")


def test_tls_and_http2_counters():
    certs = TlsCerts()
    be = HttpBackend("tls-be")
    cfg = base_config(global_extra=["access-log off"])  # counting does not need the access log
    cfg += section("frontend secure", "bind 127.0.0.1:0 tls", "mode http")
    cfg += backend_section("pool", [("s1", be.port)])
    cfg += section("app a", "hosts a.test", "backend pool", "certificate %s" % certs.issue("cert-a", ["a.test"]))
    f = Ferry(cfg)
    port = f.port("secure")
    _, before = metrics(f)
    # Two handshakes for a name without a certificate (no default): refused.
    for _ in range(2):
        try:
            RawConn(port, tls=certs.client(), sni="unknown.test").close()
            raise AssertionError("a handshake for a name without a certificate succeeded")
        except (ssl.SSLError, ConnectionError, OSError):
            pass
    # HTTP/1.1 over TLS, then three HTTP/2 streams on one h2 connection.
    c = RawConn(port, tls=certs.client(), sni="a.test")
    c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    assert c.read_response().status == 200
    c.close()
    h2 = H2Conn.connect(port, tls=certs.client(), sni="a.test")
    for i in range(3):
        assert h2.get("a.test", "/h2/%d" % i).status == 200
    h2.close()

    def delta(after, name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    def settled():
        _, m = metrics(f)
        return m if delta(m, "ferry_frontend_active_connections", frontend="secure") == 0 else None
    after = wait_until(settled, timeout=5, what="the TLS connections closed")
    assert delta(after, "ferry_frontend_tls_handshake_failures_total", frontend="secure", reason="no-certificate") == 2
    assert delta(after, "ferry_frontend_tls_handshake_failures_total", frontend="secure", reason="protocol") == 0
    assert delta(after, "ferry_frontend_tls_handshakes_total", frontend="secure") == 2
    assert delta(after, "ferry_frontend_connections_total", frontend="secure") == 4
    assert delta(after, "ferry_app_requests_total", app="a", protocol="http1", status_class="2xx") == 1
    assert delta(after, "ferry_app_requests_total", app="a", protocol="http2", status_class="2xx") == 3
    # The certificate's notAfter (issued for 30 days).
    expiry = metric_value(after, "ferry_certificate_expiry_timestamp_seconds", app="a", frontend="", source="file")
    assert time.time() + 29 * 86400 < expiry < time.time() + 31 * 86400, expiry
    if os.path.exists(PROMTOOL):  # with the TLS and certificate families
        promtool_check(metrics(f)[0])


def test_active_connections_across_reload():
    f, be, slow, echo = _setup()
    port = f.port("web")
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(3)]
    for c in conns:
        assert request(port, "/", host="shop.test", conn=c).status == 200

    def active():
        _, m = metrics(f)
        return metric_value(m, "ferry_frontend_active_connections", frontend="web")
    wait_until(lambda: active() == 3, timeout=5, what="3 active connections")
    f.reload()
    for c in conns:  # served under the new plan (same frontend: the same counters)
        assert request(port, "/", host="shop.test", conn=c).status == 200
    assert active() == 3
    for c in conns:
        c.close()
    wait_until(lambda: active() == 0, timeout=5, what="no active connection")
    _, m = metrics(f)
    assert metric_value(m, "ferry_config_generation") == 2
    assert metric_value(m, "ferry_config_reloads_total", result="success") == 1
    assert metric_value(m, "ferry_config_reloads_total", result="failure") == 0
    assert metric_value(m, "ferry_app_requests_total", app="shop", protocol="http1", status_class="2xx") == 6


def test_prometheus_scrapes_and_rate_moves():
    if not os.path.exists(PROMETHEUS):
        skip("prometheus not installed (%s)" % PROMETHEUS)
    f, be, slow, echo = _setup()
    port = f.port("web")
    tmp = tmpdir()
    prom_port = free_port_closed()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as cf:
        cf.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                 "scrape_configs:\n  - job_name: ferry\n    metrics_path: /metrics\n"
                 "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % f.admin_port)
    prom = ChildProcess([PROMETHEUS, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                         "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                         "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
                        os.path.join(tmp, "prometheus.log"), stop=signal.SIGKILL)

    def query(q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom_port, urllib.parse.urlencode({"query": q}))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                data = json.loads(r.read())
        except OSError:
            return None
        assert data["status"] == "success", data
        return data["data"]["result"]

    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                request(port, "/", host="shop.test", timeout=5)
            except OSError:
                pass
            time.sleep(0.02)
    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    try:
        def up():
            r = query('up{job="ferry"}')
            return r and r[0]["value"][1] == "1"
        wait_until(up, timeout=30, interval=0.5, what="Prometheus scraping ferryd (up == 1)")

        def rate():
            r = query('rate(ferry_app_requests_total{app="shop",status_class="2xx"}[5s])')
            if r and float(r[0]["value"][1]) > 0:
                return float(r[0]["value"][1])
            return None
        got = wait_until(rate, timeout=30, interval=0.5, what="rate(ferry_app_requests_total) > 0")
        figure("prometheus rate(ferry_app_requests_total{app=shop}[5s])", "%.1f" % got, "req/s")
        # The histogram is usable as such: a quantile over its buckets.
        q = query('histogram_quantile(0.9, rate(ferry_app_request_duration_seconds_bucket{app="shop"}[5s]))')
        assert q and float(q[0]["value"][1]) > 0, q
    finally:
        stop.set()
        t.join(10)
        prom.close()
    assert prom.proc.returncode is not None


def _timed_scrapes(f, count=3):
    """[seconds of each scrape], the last body."""
    times, body = [], ""
    for _ in range(count):
        t0 = time.monotonic()
        status, _, body = scrape_metrics(f, timeout=30)
        times.append(time.monotonic() - t0)
        assert status == 200
    return times, body


def check_scrape_time(times, what):
    """The 1 s bound of issue 6 holds for the optimised build; under the sanitizers (several
    times slower) the figures are printed only."""
    if os.environ.get("FERRY_SANITIZE"):
        print("time bound not checked under sanitizers (%s): %s" % (os.environ["FERRY_SANITIZE"], times))
        return
    assert min(times) < 1.0, "a /metrics scrape of %s took %s s" % (what, times)


def test_scrape_of_10000_apps():
    """10,000 apps, first idle, then 2,000 of them with traffic (FERRY_METRICS_ACTIVE=N for
    another number, up to all 10,000: the worst case)."""
    be = HttpBackend("many")
    n, active = 10000, int(os.environ.get("FERRY_METRICS_ACTIVE", "2000"))
    # The access log off: requests are counted all the same (their log entry is skipped).
    parts = [base_config(global_extra=["access-log off"]), section("frontend web", "bind 127.0.0.1:0", "mode http"),
             backend_section("pool", [("s1", be.port)])]
    for i in range(n):
        parts.append("app a%05d\n    hosts a%05d.test\n    backend pool\n\n" % (i, i))
    t0 = time.monotonic()
    f = Ferry("".join(parts), ready_timeout=60)
    figure("ferryd start-up with %d apps" % n, "%.2f" % (time.monotonic() - t0), "s")
    scrape_metrics(f, timeout=30)  # warm-up (first connection, allocator)

    # Idle apps (one request): about 7 lines per app.
    r = request(f.port("web"), "/", host="a04242.test")
    assert r.status == 200, r
    times, body = _timed_scrapes(f)
    samples = parse_metrics(body)
    figure("/metrics scrape, %d apps (1 with traffic)" % n, " ".join("%.3f" % t for t in times), "s")
    figure("/metrics size, %d apps (1 with traffic)" % n, len(body), "bytes")
    assert len([k for k in samples if k[0] == "ferry_app_received_bytes_total"]) == n
    assert len([k for k in samples if k[0] == "ferry_app_request_duration_seconds_count"]) == 1
    assert metric_value(samples, "ferry_app_requests_total", app="a04242", protocol="http1", status_class="2xx") == 1
    check_scrape_time(times, "%d idle apps" % n)

    # `active` apps with traffic (each then has its request counter and duration histogram).
    port = f.port("web")

    def drive(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(k, active, 4):
            assert request(port, "/", host="a%05d.test" % i, conn=conn).status == 200
        conn.close()
    threads = [threading.Thread(target=drive, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    times, body = _timed_scrapes(f)
    samples = parse_metrics(body)
    figure("/metrics scrape, %d apps (%d with traffic)" % (n, active), " ".join("%.3f" % t for t in times), "s")
    figure("/metrics size, %d apps (%d with traffic)" % (n, active), len(body), "bytes")
    with_traffic = active + (0 if 4242 < active else 1)  # a04242 had its request above
    assert len([k for k in samples if k[0] == "ferry_app_request_duration_seconds_count"]) == with_traffic
    assert sum(v for k, v in samples.items() if k[0] == "ferry_app_requests_total") == active + 1
    check_scrape_time(times, "%d apps (%d active)" % (n, active))


if __name__ == "__main__":
    main()
