"""Automatic certificates with ACME (RFC 8555) and TLS-ALPN-01 (RFC 8737), against the real
Pebble test CA (Debian package `pebble`, which also ships `pebble-challtestsrv`).

Set-up per test: pebble-challtestsrv answers every A query with 127.0.0.1 (no AAAA), Pebble
uses it as its DNS server and validates tls-alpn-01 on Ferry's TLS bind port (Pebble's
`tlsPort`), PEBBLE_VA_NOSLEEP=1. Pebble's own HTTPS uses a throw-away CA made here with the
openssl CLI (Ferry trusts it with `ca-bundle`); issued certificates are checked against
Pebble's issuing root fetched from its management port (/roots/0).

Cases: two apps get certificates and are served (verified TLS + an HTTP request through Ferry);
a restart serves the stored certificates without a new order; renewal when one third of the
lifetime is left (Pebble issues 45 s certificates via `certificateValidityPeriod`), and a failed
renewal (Pebble stopped) keeps the old certificate served; a reload
adding a host orders a certificate covering it; `kill -9` during ACME activity leaves a store
that passes `PRAGMA integrity_check`, and the next start recovers; SIGTERM with a CA that never
answers still stops ferryd promptly. With `challenge http-01` (Pebble's `httpPort` = Ferry's plain
bind) a certificate is issued and served, and unknown challenge tokens are routed to the app.
The admin API shows each app's ACME state, and POST /api/v1/certificates/APP/renew orders at
once (a failed forced order shows `failed` with its error while the old certificate is served).
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
import urllib.request

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.procs import ChildProcess
from ferrykit.runner import Ferry
from ferrykit.suite import main, register, skip, tmpdir, wait_until
from ferrykit.tls import openssl, self_signed
from ferrykit.wire import free_port_closed, recv_all

PEBBLE = shutil.which("pebble")
CHALLTESTSRV = shutil.which("pebble-challtestsrv")


def _require_peers():
    missing = [n for n, p in (("pebble", PEBBLE), ("pebble-challtestsrv", CHALLTESTSRV), ("openssl", shutil.which("openssl")))
               if not p]
    if missing:
        skip("%s not installed (Debian package pebble; scripts/install-deps.sh test)" % ", ".join(missing))


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Pebble:
    """pebble-challtestsrv (DNS) + pebble, validating tls-alpn-01 on `tls_port` and http-01 on
    `http_port` (None: a closed port)."""

    def __init__(self, tls_port, validity=None, http_port=None, challenge="tls-alpn-01"):
        self.challenge = challenge
        d = os.path.join(tmpdir(), "pebble")
        os.makedirs(d, exist_ok=True)
        # Pebble's HTTPS certificate, from a CA of our own that Ferry trusts (ca-bundle).
        self.ca = os.path.join(d, "ca.pem")
        self_signed(self.ca, os.path.join(d, "ca.key"), "Ferry test CA for Pebble", days=2)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "wfe.key",
                "-out", "wfe.csr", "-subj", "/CN=localhost", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", "wfe.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "wfe.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
        self.dns_port = _free_udp_port()
        self.port = free_port_closed()
        self.mgmt_port = free_port_closed()
        chall_mgmt = free_port_closed()
        self.chall = ChildProcess([CHALLTESTSRV, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                                   "-dns01", "127.0.0.1:%d" % self.dns_port, "-http01", "", "-https01", "",
                                   "-tlsalpn01", "", "-management", "127.0.0.1:%d" % chall_mgmt],
                                  os.path.join(d, "challtestsrv.log"))
        cfg = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
            "certificate": os.path.join(d, "wfe.pem"),
            "privateKey": os.path.join(d, "wfe.key"),
            "httpPort": http_port if http_port else free_port_closed(),
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}
        if validity:
            cfg["pebble"]["certificateValidityPeriod"] = validity
        with open(os.path.join(d, "pebble.json"), "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1")
        self.pebble = ChildProcess([PEBBLE, "-config", os.path.join(d, "pebble.json"),
                                    "-dnsserver", "127.0.0.1:%d" % self.dns_port],
                                   os.path.join(d, "pebble.log"), env=env)
        self.directory = "https://localhost:%d/dir" % self.port
        ctx = ssl.create_default_context(cafile=self.ca)
        self._ctx = ctx

        def up():
            try:
                with urllib.request.urlopen(self.directory, context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        try:
            wait_until(up, timeout=15, interval=0.1, what="pebble's directory")
        except AssertionError:
            print(self.pebble.log[-2000:], self.chall.log[-2000:])
            raise
        self.root_path = os.path.join(d, "pebble-root.pem")
        with open(self.root_path, "w") as f:
            f.write(self.root())

    def root(self):
        url = "https://127.0.0.1:%d/roots/0" % self.mgmt_port
        with urllib.request.urlopen(url, context=self._ctx, timeout=5) as r:
            return r.read().decode()

    def acme_section(self):
        return section("acme", "directory %s" % self.directory, "email ops@ferry.example",
                       "challenge %s" % self.challenge, "ca-bundle %s" % self.ca)


def _config(tls_port, pebble, apps, backend_port):
    """apps: {name: [hosts]}; every app has `certificate acme`."""
    cfg = base_config(workers=2) \
        + section("frontend web", "bind 127.0.0.1:%d tls" % tls_port, "mode http") \
        + backend_section("pool", [("s1", backend_port)]) + pebble.acme_section()
    for name, hosts in apps.items():
        cfg += section("app %s" % name, "hosts %s" % " ".join(hosts), "backend pool", "certificate acme")
    return cfg


def _served(port, host, root):
    """TLS handshake verified against Pebble's root for `host`; returns (leaf DER, SAN names)."""
    ctx = ssl.create_default_context(cafile=root)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            cert = s.getpeercert()
            der = s.getpeercert(binary_form=True)
            sans = sorted(v for k, v in cert.get("subjectAltName", ()) if k == "DNS")
            s.sendall(("GET /acme-check HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
            data = recv_all(s)
    status = data.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 200"), "request to %s through Ferry: %r" % (host, data[:200])
    return der, sans


def _served_when_ready(port, host, root, timeout=60, not_der=None):
    """Waits until `host` is served with a certificate verified by Pebble's root (and different
    from `not_der`, when given)."""
    last = []

    def ok():
        try:
            der, sans = _served(port, host, root)
        except (OSError, ssl.SSLError, AssertionError) as e:
            last[:] = [repr(e)]
            return None
        if not_der is not None and der == not_der:
            last[:] = ["still the old certificate"]
            return None
        return der, sans
    try:
        return wait_until(ok, timeout=timeout, interval=0.25, what="a Pebble certificate for %s" % host)
    except AssertionError as e:
        raise AssertionError("%s (last: %s)" % (e, last))


def _db(ferry):
    return os.path.join(tmpdir(), "state", "ferry.db")


def _orders(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT certificate_name, status, error FROM acme_orders ORDER BY id").fetchall()
    finally:
        con.close()


def _setup(apps, validity=None):
    _require_peers()
    be = HttpBackend("acme-be")
    tls_port = free_port_closed()
    pebble = Pebble(tls_port, validity=validity)
    cfg = _config(tls_port, pebble, apps, be.port)
    fr = Ferry(cfg)
    assert fr.port("web") == tls_port
    return fr, pebble, tls_port, be, cfg


def test_two_apps_get_certificates_and_restart_keeps_them():
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"], "b": ["b.ferry.example", "www.b.ferry.example"]})
    der_a, sans_a = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    der_b, sans_b = _served_when_ready(port, "www.b.ferry.example", pebble.root_path)
    assert sans_a == ["a.ferry.example"], sans_a
    assert sans_b == ["b.ferry.example", "www.b.ferry.example"], sans_b
    assert _served(port, "b.ferry.example", pebble.root_path)[0] == der_b
    assert be.last() is not None and be.last()["path"] == "/acme-check", be.last()
    # The same certificate over HTTP/2 (ALPN h2), verified by curl against Pebble's root.
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                              "--cacert", pebble.root_path, "--resolve", "a.ferry.example:%d:127.0.0.1" % port,
                              "https://a.ferry.example:%d/acme-h2" % port], capture_output=True, text=True, timeout=20)
        assert out.returncode == 0 and out.stdout == "2 200", (out.returncode, out.stdout, out.stderr)
        assert be.last()["path"] == "/acme-h2", be.last()
    fr.wait_log(r"acme: app b: certificate issued for b\.ferry\.example,www\.b\.ferry\.example")
    # acme-tls/1 without a pending challenge is refused (no HTTP, no certificate shown).
    ctx = ssl.create_default_context(cafile=pebble.root_path)
    ctx.set_alpn_protocols(["acme-tls/1"])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.ferry.example"):
                raise AssertionError("an acme-tls/1 handshake without a challenge succeeded")
    except ssl.SSLError as e:
        assert "NO_APPLICATION_PROTOCOL" in str(e).upper() or "ALERT" in str(e).upper(), e
    assert len(fr.log_lines(r"answered an ACME tls-alpn-01 validation")) >= 1, "no validation reached Ferry"
    orders = _orders(_db(fr))
    assert sorted(o[0] for o in orders if o[1] == "valid") == ["a", "b"], orders
    st = os.stat(os.path.join(tmpdir(), "state"))
    assert st.st_mode & 0o777 == 0o700, oct(st.st_mode)
    assert os.stat(_db(fr)).st_mode & 0o777 == 0o600

    # Restart: the stored certificates are served at once, no new order.
    assert fr.stop() == 0
    fr2 = Ferry(cfg)
    # Installed before the first plan went live: served from the first handshake on.
    log = fr2.log
    assert 0 <= log.find("acme: app a: serving certificate") < log.find(" ready pid="), log
    assert _served(port, "a.ferry.example", pebble.root_path)[0] == der_a
    assert _served(port, "www.b.ferry.example", pebble.root_path)[0] == der_b
    time.sleep(1.0)
    assert not fr2.log_lines(r"ordering a certificate"), fr2.log_lines(r"acme")
    assert len(_orders(_db(fr2))) == len(orders)
    assert fr2.stop() == 0


def test_a_damaged_stored_certificate_is_replaced():
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"]})
    der1, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    assert fr.stop() == 0
    # Another key than the certificate's: the row cannot be served.
    key = os.path.join(tmpdir(), "other.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    con = sqlite3.connect(_db(fr))
    with open(key) as f:
        con.execute("UPDATE certificates SET key_pem = ? WHERE name = 'a'", (f.read(),))
    con.commit()
    con.close()
    fr2 = Ferry(cfg)
    fr2.wait_log(r"Warning acme: app a: stored certificate: .*; ordering a new one")
    der2, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    assert der2 != der1
    fr2.wait_log(r"acme: app a: ordering a certificate for a\.ferry\.example \(no certificate yet\)")


def test_reload_adding_a_host_gets_a_new_certificate():
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"]})
    der_a, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    res = fr.reload(cfg.replace("hosts a.ferry.example", "hosts a.ferry.example new.ferry.example"))
    assert res[0] == "ok", res
    fr.wait_log(r"acme: app a: ordering a certificate for a\.ferry\.example,new\.ferry\.example \(new hosts: new\.ferry\.example\)",
                timeout=10)
    der_new, sans = _served_when_ready(port, "new.ferry.example", pebble.root_path)
    assert sans == ["a.ferry.example", "new.ferry.example"], sans
    # The old name moved to the new certificate too, without a restart or a dropped listener.
    assert _served(port, "a.ferry.example", pebble.root_path)[0] == der_new != der_a
    assert fr.alive()
    assert len(fr.log_lines(r"ordering a certificate")) == 2, fr.log_lines(r"ordering")


def test_reload_during_an_order_neither_duplicates_nor_loses_it():
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"]})
    # The first order starts with ferryd; reload at once, adding a host to the app and an app.
    fr.wait_log(r"acme: app a: ordering a certificate for a\.ferry\.example \(no certificate yet\)")
    cfg2 = cfg.replace("hosts a.ferry.example", "hosts a.ferry.example a2.ferry.example") \
        + section("app b", "hosts b.ferry.example", "backend pool", "certificate acme")
    assert fr.reload(cfg2)[0] == "ok"
    _, sans = _served_when_ready(port, "a2.ferry.example", pebble.root_path)
    assert sans == ["a.ferry.example", "a2.ferry.example"], sans
    _served_when_ready(port, "b.ferry.example", pebble.root_path)
    time.sleep(1.0)
    orders = _orders(_db(fr))
    names = [o[0] for o in orders]
    # a: the first order (a) and one for a + a2 (or a single one if the reload came first); b: one.
    assert names.count("b") == 1 and 1 <= names.count("a") <= 2, orders
    assert all(o[1] == "valid" for o in orders), orders
    assert len(fr.log_lines(r"ordering a certificate")) == len(orders)


def test_untrusted_ca_is_refused():
    """The CA's HTTPS certificate is verified: with a ca-bundle that does not sign it, no order
    is made, the failure is logged with the app and host, and ferryd keeps running."""
    _require_peers()
    be = HttpBackend("acme-be")
    tls_port = free_port_closed()
    pebble = Pebble(tls_port)
    other = os.path.join(tmpdir(), "other-ca.pem")
    self_signed(other, os.path.join(tmpdir(), "other-ca.key"), "Not Pebble's CA", days=1)
    cfg = _config(tls_port, pebble, {"a": ["a.ferry.example"]}, be.port).replace("ca-bundle %s" % pebble.ca,
                                                                                 "ca-bundle %s" % other)
    fr = Ferry(cfg)
    m = fr.wait_log(r"Warning acme: app a: certificate order for a\.ferry\.example failed: (.*)")
    assert re.search(r"certif|verif|SSL|handshake", m.group(1), re.I), m.group(1)
    assert "attempt 1, next at" in m.group(1)
    assert fr.alive()
    assert not [o for o in _orders(_db(fr)) if o[1] == "valid"]


def test_ca_host_name_is_verified():
    """The CA's certificate must name the host of the directory URL: Pebble's is for localhost
    and 127.0.0.1, so reaching it by another name that resolves to 127.0.0.1 is refused."""
    _require_peers()
    other = socket.gethostname()
    try:
        resolved = socket.gethostbyname(other)
    except OSError:
        resolved = None
    if other in ("localhost", "") or resolved != "127.0.0.1":
        skip("the host name %r does not resolve to 127.0.0.1 here" % other)
    be = HttpBackend("acme-be")
    tls_port = free_port_closed()
    pebble = Pebble(tls_port)
    cfg = _config(tls_port, pebble, {"a": ["a.ferry.example"]}, be.port).replace(
        "directory https://localhost:", "directory https://%s:" % other)
    fr = Ferry(cfg)
    m = fr.wait_log(r"Warning acme: app a: certificate order for a\.ferry\.example failed: (.*)")
    assert re.search(r"certif|verif|host|name", m.group(1), re.I), m.group(1)
    assert not [o for o in _orders(_db(fr)) if o[1] == "valid"]


def test_renewal_when_a_third_of_the_lifetime_is_left_and_failures_keep_the_old_one():
    # Pebble issues 45 s certificates: renewal is due 30 s after issuance.
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"]}, validity=45)
    der1, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    # Renewal follows the wall clock (certificate dates); the waits below are monotonic, and on
    # a loaded VM the two have been seen to drift apart by 2x: generous timeouts.
    fr.wait_log(r"acme: app a: ordering a certificate for a\.ferry\.example \(renewal due", timeout=120)
    der2, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path, timeout=60, not_der=der1)
    assert der2 != der1
    assert len(fr.log_lines(r"acme: app a: certificate issued")) == 2
    # The CA goes away: the next renewal fails, is retried with back-off, and the current
    # certificate keeps being served meanwhile.
    pebble.pebble.close()
    fr.wait_log(r"acme: app a: certificate order for a\.ferry\.example failed: .*attempt 1, next at .*"
                r"\(the current certificate keeps being served\)", timeout=120)
    assert _served(port, "a.ferry.example", pebble.root_path)[0] == der2
    assert fr.alive()


def _admin(fr, method, path):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", fr.admin_port, timeout=10)
    try:
        conn.request(method, path, headers={"Host": "127.0.0.1:%d" % fr.admin_port})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def _cert_of(fr, app):
    st, certs = _admin(fr, "GET", "/api/v1/certificates")
    assert st == 200, (st, certs)
    return [c for c in certs if c["app"] == app][0]


def test_admin_api_shows_acme_state_and_renew_orders_now():
    fr, pebble, port, be, cfg = _setup({"a": ["a.ferry.example"]})
    der1, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path)
    c = wait_until(lambda: (lambda x: x if x["state"] == "valid" else None)(_cert_of(fr, "a")),
                   what="state valid in GET /api/v1/certificates")
    now = time.time()
    assert c["source"] == "acme" and c["hosts"] == ["a.ferry.example"], c
    assert "Pebble" in c["issuer"] and c["not_before"] <= now + 5 < c["not_after"], c
    assert c["not_before"] < c["next_renewal"] < c["not_after"], c
    assert c["renewal_failures"] == 0 and c["last_error"] == "", c
    st, d = _admin(fr, "GET", "/api/v1/apps/a")
    assert st == 200 and d["certificate"]["state"] == "valid" and d["certificate"]["not_after"] == c["not_after"], d

    # A forced renewal although the certificate is far from its renewal point.
    st, j = _admin(fr, "POST", "/api/v1/certificates/a/renew")
    assert st == 202 and j == {"app": "a", "state": "pending"}, (st, j)
    fr.wait_log(r"admin action user=\S* action=renew app=a result=ok")
    fr.wait_log(r"acme: app a: ordering a certificate for a\.ferry\.example \(renewal requested by an admin\)")
    der2, _ = _served_when_ready(port, "a.ferry.example", pebble.root_path, not_der=der1)
    assert der2 != der1
    wait_until(lambda: _cert_of(fr, "a")["state"] == "valid", what="valid again")
    assert st == 202 and _admin(fr, "POST", "/api/v1/certificates/nope/renew")[0] == 404

    # Without the CA the forced order fails: state failed, the error, the count; the certificate
    # is still served. A second request is not held back by the failure back-off.
    pebble.pebble.close()
    assert _admin(fr, "POST", "/api/v1/certificates/a/renew")[0] == 202
    c = wait_until(lambda: (lambda x: x if x["state"] == "failed" else None)(_cert_of(fr, "a")), timeout=60,
                   what="state failed")
    assert c["renewal_failures"] == 1 and c["last_error"] != "" and c["next_renewal"] > time.time() - 5, c
    assert _served(port, "a.ferry.example", pebble.root_path)[0] == der2
    assert _admin(fr, "POST", "/api/v1/certificates/a/renew")[0] == 202
    wait_until(lambda: _cert_of(fr, "a")["renewal_failures"] == 2, timeout=60, what="a second failed order")


def test_shutdown_does_not_hang_on_a_silent_ca():
    """A CA that accepts connections and never answers: SIGTERM still stops ferryd promptly
    (bounded HTTP timeouts, stop flag between steps)."""
    be = HttpBackend("acme-be")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # never accepted: the TLS handshake waits forever
    register(silent)
    d = os.path.join(tmpdir(), "ca.pem")
    self_signed(d, os.path.join(tmpdir(), "ca.key"), "unused", days=1)
    cfg = base_config(workers=1) \
        + section("frontend web", "bind 127.0.0.1:0 tls", "mode http") \
        + backend_section("pool", [("s1", be.port)]) \
        + section("acme", "directory https://127.0.0.1:%d/dir" % silent.getsockname()[1], "ca-bundle %s" % d) \
        + section("app a", "hosts a.ferry.example", "backend pool", "certificate acme")
    fr = Ferry(cfg)
    fr.wait_log(r"acme: app a: ordering a certificate")
    time.sleep(0.5)
    t0 = time.monotonic()
    assert fr.stop(timeout=30) == 0
    took = time.monotonic() - t0
    assert took < 13, "ferryd took %.1fs to stop with a silent CA" % took
    assert fr.log_lines(r"\bstopped$")


def test_http01_certificate_is_issued_and_unknown_tokens_are_routed():
    """`challenge http-01`: Pebble's httpPort is Ferry's plain bind; Pebble fetches
    /.well-known/acme-challenge/<token> there, Ferry answers it before routing, and the issued
    certificate is served on the tls bind. An unknown token goes to the app like any request.
    Any other plain request is redirected to HTTPS (automatic HTTPS, on by default)."""
    _require_peers()
    be = HttpBackend("acme-be")
    tls_port, http_port = free_port_closed(), free_port_closed()
    pebble = Pebble(tls_port, http_port=http_port, challenge="http-01")
    cfg = base_config(workers=2) \
        + section("frontend web", "bind 127.0.0.1:%d tls" % tls_port, "bind 127.0.0.1:%d" % http_port, "mode http") \
        + backend_section("pool", [("s1", be.port)]) + pebble.acme_section() \
        + section("app a", "hosts a.ferry.example", "backend pool", "certificate acme")
    fr = Ferry(cfg)
    _, sans = _served_when_ready(tls_port, "a.ferry.example", pebble.root_path)
    assert sans == ["a.ferry.example"], sans
    fr.wait_log(r"acme: app a: a\.ferry\.example: http-01 challenge answered")
    assert fr.log_lines(r"answered an ACME http-01 validation from 127\.0\.0\.1"), "no validation reached Ferry"
    assert not fr.log_lines(r"tls-alpn-01 validation"), fr.log_lines(r"validation")
    assert [o[1] for o in _orders(_db(fr))] == ["valid"], _orders(_db(fr))
    # The token was withdrawn after the order, and unknown tokens are routed to the app.
    with socket.create_connection(("127.0.0.1", http_port), timeout=5) as s:
        s.sendall(b"GET /.well-known/acme-challenge/NoSuchToken_1 HTTP/1.1\r\nHost: a.ferry.example\r\n"
                  b"Connection: close\r\n\r\n")
        data = recv_all(s)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert be.last()["path"] == "/.well-known/acme-challenge/NoSuchToken_1", be.last()
    # Automatic HTTPS (on by default: the app has a certificate and the frontend a tls bind):
    # every other plain request is redirected, while the challenges above went through.
    with socket.create_connection(("127.0.0.1", http_port), timeout=5) as s:
        s.sendall(b"GET /shop?x=1 HTTP/1.1\r\nHost: a.ferry.example\r\nConnection: close\r\n\r\n")
        data = recv_all(s)
    assert data.startswith(b"HTTP/1.1 308"), data[:200]
    assert b"\r\nLocation: https://a.ferry.example:%d/shop?x=1\r\n" % tls_port in data, data[:300]
    assert fr.stop() == 0


def _check_store(path):
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT name, chain_pem, key_pem, not_after FROM certificates").fetchall()
    finally:
        con.close()
    assert all(r[1].startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" in r[2] for r in rows), rows
    return rows


def test_kill9_during_acme_leaves_a_sound_store():
    apps = {"a%d" % i: ["a%d.ferry.example" % i] for i in range(6)}
    fr, pebble, port, be, cfg = _setup(apps)
    # Kill in the middle of the activity: after the first certificate was written, while
    # later orders are in progress.
    fr.wait_log(r"acme: app a0: certificate issued", timeout=60)
    fr.wait_log(r"acme: app a1: (order|ordering|.*challenge)", timeout=30)
    fr.signal(signal.SIGKILL)
    fr.wait(10)
    assert _check_store(_db(fr))
    # More kills at varied moments of the following orders (writes of orders and certificates).
    for delay in (0.05, 0.15, 0.3, 0.45):
        f = Ferry(cfg)
        time.sleep(delay)
        f.signal(signal.SIGKILL)
        f.wait(10)
        f.close()
        _check_store(_db(f))
    # The next start serves what was stored and finishes the rest; the interrupted order is
    # marked abandoned in the history.
    fr2 = Ferry(cfg)
    for name, hosts in apps.items():
        _served_when_ready(port, hosts[0], pebble.root_path, timeout=90)
    orders = _orders(_db(fr2))
    assert not [o for o in orders if o[1] not in ("valid", "invalid")], orders
    assert fr2.stop() == 0


if __name__ == "__main__":
    _missing = [n for n, p in (("pebble", PEBBLE), ("pebble-challtestsrv", CHALLTESTSRV),
                               ("openssl", shutil.which("openssl"))) if not p]
    if _missing:
        print("SKIP test_acme.py: %s not installed (Debian package pebble; scripts/install-deps.sh test)"
              % ", ".join(_missing))
        raise SystemExit(77)
    main()
