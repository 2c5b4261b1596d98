"""`ferryd -c`: a valid config passes, a broken one lists every error with file:line:col."""
import os
import re

from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry, run_ferryd
from ferrykit.suite import INTEGRATION_DIR, main, tmpdir
from ferrykit.tls import self_signed

TOP = os.path.dirname(os.path.dirname(INTEGRATION_DIR))


def test_version():
    code, out = run_ferryd(["--version"])
    assert code == 0, "ferryd --version exited %d: %s" % (code, out)
    assert re.search(r"\d+\.\d+\.\d+", out), "no version number in %r" % out


def test_quickstart_is_valid():
    path = os.path.join(TOP, "examples", "quickstart.conf")
    assert os.path.isfile(path), "missing %s" % path
    code, out = run_ferryd(["-c", "-f", path])
    print(out)
    assert code == 0, "quickstart.conf rejected (exit %d):\n%s" % (code, out)
    assert "Configuration file is valid" in out, out


def test_test_base_config_is_valid():
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", 1)]) + section("app a", "hosts a.test", "backend pool")
    path = os.path.join(tmpdir(), "ok.conf")
    with open(path, "w") as f:
        f.write(cfg)
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 0 and "Configuration file is valid" in out, "exit %d:\n%s" % (code, out)


# Four independent errors at known lines (all detectable in one pass over the file).
BROKEN = """\
global
    workers      banana
    admin        127.0.0.1:0

defaults
    timeout connect   5 parsecs
    frobnicate        yes

frontend web
    bind localhost:80
    mode http
"""
BROKEN_LINES = [2, 6, 7, 10]


def test_broken_config_lists_every_error():
    path = os.path.join(tmpdir(), "broken.conf")
    with open(path, "w") as f:
        f.write(BROKEN)
    code, out = run_ferryd(["-c", "-f", path])
    print(out)
    assert code == 1, "expected exit 1, got %d" % code
    diag = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")
    lines = out.splitlines()
    found = {}
    for i, l in enumerate(lines):
        m = diag.match(l)
        if not m:
            continue
        assert m.group("file").endswith("broken.conf"), "diagnostic names %r" % m.group("file")
        ln, col = int(m.group("line")), int(m.group("col"))
        assert col >= 1, l
        found.setdefault(ln, []).append((col, i))
    missing = [n for n in BROKEN_LINES if n not in found]
    assert not missing, "no diagnostic for line(s) %s in:\n%s" % (missing, out)
    src = BROKEN.splitlines()
    for n in BROKEN_LINES:
        col, i = found[n][0]
        # The offending source line and a caret under column `col` follow the diagnostic.
        follow = lines[i + 1:i + 3]
        assert len(follow) == 2 and src[n - 1].strip() in follow[0], \
            "line %d: source line not echoed after the diagnostic: %r" % (n, follow)
        assert "^" in follow[1], "line %d: no caret line: %r" % (n, follow)
        # The caret points at column `col` of the echoed line (whatever indent is used).
        off = follow[0].index(src[n - 1]) if src[n - 1] in follow[0] else None
        if off is not None:
            assert follow[1].index("^") == off + col - 1, \
                "line %d: caret at %d, expected %d:\n%s\n%s" % (n, follow[1].index("^"), off + col - 1, follow[0], follow[1])
    m = re.search(r"(\d+) errors?, (\d+) warnings?\s*$", out.strip())
    assert m, "last line is not 'N errors, M warnings': %r" % lines[-1]
    assert int(m.group(1)) >= len(BROKEN_LINES), "summary counts %s errors" % m.group(1)
    assert lines[-1].strip() == m.group(0).strip(), "summary is not the last line: %r" % lines[-1]


def test_start_with_broken_config_fails():
    path = os.path.join(tmpdir(), "broken.conf")
    with open(path, "w") as f:
        f.write(BROKEN)
    code, out = run_ferryd(["-f", path], timeout=20)
    assert code != 0, "ferryd started on a broken config:\n%s" % out
    assert "broken.conf:2:" in out, "start failure does not show the diagnostics:\n%s" % out


def test_acme_certificate_needs_acme_section():
    """`certificate acme` must not leave an app silently without a certificate: without an
    `acme` section, `ferryd -c` and start refuse it with its position, and a reload that adds
    one keeps the running configuration. A wildcard host cannot get one either."""
    path = os.path.join(tmpdir(), "acme.conf")
    with open(path, "w") as f:
        f.write("defaults\n    timeout client 5s\nfrontend web\n    bind 127.0.0.1:0\n"
                "    default-app a\nbackend b\n    server s1 127.0.0.1:9\napp a\n    backend b\n"
                "    certificate acme\n    hosts a.example.com *.w.example.com\n")
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 1, "ferryd -c accepted 'certificate acme' (exit %d):\n%s" % (code, out)
    assert re.search(r"acme\.conf:10:17: error: app 'a': 'certificate acme' needs an 'acme' section", out), out
    with open(path, "a") as f:
        f.write("acme\n    directory https://127.0.0.1:9/dir\n")
    code, out = run_ferryd(["-c", "-f", path])
    assert code == 1 and re.search(r"acme\.conf:11:25: error: app 'a': wildcard host '\*\.w\.example\.com' "
                                   r"cannot get an automatic certificate", out), out
    code, out = run_ferryd(["-f", path], timeout=20)
    assert code != 0 and "wildcard host" in out, "ferryd started with an acme wildcard:\n%s" % out
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "default-app a") \
        + backend_section("b", [("s1", 9)]) + section("app a", "backend b", "hosts a.example.com")
    fr = Ferry(cfg)
    res = fr.reload(cfg.replace("backend b\n    hosts", "backend b\n    certificate acme\n    hosts"))
    assert res[0] == "failed" and fr.alive(), "reload with 'certificate acme': %r" % (res,)
    assert "needs an 'acme' section" in fr.log, "reload failure does not say why"


def test_certificate_files_checked():
    """`certificate PATH` files are loaded and checked by ferryd -c (path relative to the config
    file): a missing file and a key that does not match fail with the path at the directive; a
    good self-signed certificate passes."""
    d = tmpdir()
    os.makedirs(os.path.join(d, "certs"))
    for name in ("good", "other"):
        self_signed(os.path.join(d, "certs", name + ".crt"), os.path.join(d, "certs", name + ".key"),
                    "%s.test" % name, ["DNS:%s.test" % name], days=30)
    def pem(dst, crt, key):
        with open(os.path.join(d, "certs", dst), "w") as f:
            for p in (crt, key):
                f.write(open(os.path.join(d, "certs", p)).read())
    pem("good.pem", "good.crt", "good.key")
    pem("mismatch.pem", "good.crt", "other.key")
    def conf(cert, hosts=""):
        path = os.path.join(d, "c.conf")
        with open(path, "w") as f:
            f.write("defaults\n    timeout client 5s\nfrontend web\n    bind 127.0.0.1:0\n    default-app a\n"
                    "backend b\n    server s1 127.0.0.1:9\napp a\n    backend b\n    certificate %s\n" % cert
                    + ("    hosts %s\n" % hosts if hosts else ""))
        return path
    code, out = run_ferryd(["-c", "-f", conf("certs/good.pem")])
    assert code == 0, "a good certificate was refused:\n%s" % out
    code, out = run_ferryd(["-c", "-f", conf("certs/missing.pem")])
    assert code == 1 and re.search(r"c\.conf:10:17: error: app 'a': .*certs/missing\.pem", out), out
    code, out = run_ferryd(["-c", "-f", conf("certs/mismatch.pem")])
    assert code == 1 and "mismatch.pem" in out and "match" in out, out
    # A host routing accepts but SNI cannot select ('_') fails the check, not the start.
    code, out = run_ferryd(["-c", "-f", conf("certs/good.pem", "good.test my_svc.good.test")])
    assert code == 1 and re.search(r"c\.conf:10:17: error: app 'a': host 'my_svc\.good\.test' cannot select a TLS "
                                   r"certificate: invalid character '_'", out), out


def test_check_opens_the_access_log():
    """An access-log file that cannot be opened fails `ferryd -c` at its directive, as it fails
    start-up (the engine's prepare opens it); the check creates no file, and a reload naming
    such a file keeps the running configuration."""
    d = tmpdir()
    os.makedirs(os.path.join(d, "logs"))
    def conf(target):
        path = os.path.join(d, "log.conf")
        with open(path, "w") as f:
            f.write("global\n    admin off\n    access-log %s json\ndefaults\n    timeout client 5s\n"
                    "frontend web\n    bind 127.0.0.1:0\n    default-app a\nbackend b\n    server s1 127.0.0.1:9\n"
                    "app a\n    backend b\n" % target)
        return path
    missing = os.path.join(d, "no-such-dir", "access.log")
    code, out = run_ferryd(["-c", "-f", conf(missing)])
    assert code == 1, "ferryd -c accepted an access log in a missing directory (exit %d):\n%s" % (code, out)
    assert re.search(r"log\.conf:3:16: error: access-log .*no-such-dir/access\.log: No such file or directory", out), out
    good = os.path.join(d, "logs", "access.log")
    code, out = run_ferryd(["-c", "-f", conf(good)])
    assert code == 0, "a writable access log was refused:\n%s" % out
    assert not os.path.exists(good), "ferryd -c created the access log"
    code, out = run_ferryd(["-f", conf(missing)], timeout=20)
    assert code != 0 and "no-such-dir" in out, "ferryd started with an unopenable access log:\n%s" % out
    cfg = base_config(admin=False) + section("frontend web", "bind 127.0.0.1:0", "default-app a") \
        + backend_section("b", [("s1", 9)]) + section("app a", "backend b")
    fr = Ferry(cfg)
    res = fr.reload(cfg.replace("global\n", "global\n    access-log %s\n" % missing, 1))
    assert res[0] == "failed" and fr.alive(), "reload with an unopenable access log: %r" % (res,)
    assert "no-such-dir/access.log: No such file or directory" in fr.log, "reload failure does not say why"


def test_check_missing_file():
    code, out = run_ferryd(["-c", "-f", os.path.join(tmpdir(), "nope.conf")])
    assert code == 1, "exit %d for a missing file:\n%s" % (code, out)
    assert "nope.conf" in out, out


if __name__ == "__main__":
    main()
