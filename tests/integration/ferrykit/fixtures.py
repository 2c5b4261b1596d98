"""Setup fixtures shared by test files: one ferryd serving one app over plain and TLS
frontends, with HTTP/2 clients to it.

Built on the test's thread; everything they start is registered with the running test."""

from ferrykit.config import backend_section, base_config, section
from ferrykit.h2client import H2Conn
from ferrykit.runner import Ferry
from ferrykit.tls import TlsCerts


class AppSetup:
    """One Ferry: a plain frontend "plain" (HTTP/1.1 and h2c) and, with `tls`, a TLS frontend
    "web" whose default certificate (and app a's) is issued for a.test by a fresh TlsCerts;
    backend "pool" of `servers` ((name, port[, options]) as in backend_section, plus
    `backend_lines`), app "a" (hosts a.test, plus `app_extra`); `frontend_extra` goes into both
    frontends, `extra` (config text) after the app.

    Attributes: f (the Ferry), cfg (its config text), plain / tls_port (frontend ports),
    certs and cert (the TlsCerts and a.test's PEM file, with tls)."""

    def __init__(self, servers, tls=False, workers=2, frontend_extra=(), defaults_extra=(), app_extra=(),
                 backend_lines=(), extra=""):
        self.certs = None
        cfg = base_config(workers=workers, defaults_extra=defaults_extra)
        cert_line = ()
        if tls:
            self.certs = TlsCerts()
            self.cert = self.certs.issue("cert-a", ["a.test"])
            cert_line = ("certificate %s" % self.cert,)
            cfg += section("frontend web", "bind 127.0.0.1:0 tls", "mode http",
                           "default-certificate %s" % self.cert, *frontend_extra)
        cfg += section("frontend plain", "bind 127.0.0.1:0", "mode http", *frontend_extra)
        cfg += backend_section("pool", list(servers), *backend_lines)
        cfg += section("app a", "hosts a.test", "backend pool", *(cert_line + tuple(app_extra)))
        cfg += extra
        self.cfg = cfg
        self.f = Ferry(cfg)
        self.plain = self.f.port("plain")
        self.tls_port = self.f.port("web") if tls else None

    def h2c(self, **kw):
        """An HTTP/2 cleartext (prior knowledge) connection to the plain frontend."""
        return H2Conn.connect(self.plain, **kw)

    def h2(self, sni="a.test", **kw):
        """An HTTP/2 connection over TLS (ALPN h2, the chain verified) to the TLS frontend."""
        return H2Conn.connect(self.tls_port, tls=self.certs.client(), sni=sni, **kw)
