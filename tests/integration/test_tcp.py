"""TCP mode: bytes forwarded both ways, half-close propagated, balancing over servers."""
import os
import socket
import threading

from ferrykit.backends import TcpEchoBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main
from ferrykit.wire import RawConn, connect, dead_port, recv_all


def _setup(n=1, extra=()):
    echoes = [TcpEchoBackend("echo%d" % i) for i in range(n)]
    cfg = base_config()
    cfg += section("frontend tcp", "bind 127.0.0.1:0", "mode tcp", "app echo", *extra)
    cfg += backend_section("echo-pool", [("e%d" % i, e.port) for i, e in enumerate(echoes)], "balance roundrobin")
    cfg += section("app echo", "backend echo-pool")
    return Ferry(cfg), echoes


def test_echo_interactive():
    f, (e,) = _setup()
    s = connect(f.port("tcp"))
    for i in range(10):
        msg = b"ping %d\n" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            got += s.recv(100)
        assert got == msg, got
    s.close()


def test_half_close():
    f, (e,) = _setup()
    s = connect(f.port("tcp"))
    data = os.urandom(2 * 1024 * 1024)
    # Write everything from a thread (the echo comes back concurrently), then shut down writes.
    def writer():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = recv_all(s, timeout=20)
    t.join(5)
    trailer = b"--eof after %d bytes--\n" % len(data)
    assert got.endswith(trailer), "the upstream's reply after our half-close did not arrive: tail %r" % got[-60:]
    assert got[:-len(trailer)] == data, "echoed bytes differ (%d vs %d)" % (len(got) - len(trailer), len(data))


def test_half_close_before_any_reply():
    f, (e,) = _setup()
    s = connect(f.port("tcp"))
    s.sendall(b"only this")
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s, timeout=10)
    assert got == b"only this--eof after 9 bytes--\n", got


def test_tcp_roundrobin_and_concurrency():
    f, echoes = _setup(n=2)
    socks = [connect(f.port("tcp")) for _ in range(10)]
    for i, s in enumerate(socks):
        s.sendall(b"c%d" % i)
        s.shutdown(socket.SHUT_WR)
    for i, s in enumerate(socks):
        assert recv_all(s, timeout=10).startswith(b"c%d--eof" % i)
    counts = [e.accepted for e in echoes]
    print("  connections per server: %r" % counts)
    assert sum(counts) == 10 and min(counts) >= 3, counts


def test_tcp_upstream_down_closes_client():
    dead = dead_port()
    cfg = base_config() + section("frontend tcp", "bind 127.0.0.1:0", "mode tcp", "app echo") \
        + backend_section("echo-pool", [("dead", dead)], "retries 0") + section("app echo", "backend echo-pool")
    f = Ferry(cfg)
    c = RawConn(f.port("tcp"))
    c.send(b"hello")
    assert c.wait_closed(5), "client connection left open with no upstream"
    assert c.buf == b"", "unexpected bytes %r" % bytes(c.buf)


if __name__ == "__main__":
    main()
