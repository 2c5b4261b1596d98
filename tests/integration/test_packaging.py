"""The packaging sources stay true to ferryd (issue 7), checked in every CI run without building
packages (packaging/test builds and installs them; it is the separate packaging job):
the starter config passes `ferryd -c`, the systemd unit passes `systemd-analyze verify`, the
man pages render without a warning, and the user, state directory and unit agree."""
import os
import re
import shutil
import subprocess

from ferrykit.runner import run_ferryd
from ferrykit.suite import INTEGRATION_DIR, ferryd_path, main, skip, tmpdir

TOP = os.path.dirname(os.path.dirname(INTEGRATION_DIR))
PKG = os.path.join(TOP, "packaging")


def _read(*parts):
    with open(os.path.join(PKG, *parts)) as f:
        return f.read()


def test_starter_config_checks():
    path = os.path.join(PKG, "ferry.conf")
    code, out = run_ferryd(["-c", "-f", path])
    print(out)
    assert code == 0 and "Configuration file is valid" in out, "packaging/ferry.conf (exit %d):\n%s" % (code, out)
    assert "warning" not in out, "the starter config should not draw warnings:\n%s" % out
    # It must be safe to start on install: loopback-only listeners.
    listens = list(re.finditer(r"^\s*(bind|admin)\s+(\S+)", _read("ferry.conf"), re.M))
    assert {m.group(1) for m in listens} == {"bind", "admin"}, [m.group(0) for m in listens]
    for m in listens:
        assert m.group(2).startswith("127.0.0.1:"), "starter config listens beyond loopback: %s" % m.group(0)


def test_unit_verifies():
    tool = shutil.which("systemd-analyze")
    if not tool:
        skip("systemd-analyze is not installed")
    unit = _read("systemd", "ferry.service")
    assert "ExecStart=/usr/sbin/ferryd " in unit, unit
    # The unit as installed, with this build's ferryd in place of /usr/sbin/ferryd; the man pages
    # it names are checked by test_man_pages (verify would look for installed ones).
    unit = unit.replace("/usr/sbin/ferryd", ferryd_path())
    unit = re.sub(r"^Documentation=.*\n", "", unit, flags=re.M)
    d = tmpdir()
    path = os.path.join(d, "ferry.service")
    with open(path, "w") as f:
        f.write(unit)
    p = subprocess.run([tool, "verify", path], capture_output=True, text=True, timeout=60)
    out = (p.stdout + p.stderr).strip()
    print(out)
    assert p.returncode == 0, "systemd-analyze verify failed (%d):\n%s" % (p.returncode, out)
    assert "ferry.service" not in out, "systemd-analyze verify complained:\n%s" % out
    # Only the two capabilities, and no way to gain more.
    caps = re.findall(r"^(AmbientCapabilities|CapabilityBoundingSet)=(.*)$", unit, re.M)
    assert sorted(c[1].split() for c in caps) == [["CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN"]] * 2, caps
    for line in ("Type=notify", "User=ferry", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "Restart=on-failure"):
        assert re.search("^%s$" % re.escape(line), unit, re.M), "unit lacks %s" % line


def test_user_state_dir_and_unit_agree():
    sysusers = _read("sysusers.d", "ferry.conf")
    tmpfiles = _read("tmpfiles.d", "ferry.conf")
    unit = _read("systemd", "ferry.service")
    conf = _read("ferry.conf")
    u = re.search(r"^u\s+(\S+)\s+\S+\s+\"[^\"]*\"\s+(\S+)\s+(\S+)$", sysusers, re.M)
    assert u, sysusers
    user, home, shell = u.groups()
    d = re.search(r"^d\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)", tmpfiles, re.M)
    assert d, tmpfiles
    state_dir = re.search(r"^\s*state-dir\s+(\S+)", conf, re.M).group(1)
    assert d.group(1) == home == state_dir == "/var/lib/" + re.search(r"^StateDirectory=(\S+)$", unit, re.M).group(1), \
        (d.group(1), home, state_dir)
    assert d.group(2) == "0700" == re.search(r"^StateDirectoryMode=(\S+)$", unit, re.M).group(1)
    assert d.group(3) == d.group(4) == user == re.search(r"^User=(\S+)$", unit, re.M).group(1)
    assert shell == "/usr/sbin/nologin"


def test_man_pages():
    man_dir = os.path.join(os.path.dirname(os.path.dirname(ferryd_path())), "man")
    pages = {"ferryd.8": "ferryd", "ferryctl.1": "ferryctl", "ferry.conf.5": "ferry.conf"}
    if not os.path.isdir(man_dir):
        skip("no man pages in %s (pandoc was not installed when this build was configured)" % man_dir)
    if not shutil.which("man"):
        skip("man is not installed")
    for page, name in pages.items():
        path = os.path.join(man_dir, page)
        assert os.path.isfile(path), "missing %s" % path
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
        # What lintian runs (its groff-message check).
        p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0 and not p.stderr.strip(), "%s: %s" % (page, p.stderr)
        text = subprocess.run(["man", "-l", path], capture_output=True, text=True, env=env, timeout=60).stdout
        assert re.search(r"^NAME\n\s+%s - \S" % re.escape(name), text, re.M), "%s has no NAME line:\n%s" % (page, text[:400])
        assert "SEE ALSO" in text, page
    # ferry.conf(5) is CONFIG.md: every section of the reference is in it.
    text = subprocess.run(["man", "-l", os.path.join(man_dir, "ferry.conf.5")], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="200"), timeout=60).stdout
    with open(os.path.join(TOP, "docs", "CONFIG.md")) as f:
        for m in re.finditer(r"^## `?([a-z]+)", f.read(), re.M):
            assert re.search(r"^%s\b" % m.group(1), text, re.M | re.I), "ferry.conf(5) lacks the section %s" % m.group(1)
    # Every option in ferryd --help is described in ferryd(8).
    code, help_text = run_ferryd(["--help"])
    assert code == 0, "ferryd --help exited %d: %s" % (code, help_text)
    page = subprocess.run(["man", "-l", os.path.join(man_dir, "ferryd.8")], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="200"), timeout=60).stdout
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text))
    assert len(options) >= 5, "ferryd --help lists too few options: %s" % help_text
    for opt in options:
        assert opt in page, "ferryd(8) does not describe %s" % opt


if __name__ == "__main__":
    main()
