"""TLS for tests: a private PKI made with the openssl command (root CA -> intermediate ->
server certificates), client and server ssl contexts, and the name of the certificate a
connection was shown.

Files are written to the running test's temporary directory; a missing openssl command skips
the test; an openssl failure raises AssertionError with its stderr."""

import os
import shutil
import ssl
import subprocess

from ferrykit.suite import skip, tmpdir


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
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-days", "30", "-subj", "/CN=%s Root CA" % name, "-keyout", root_key, "-out", self.ca,
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._inter = os.path.join(self.dir, "inter.crt")
        self._inter_key = os.path.join(self.dir, "inter.key")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s Intermediate CA" % name, "-keyout", self._inter_key,
                      "-out", self._inter + ".csr")
        ext = os.path.join(self.dir, "inter.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
        self._openssl("x509", "-req", "-in", self._inter + ".csr", "-CA", self.ca, "-CAkey", root_key,
                      "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", self._inter)
        self._n = 0

    def _openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.strip()))

    def issue(self, cn, sans=None, days=30):
        """A PEM file (leaf certificate, the intermediate, then the key) for `cn` with DNS SANs
        `sans` (default [cn]); returns its path. The CN makes each certificate recognisable."""
        self._n += 1
        base = os.path.join(self.dir, "leaf%d" % self._n)
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-subj", "/CN=%s" % cn, "-keyout", base + ".key", "-out", base + ".csr")
        with open(base + ".ext", "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in (sans or [cn])))
        self._openssl("x509", "-req", "-in", base + ".csr", "-CA", self._inter, "-CAkey", self._inter_key,
                      "-CAcreateserial", "-days", str(days), "-extfile", base + ".ext", "-out", base + ".crt")
        path = base + ".pem"
        with open(path, "w") as f:
            f.write(open(base + ".crt").read() + open(self._inter).read() + open(base + ".key").read())
        return path

    def client(self, minimum=None, maximum=None, verify=True):
        """An ssl.SSLContext trusting this CA (TLS versions as ssl.TLSVersion)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(self.ca)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
        return ctx


def peer_cn(conn):
    """The CN of the certificate a TLS RawConn was shown."""
    cert = conn.sock.getpeercert()
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None
