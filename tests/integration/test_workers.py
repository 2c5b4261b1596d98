"""Connections over several workers (`workers 2`).

  spread   every worker listens on its own SO_REUSEPORT socket, and the kernel picks one by a
           hash of the connection's addresses: a few long connections can land unevenly. A
           worker that accepts while another serves clearly fewer connections hands the new one
           over (Worker::pick_worker: at least 2 + 1/8 more). 60 keep-alive HTTP connections and
           20 raw TCP ones, opened one after another, end up within that margin per worker
           (ferry_worker_connections{worker}); when they close, every worker's count is back to
           0 (the counting has no leak on either protocol).
"""
import socket
import time

from ferrykit.backends import HttpBackend, TcpEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, parse_metrics, scrape_metrics
from ferrykit.suite import figure, main, wait_until
from ferrykit.wire import RawConn, connect


def _per_worker(f):
    st, _, body = scrape_metrics(f)
    assert st == 200
    m = parse_metrics(body)
    counts = {dict(labels)["worker"]: int(v) for (name, labels), v in m.items() if name == "ferry_worker_connections"}
    return [counts[k] for k in sorted(counts)], int(m[("ferry_worker_handoffs_total", frozenset())])


def _within_margin(counts):
    least, most = min(counts), max(counts)
    return most < least + 2 + least // 8 + 1


def test_connections_spread_evenly_over_workers_and_are_counted_out():
    be = HttpBackend("b1")
    echo = TcpEchoBackend("e1")
    cfg = base_config(workers=2) + section("frontend web", "bind 127.0.0.1:0", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool") \
        + section("frontend tcp", "bind 127.0.0.1:0", "mode tcp", "app echo") \
        + backend_section("echo-pool", [("e1", echo.port)]) + section("app echo", "mode tcp", "backend echo-pool")
    with Ferry(cfg) as f:
        assert _per_worker(f)[0] == [0, 0]
        conns = []
        for i in range(60):
            c = RawConn(sock=connect(f.port("web")))
            c.send("GET /%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % i)
            assert c.read_response().status == 200
            conns.append(c)
        counts, handoffs = _per_worker(f)
        figure("60 keep-alive connections per worker", counts, "(%d handed over)" % handoffs)
        assert sum(counts) == 60 and _within_margin(counts), counts
        tcp = []
        for i in range(20):
            s = connect(f.port("tcp"))
            s.sendall(b"x")
            assert s.recv(1) == b"x"
            tcp.append(s)
        counts, handoffs = _per_worker(f)
        figure("and 20 raw TCP connections: per worker", counts, "(%d handed over)" % handoffs)
        assert sum(counts) == 80 and _within_margin(counts), counts
        for c in conns:
            c.sock.close()
        for s in tcp:
            s.close()
        wait_until(lambda: _per_worker(f)[0] == [0, 0], timeout=10, what="every worker's count back to 0")


if __name__ == "__main__":
    main()
