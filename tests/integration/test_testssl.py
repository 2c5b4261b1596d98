"""testssl.sh against a Ferry TLS bind (scripts/testssl.sh does the work and the judging): no
vulnerability finding, only TLS 1.2 / 1.3, only ECDHE + AEAD ciphers. About a minute; skipped
when testssl.sh (Debian package `testssl.sh`) is not installed."""
import os
import shutil
import subprocess

from ferrykit.suite import INTEGRATION_DIR, ferryd_path, main, skip, tmpdir

SCRIPT = os.path.join(INTEGRATION_DIR, "..", "..", "scripts", "testssl.sh")


def test_testssl_finds_nothing_outside_the_profile():
    if not (shutil.which("testssl") or shutil.which("testssl.sh")):
        skip("testssl.sh is not installed (apt-get install testssl.sh)")
    out = os.path.join(tmpdir(), "testssl")
    env = dict(os.environ, FERRYD=ferryd_path())
    p = subprocess.run(["bash", SCRIPT, out], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=280)
    text = p.stdout.decode("utf-8", "replace")
    print("\n".join("  " + l for l in text.splitlines()))
    if p.returncode == 77:
        skip(text.strip().splitlines()[-1] if text.strip() else "scripts/testssl.sh skipped")
    if p.returncode != 0:
        report = os.path.join(out, "testssl.txt")
        if os.path.exists(report):
            print(open(report, errors="replace").read()[-6000:])
    assert p.returncode == 0, "scripts/testssl.sh exited %d" % p.returncode


if __name__ == "__main__":
    main()
