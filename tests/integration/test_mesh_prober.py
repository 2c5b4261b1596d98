"""The mesh prober's verdict against a peer that misbehaves in a known way (loopback, no
WireGuard: `driver userspace` with no program, as in test_edge_peers.py). The peer is a fake
HTTP/2 backhaul on 127.0.0.3 written here: it answers PINGs while told to, and never answers
the load report request (GET /.ferry/load), the way a peer that dies right after a PING answer
looks from the edge.

  stalled_report  PINGs go on every `ping-interval` while a load report hangs (before, the
                  prober waited for the report, so a peer that died in that window was declared
                  unreachable up to twice peer-timeout after its last answer, and the requests
                  on its connections waited that long);
  verdict_time    once the peer stops answering, it is declared unreachable peer-timeout after
                  its last answer (within one ping-interval and the prober's 50 ms tick).
"""
import base64
import json
import os
import socket
import threading
import time

from ferrykit.config import base_config, section
from ferrykit.h2frames import ACK, HEADERS, PING, PREFACE, SETTINGS, parse_frame, ping_frame, settings_frame
from ferrykit.runner import Ferry
from ferrykit.suite import figure, main, tmpdir, wait_until
from ferrykit.wire import free_port_closed, request

PING_INTERVAL = 0.1
PEER_TIMEOUT = 1.0


class FakeBackhaul:
    """An HTTP/2 server on 127.0.0.3 that ACKs SETTINGS, answers PINGs while `answer` is set
    (recording when it last did) and leaves every stream unanswered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.3", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.answer = threading.Event()
        self.answer.set()
        self.last_answer = 0.0
        self.streams = 0  # HEADERS frames seen (load report requests)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = bytearray()
        try:
            c.sendall(settings_frame())
            while True:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
                if buf.startswith(PREFACE):
                    del buf[:len(PREFACE)]
                while True:
                    f = parse_frame(buf)
                    if f is None:
                        break
                    if f.type == SETTINGS and not f.flags & ACK:
                        c.sendall(settings_frame(ack=True))
                    elif f.type == PING and not f.flags & ACK and self.answer.is_set():
                        c.sendall(ping_frame(f.payload, ack=True))
                        with self.lock:
                            self.last_answer = time.time()
                    elif f.type == HEADERS:  # a request, never answered
                        with self.lock:
                            self.streams += 1
        except OSError:
            return
        finally:
            c.close()


def _config(fake):
    key = os.path.join(tmpdir(), "wg.key")
    with open(key, "w") as fh:
        fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(key, 0o600)
    port = free_port_closed("127.0.0.2")
    return base_config() + section(
        "mesh", "interface fpr%d" % (os.getpid() % 100000), "private-key %s" % key, "address 127.0.0.2/32",
        "backhaul 127.0.0.2:%d" % port, "driver userspace",
        "ping-interval %dms" % int(PING_INTERVAL * 1000), "peer-timeout %dms" % int(PEER_TIMEOUT * 1000),
        "peer far", "    public-key %s" % base64.b64encode(os.urandom(32)).decode(),
        "    allowed-ips 127.0.0.3/32", "    backhaul 127.0.0.3:%d" % fake.port, "    region r1")


def _peer(f):
    r = request(f.admin_port, "/api/v1/mesh", host="127.0.0.1:%d" % f.admin_port, timeout=5)
    assert r.status == 200, r
    return [p for p in json.loads(r.body)["backhaul"] if p["name"] == "far"][0]


def test_pings_go_on_while_a_load_report_hangs_and_the_verdict_comes_on_time():
    fake = FakeBackhaul()
    with Ferry(_config(fake)) as f:
        wait_until(lambda: fake.streams >= 1, timeout=10, what="the prober asks the fake peer for its load report")
        p0 = _peer(f)
        time.sleep(3 * PEER_TIMEOUT)
        p1 = _peer(f)
        pings = p1["pings"] - p0["pings"]
        figure("stalled load report: PINGs in %.0f s (ping-interval %.0f ms)" % (3 * PEER_TIMEOUT, PING_INTERVAL * 1000),
               pings)
        assert p1["reachable"], p1
        # One PING per interval would be 30; before, about one per peer-timeout (3).
        assert pings >= 10, (p0, p1)

        fake.answer.clear()
        m = f.wait_log(r"mesh: peer far unreachable", timeout=10)
        t_verdict = time.time()
        with fake.lock:
            late = t_verdict - fake.last_answer
        figure("peer stopped answering: last PING answer -> 'unreachable' logged (peer-timeout %.0f ms)"
               % (PEER_TIMEOUT * 1000), "%.2f" % late, "s")
        assert not _peer(f)["reachable"]
        # peer-timeout, plus the interval (the PING in flight when it stopped answering may have
        # been sent just before the last answer) and the 50 ms tick, plus log polling.
        assert late < PEER_TIMEOUT + PING_INTERVAL + 0.4, (late, m.group(0))


if __name__ == "__main__":
    main()
