"""Admin and control-plane hardening (issue 13, items 13-16) against a real ferryd:

- POST /api/v1/config/validate reads no environment (`${VAR}` is a placeholder, never a value
  of ferryd's environment), reads no file outside the running configuration's directory (one
  "not allowed" answer whatever the file, so no contents and no existence oracle);
- validate's cost is bounded: diagnostics capped (first 1000 + a count), included text capped,
  2 validations at once (503 + Retry-After beyond), peak RSS and answer size measured;
  `ferryd -c` stops listing errors after the cap too;
- failed logins back off per (user, address), per user and per address instead of locking an
  address out: another admin behind the same address still logs in, a new address still logs
  in a user under attack, unknown users count like known ones, Retry-After grows;
- --pidfile refuses a symlink (or anything but a regular file) at its path and never writes
  through it.
"""
import http.client
import json
import os
import re
import socket
import stat
import subprocess
import threading
import time

from ferrykit.config import admin_config, section
from ferrykit.runner import Ferry, hash_password, run_ferryd
from ferrykit.suite import ferryd_path, figure, main, register, tmpdir, wait_until

PASSWORD = "correct horse battery"
SECRET = "s3cr3t-ENV-VALUE-7d1f0e"


# -- helpers --------------------------------------------------------------------------------

def api(port, method, path, body=None, ctype="text/plain", timeout=60, source=None, headers=None):
    """(status, headers dict (lower-case names), raw bytes) of one admin call; `source` binds
    the client socket to that loopback address."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        h = {"Host": "127.0.0.1:%d" % port}
        if body is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def validate(f, text):
    st, hdrs, raw = api(f.admin_port, "POST", "/api/v1/config/validate", body=text)
    assert st == 200, (st, raw[:300])
    return json.loads(raw), raw


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


# -- item 13: validate reads no environment and no file outside the config directory ------

def test_validate_reads_no_environment():
    os.environ["FERRY_ADMIN_HASH"] = SECRET
    os.environ["FERRY_SECRET_PORT"] = "4433"
    try:
        f = Ferry(admin_config())
    finally:
        del os.environ["FERRY_ADMIN_HASH"]
        del os.environ["FERRY_SECRET_PORT"]
    base = admin_config()
    # The reported attack: a bad value that the diagnostic quotes.
    j, raw = validate(f, base.replace("    server s1", "    balance ${FERRY_ADMIN_HASH}\n    server s1", 1))
    assert SECRET.encode() not in raw, raw[:600]
    assert b"${FERRY_ADMIN_HASH}" in raw, raw[:600]  # the diagnostic names the placeholder
    # Quoted, glued to other text, in every section: never a value of the environment.
    for line in ('    node "x${FERRY_ADMIN_HASH}y"', "    maxconn ${FERRY_SECRET_PORT}x",
                 "    log ${HOME}/${FERRY_ADMIN_HASH}"):
        j, raw = validate(f, base.replace("global\n", "global\n" + line + "\n", 1))
        assert SECRET.encode() not in raw and b"4433" not in raw, (line, raw[:600])
        assert os.environ["HOME"].encode() not in raw, (line, raw[:600])
    # Structural validation still works: a placeholder where a value is expected is a warning
    # ("checked on the host"), not an error, so the candidate is valid.
    good = base.replace("global\n", "global\n    admin-user ops ${FERRY_ADMIN_HASH}\n", 1)
    good = good.replace("bind 127.0.0.1:0", "bind 127.0.0.1:${FERRY_SECRET_PORT}", 1)
    j, raw = validate(f, good)
    assert j["ok"] is True and j["errors"] == 0, j
    assert SECRET.encode() not in raw and b"4433" not in raw, raw[:600]
    warned = [d for d in j["diagnostics"] if d["severity"] == "warning"]
    assert any("${FERRY_ADMIN_HASH}" in d["message"] for d in warned), j
    assert any("${FERRY_SECRET_PORT}" in d["message"] for d in warned), j
    # A plain error elsewhere is still an error.
    j, raw = validate(f, good.replace("backend pool\n", "bakend pool\n", 1))
    assert j["ok"] is False and j["errors"] >= 1, j


def test_validate_reads_no_file_outside_the_config_directory():
    f = Ferry(admin_config())
    d = os.path.dirname(f.config_path)
    base = admin_config()
    # A file inside the directory may be included (diagnostics about it stay masked).
    with open(os.path.join(d, "extra.conf"), "w") as fh:
        fh.write(section("app b", "hosts b.test", "backend pool"))
    j, _ = validate(f, base + "include extra.conf\n")
    assert j["ok"] is True, j
    os.symlink("/etc/hostname", os.path.join(d, "link.conf"))
    os.symlink("/", os.path.join(d, "root"))
    outside_existing = ["/etc/passwd", os.path.relpath("/etc/passwd", d), "link.conf", "root/etc/passwd",
                        "/etc/*", "root/etc/host*"]
    outside_missing = ["/etc/no-such-file-4f2a", os.path.relpath("/etc/no-such-file-4f2a", d),
                       "root/etc/no-such-file-4f2a", "/no-such-dir-4f2a/*"]
    answers = {}
    for p in outside_existing + outside_missing:
        j, raw = validate(f, base + "include %s\n" % p)
        assert j["ok"] is False, (p, j)
        assert b"root:" not in raw and b"/bin/" not in raw, (p, raw[:600])
        msgs = [x["message"].replace(p, "P") for x in j["diagnostics"] if x["severity"] == "error"]
        assert len(msgs) == 1 and "not allowed" in msgs[0], (p, j["diagnostics"])
        answers[p] = msgs[0]
    # One answer whether the file exists or not: no existence oracle.
    assert len(set(answers.values())) == 1, answers
    # File-path directives are refused the same way (the file is neither read nor probed).
    for directive, where in (("certificate %s", "app a\n"), ("default-certificate %s", "frontend web\n")):
        seen = set()
        for p in ("/etc/ssl/certs/ca-certificates.crt", "/etc/no-such-file-4f2a.pem", "link.conf"):
            text = base.replace(where, where + "    " + (directive % p) + "\n", 1)
            j, raw = validate(f, text)
            errs = [x["message"].replace(p, "P") for x in j["diagnostics"] if x["severity"] == "error"]
            assert j["ok"] is False and len(errs) == 1 and "not allowed" in errs[0], (p, j)
            seen.add(errs[0])
        assert len(seen) == 1, seen
    j, raw = validate(f, base.replace("    server s1 127.0.0.1:9", "    server s1 127.0.0.1:9 proto h2 ca-file /etc/ssl/certs/ca-certificates.crt", 1))
    assert j["ok"] is False and any("not allowed" in x["message"] for x in j["diagnostics"]), j
    # ferryd -c on the host is not confined: it reads what the operator names.
    host = os.path.join(d, "host.conf")
    with open(host, "w") as fh:
        fh.write(base + "include /etc/no-such-file-4f2a\n")
    rc, out = run_ferryd(["-c", "-f", host])
    assert rc == 1 and "No such file" in out, out


# -- item 14: bounded cost of validation ----------------------------------------------------

ONE_MIB_OF_A = "a\n" * (1 << 19)


def test_validate_cost_is_bounded():
    f = Ferry(admin_config())
    rss0 = vm_kib(f.pid, "VmRSS")
    hwm0 = vm_kib(f.pid, "VmHWM")
    t0 = time.monotonic()
    st, _, raw = api(f.admin_port, "POST", "/api/v1/config/validate", body=ONE_MIB_OF_A)
    took = time.monotonic() - t0
    assert st == 200, (st, raw[:300])
    hwm1 = vm_kib(f.pid, "VmHWM")
    figure("validate 1 MiB of 'a' lines: answer", len(raw), "bytes")
    figure("validate 1 MiB of 'a' lines: peak RSS growth", (hwm1 - max(hwm0, rss0)) // 1024, "MiB")
    figure("validate 1 MiB of 'a' lines: ferryd VmHWM", hwm1 // 1024, "MiB")
    figure("validate 1 MiB of 'a' lines: time", "%.0f" % (took * 1000), "ms")
    assert len(raw) < 512 * 1024, len(raw)
    j = json.loads(raw)
    assert j["ok"] is False and j["errors"] == 1 << 19, {k: j[k] for k in j if k != "diagnostics"}
    assert len(j["diagnostics"]) <= 1000 and j["omitted"] == j["errors"] + j["warnings"] - len(j["diagnostics"]), \
        {k: j[k] for k in j if k != "diagnostics"}
    if os.environ.get("FERRY_SANITIZE"):
        # ASan keeps freed memory in its quarantine (256 MiB by default) and pads every
        # allocation: the peak says nothing about ferryd's own use there (133 MiB seen).
        print("peak RSS bound not checked under sanitizers (%s): %s" % (os.environ["FERRY_SANITIZE"],
                                                                       (hwm0, rss0, hwm1)))
    else:
        assert (hwm1 - max(hwm0, rss0)) < 96 * 1024, (hwm0, rss0, hwm1)
    # ferryd -c stops listing after the cap too, and still counts every error.
    p = os.path.join(os.path.dirname(f.config_path), "many.conf")
    with open(p, "w") as fh:
        fh.write(ONE_MIB_OF_A)
    t0 = time.monotonic()
    rc, out = run_ferryd(["-c", "-f", p])
    figure("ferryd -c on 1 MiB of 'a' lines", "%.0f" % ((time.monotonic() - t0) * 1000), "ms")
    assert rc == 1, out[-300:]
    assert out.count(": error: ") <= 1000 and len(out) < 512 * 1024, (out.count(": error: "), len(out))
    assert "%d errors" % (1 << 19) in out, out[-300:]
    assert re.search(r"\d+ more errors? (and \d+ more warnings? )?not shown", out), out[-300:]


def test_validate_caps_included_text():
    f = Ferry(admin_config())
    d = os.path.dirname(f.config_path)
    with open(os.path.join(d, "big.conf"), "w") as fh:
        line = "#" + "x" * 1022 + "\n"
        fh.write(line * 3 * 1024)  # 3 MiB of comments: fine alone
    j, _ = validate(f, admin_config() + "include big.conf\n")
    assert j["ok"] is True, j
    j, raw = validate(f, admin_config() + "include big.conf\ninclude big.conf\n")
    assert j["ok"] is False, j
    errs = [x for x in j["diagnostics"] if x["severity"] == "error"]
    assert len(errs) == 1 and "MiB" in errs[0]["message"] and errs[0]["file"] == "candidate", errs


def test_concurrent_validations_are_bounded():
    f = Ferry(admin_config())
    results = []
    lock = threading.Lock()

    def one():
        r = api(f.admin_port, "POST", "/api/v1/config/validate", body=ONE_MIB_OF_A)
        with lock:
            results.append(r)

    refused = []
    for _ in range(5):  # rounds until the overlap was seen (each round: 8 at once)
        results.clear()
        ts = [threading.Thread(target=one) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert len(results) == 8
        for st, hdrs, raw in results:
            assert st in (200, 503), (st, raw[:200])
            if st == 503:
                assert 1 <= int(hdrs["retry-after"]) <= 5 and b"in progress" in raw, (hdrs, raw)
        refused = [r for r in results if r[0] == 503]
        if refused and len(refused) < 8:
            break
    assert refused and len(refused) <= 6, [r[0] for r in results]
    figure("validations refused with 503 out of 8 at once", len(refused))
    f.wait_log(r"admin validate refused: 2 already running")
    # The slots are free again afterwards.
    j, _ = validate(f, admin_config())
    assert j["ok"] is True, j


# -- item 15: login back-off per user and address -------------------------------------------

class Admin:
    def __init__(self, port):
        self.port = port

    def login(self, user, password, source=None):
        st, hdrs, raw = api(self.port, "POST", "/api/v1/login", body=json.dumps({"user": user, "password": password}),
                            ctype="application/json", source=source)
        return st, hdrs, raw


def test_other_admin_logs_in_from_the_attacked_address():
    f = Ferry(admin_config([("ops", hash_password(PASSWORD)), ("dev", hash_password(PASSWORD + "2"))]))
    a = Admin(f.admin_port)
    statuses = [a.login("ops", "guess-%d" % i)[0] for i in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429], statuses
    # ops itself, from this address, waits (the pair (ops, 127.0.0.1) is backing off) ...
    st, hdrs, _ = a.login("ops", PASSWORD)
    assert st == 429 and int(hdrs["retry-after"]) >= 1, (st, hdrs)
    f.wait_log(r"admin login rate-limited user=ops address=127\.0\.0\.1 retry_after=\d+ by=pair")
    # ... but dev behind the same address (a NAT, a reverse proxy) is not locked out.
    st, _, raw = a.login("dev", PASSWORD + "2")
    assert st == 200, (st, raw)


def test_retry_after_grows_and_unknown_users_count_alike():
    f = Ferry(admin_config([("ops", hash_password(PASSWORD))]))
    a = Admin(f.admin_port)
    t0 = time.monotonic()
    waits = []
    statuses = []
    while len(waits) < 3 and time.monotonic() - t0 < 20:
        st, hdrs, _ = a.login("ops", "guess")
        statuses.append(st)
        if st == 429:
            w = int(hdrs["retry-after"])
            assert w <= 8, (w, statuses)  # back-off starts small (the old lock was a minute)
            waits.append(w)
            if len(waits) < 3:
                time.sleep(w)
        else:
            assert st == 401, st
    assert waits == sorted(waits) and waits[0] < waits[-1], waits
    figure("Retry-After after failures 3, 4, 5", "/".join(map(str, waits)), "s")
    assert statuses[:4] == [401, 401, 401, 429], statuses
    # An unknown user gets exactly the same answers (no user enumeration), from other addresses
    # (both at once: 2 hashes are verified at a time).
    answers = {}

    def run(user, source):
        answers[user] = [a.login(user, "guess", source=source)[0] for _ in range(4)]
    ts = [threading.Thread(target=run, args=u) for u in (("nobody-here", "127.0.0.3"), ("ops", "127.0.0.4"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert answers["nobody-here"] == answers["ops"] == statuses[:4], (answers, statuses)


def test_new_address_logs_in_a_user_under_attack():
    f = Ferry(admin_config([("ops", hash_password(PASSWORD))]))
    a = Admin(f.admin_port)
    # A spread-out guess at ops's password: 3 addresses x 3 guesses and 1 more, the user's
    # free budget (10 failures).
    for n in range(2, 5):
        for i in range(3):
            st, _, _ = a.login("ops", "guess-%d" % i, source="127.0.0.%d" % n)
            assert st == 401, (n, i, st)
    assert a.login("ops", "guess", source="127.0.0.5")[0] == 401
    # A guessing address now waits for the user's budget, though its own has tries left.
    st, hdrs, _ = a.login("ops", "guess-x", source="127.0.0.5")
    assert st == 429 and int(hdrs["retry-after"]) >= 1, (st, hdrs)
    f.wait_log(r"admin login rate-limited user=ops address=127\.0\.0\.5 retry_after=\d+ by=user")
    # A new address gets one try, then is held the same way.
    assert a.login("ops", "guess", source="127.0.0.6")[0] == 401
    assert a.login("ops", "guess", source="127.0.0.6")[0] == 429
    # The real admin, from an address that has not failed for ops, gets in at once.
    t0 = time.monotonic()
    st, _, raw = a.login("ops", PASSWORD, source="127.0.0.9")
    assert st == 200, (st, raw)
    assert time.monotonic() - t0 < 2


# -- item 16: the pidfile ---------------------------------------------------------------------

def run_with_pidfile(pidf, wait=8):
    """Starts ferryd with --pidfile; returns (exit code or None if still running, Popen)."""
    d = tmpdir()
    cfgp = os.path.join(d, "pid.conf")
    with open(cfgp, "w") as fh:
        fh.write(admin_config())
    log = open(os.path.join(d, "pid.log"), "ab")
    p = subprocess.Popen([ferryd_path(), "-f", cfgp, "--pidfile", pidf], cwd=d, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log)

    class Stop:
        def close(self):
            if p.poll() is None:
                p.kill()
                p.wait(5)
            log.close()
    register(Stop())
    try:
        return p.wait(wait), p
    except subprocess.TimeoutExpired:
        return None, p


def test_pidfile_symlink_is_refused():
    d = tmpdir()
    target = os.path.join(d, "precious.txt")
    with open(target, "w") as fh:
        fh.write("precious\n")
    pidf = os.path.join(d, "ferryd.pid")
    os.symlink(target, pidf)
    rc, p = run_with_pidfile(pidf)
    assert rc == 3, "ferryd with a symlinked pidfile: exit %r" % rc
    assert open(target).read() == "precious\n", "wrote through the symlink"
    assert os.path.islink(pidf)
    assert "pidfile" in open(os.path.join(d, "pid.log")).read()
    # A dangling link is refused too (the target is not created).
    os.unlink(pidf)
    os.symlink(os.path.join(d, "created.txt"), pidf)
    rc, _ = run_with_pidfile(pidf)
    assert rc == 3 and not os.path.exists(os.path.join(d, "created.txt")), rc
    # Neither a directory nor a FIFO (opening a FIFO would block start-up).
    os.unlink(pidf)
    os.mkfifo(pidf)
    rc, _ = run_with_pidfile(pidf)
    assert rc == 3, rc
    os.unlink(pidf)
    os.mkdir(pidf)
    rc, _ = run_with_pidfile(pidf)
    assert rc == 3, rc


def test_pidfile_stale_regular_file_is_replaced():
    d = tmpdir()
    pidf = os.path.join(d, "ferryd.pid")
    with open(pidf, "w") as fh:
        fh.write("999999\n")
    rc, p = run_with_pidfile(pidf, wait=2)
    assert rc is None, "ferryd exited %r" % rc
    wait_until(lambda: open(pidf).read() == "%d\n" % p.pid, timeout=10, what="pidfile with our pid")
    st = os.lstat(pidf)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o022 == 0, oct(st.st_mode)
    assert not [n for n in os.listdir(d) if n.startswith("ferryd.pid.")], os.listdir(d)
    p.terminate()
    assert p.wait(15) == 0
    assert not os.path.exists(pidf)


if __name__ == "__main__":
    main()
