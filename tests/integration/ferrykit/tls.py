"""TLS for tests: certificates made with the openssl command (a private PKI: root CA ->
intermediate -> server certificates; or a self-signed pair), client and server ssl contexts,
the outcome of a handshake, and the name of the certificate a connection was shown.

TlsCerts writes to the running test's temporary directory. A missing openssl command skips the
test; an openssl failure raises AssertionError with its stderr."""

import os
import shutil
import ssl
import subprocess

from ferrykit.suite import skip, tmpdir
from ferrykit.wire import RawConn


def openssl(*args, cwd=None):
    """Runs `openssl ARGS` (in `cwd`); AssertionError with its stderr if it fails."""
    if not shutil.which("openssl"):
        skip("the openssl command is not installed")
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.strip()))


def self_signed(cert, key, cn, sans=(), days=30):
    """Writes a self-signed P-256 certificate for /CN=`cn` to the file `cert` and its key to
    `key`; `sans` are subjectAltName entries as openssl spells them ("DNS:a.test",
    "IP:127.0.0.1"), none by default."""
    args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", str(days),
            "-subj", "/CN=%s" % cn, "-keyout", key, "-out", cert]
    if sans:
        args += ["-addext", "subjectAltName=%s" % ",".join(sans)]
    openssl(*args)


def client_context(cafile=None, verify=True, minimum=None, maximum=None):
    """A client ssl.SSLContext: verifying the chain and the name against `cafile`, or (verify
    False) accepting any certificate; TLS versions as ssl.TLSVersion."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def server_context(pem, alpn=None):
    """A server ssl.SSLContext serving the certificate chain and key in the file `pem`,
    offering the ALPN protocols `alpn` (a list) if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


class TlsCerts:
    """A private PKI (made with the openssl command): a root CA, an intermediate CA that issues
    server certificates (served with the intermediate, as public CAs do), and client contexts
    that trust the root. Skips the test when openssl is missing."""

    def __init__(self, name="Ferry Test"):
        if not shutil.which("openssl"):
            skip("the openssl command is not installed")
        self.dir = tmpdir()
        self.ca = os.path.join(self.dir, "root.crt")
        root_key = os.path.join(self.dir, "root.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-days", "30", "-subj", "/CN=%s Root CA" % name, "-keyout", root_key, "-out", self.ca,
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._inter = os.path.join(self.dir, "inter.crt")
        self._inter_key = os.path.join(self.dir, "inter.key")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s Intermediate CA" % name, "-keyout", self._inter_key,
                      "-out", self._inter + ".csr")
        ext = os.path.join(self.dir, "inter.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
        openssl("x509", "-req", "-in", self._inter + ".csr", "-CA", self.ca, "-CAkey", root_key,
                      "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", self._inter)
        self._n = 0

    def issue(self, cn, sans=None, days=30):
        """A PEM file (leaf certificate, the intermediate, then the key) for `cn` with DNS SANs
        `sans` (default [cn]); returns its path. The CN makes each certificate recognisable."""
        self._n += 1
        base = os.path.join(self.dir, "leaf%d" % self._n)
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s" % cn, "-keyout", base + ".key", "-out", base + ".csr")
        with open(base + ".ext", "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in (sans or [cn])))
        openssl("x509", "-req", "-in", base + ".csr", "-CA", self._inter, "-CAkey", self._inter_key,
                      "-CAcreateserial", "-days", str(days), "-extfile", base + ".ext", "-out", base + ".crt")
        path = base + ".pem"
        with open(path, "w") as f:
            f.write(open(base + ".crt").read() + open(self._inter).read() + open(base + ".key").read())
        return path

    def client(self, minimum=None, maximum=None, verify=True):
        """An ssl.SSLContext trusting this CA (TLS versions as ssl.TLSVersion)."""
        return client_context(self.ca, verify, minimum, maximum)


def peer_cn(conn):
    """The CN of the certificate a TLS RawConn was shown."""
    cert = conn.sock.getpeercert()
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def handshake_error(port, ctx, sni):
    """The error of a TLS handshake with 127.0.0.1:`port` (client context `ctx`, server name
    `sni`) as text, or None if the handshake succeeded."""
    try:
        c = RawConn(port, tls=ctx, sni=sni)
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return str(e)
    c.close()
    return None
