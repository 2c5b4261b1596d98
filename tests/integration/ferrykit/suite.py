"""The test runner of Ferry's integration scripts, and the per-test context.

Every test file is a script: `/usr/bin/python3 tests/integration/test_x.py [-k SUBSTR]`. It
defines `test_*` functions and ends with `main()`, which runs them in order, each in its own
temporary directory, and exits 0 (all passed), 1 (a failure) or 77 (skipped, with a line
`SKIP <reason>`). Environment: FERRYD=<path to ferryd> (required), FERRY_KEEP_TMP=1 keeps the
temporary directories, FERRY_IT_VERBOSE=1 prints ferryd's log of passing tests too.

Everything a test starts passes through register() and is closed (in reverse order) after the
test, pass or fail; no fixed ports, no pkill. Outside a test (no context) register() is a no-op.
Single-threaded use: the runner, tmpdir() and register() are called from the test's thread
(register() from helper threads too: list.append is atomic in CPython).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

PYTHON = "/usr/bin/python3"
# tests/integration: where the test scripts (and this package) live.
INTEGRATION_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERBOSE = os.environ.get("FERRY_IT_VERBOSE") == "1"


class Skip(Exception):
    """Raise (or call skip()) to skip the current test."""


def skip(reason):
    raise Skip(reason)


# Debian packages of the client tools tests run, for the skip message.
_PACKAGES = {"h2load": "nghttp2-client", "nghttp": "nghttp2-client"}


def kit_process(args, **popen_kw):
    """subprocess.Popen of `python3 -m ferrykit ARGS` (ferrykit/__main__.py: a backend or a load
    generator in a child process), with this package importable whatever the caller's
    PYTHONPATH."""
    env = dict(popen_kw.pop("env", None) or os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (INTEGRATION_DIR, env.get("PYTHONPATH")) if p)
    return subprocess.Popen([PYTHON, "-m", "ferrykit"] + list(args), env=env, **popen_kw)


def need_tool(tool):
    """Skips the test unless the command `tool` is on PATH."""
    if not shutil.which(tool):
        skip("%s is not installed (package %s)" % (tool, _PACKAGES.get(tool, tool)))


class _Context:
    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="ferry-it-%s-" % name)
        self.objects = []  # things with close(), cleaned in reverse order
        self.ferries = []  # ferryd runners whose log is printed when the test fails

    def cleanup(self):
        for obj in reversed(self.objects):
            try:
                obj.close()
            except Exception as e:  # cleanup must not mask the test result
                print("  cleanup of %r failed: %s" % (obj, e))
        self.objects.clear()
        if os.environ.get("FERRY_KEEP_TMP") == "1":
            print("  kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


_ctx = None
_figures = []


def register(obj):
    """Closes `obj` (obj.close()) after the current test; returns obj."""
    if _ctx is not None:
        _ctx.objects.append(obj)
    return obj


def register_ferry(ferry):
    """A ferryd runner of the current test: its log is printed if the test fails."""
    if _ctx is not None:
        _ctx.ferries.append(ferry)


def tmpdir():
    """The current test's temporary directory."""
    assert _ctx is not None, "tmpdir() outside a test"
    return _ctx.tmp


def figure(name, value, unit=""):
    """Prints a measured figure (collected in the summary)."""
    line = "  FIGURE %s = %s%s" % (name, value, (" " + unit) if unit else "")
    print(line, flush=True)
    _figures.append(line.strip())


def ferryd_path():
    """$FERRYD if it is an executable file, else None."""
    p = os.environ.get("FERRYD", "")
    if not p:
        return None
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        return None
    return p


def main():
    """Runs the calling script's test_* functions; exits 0 / 1 / 77."""
    global _ctx
    import __main__
    args = sys.argv[1:]
    filt = None
    if "-k" in args:
        filt = args[args.index("-k") + 1]
    script = os.path.basename(getattr(__main__, "__file__", "test"))
    if ferryd_path() is None:
        print("SKIP %s: FERRYD is unset or not an executable (%r)" % (script, os.environ.get("FERRYD")))
        sys.exit(77)
    tests = [(n, f) for n, f in vars(__main__).items() if n.startswith("test_") and callable(f)]
    if filt:
        tests = [(n, f) for n, f in tests if filt in n]
    passed, failed, skipped = [], [], []
    t_all = time.monotonic()
    for name, fn in tests:
        _ctx = _Context(name)
        print("=== %s" % name, flush=True)
        t0 = time.monotonic()
        ok = False
        try:
            fn()
            ok = True
            passed.append(name)
            print("--- PASS %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
        except Skip as e:
            skipped.append(name)
            ok = True
            print("--- SKIP %s: %s" % (name, e), flush=True)
        except BaseException as e:  # noqa: B036 -- report everything, including KeyboardInterrupt
            failed.append(name)
            traceback.print_exc()
            print("--- FAIL %s (%.2fs): %s" % (name, time.monotonic() - t0, oneline(e)), flush=True)
            if isinstance(e, KeyboardInterrupt):
                _ctx.cleanup()
                raise
        finally:
            if (not ok or VERBOSE) and _ctx is not None:
                for f in _ctx.ferries:
                    f.dump_log()
            _ctx.cleanup()
            _ctx = None
    print("=== %s: %d passed, %d failed, %d skipped in %.1fs" % (
        script, len(passed), len(failed), len(skipped), time.monotonic() - t_all))
    for f in failed:
        print("FAILED %s" % f)
    if failed:
        sys.exit(1)
    if tests and len(skipped) == len(tests):
        print("SKIP %s: every test skipped" % script)
        sys.exit(77)
    sys.exit(0)


def oneline(e):
    """An exception as one line: its type and the first line of its message."""
    s = str(e).strip().splitlines()
    return (type(e).__name__ + ": " + (s[0] if s else "")).strip()


def wait_until(pred, timeout=5.0, interval=0.05, what="condition"):
    """Polls pred() until truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]
