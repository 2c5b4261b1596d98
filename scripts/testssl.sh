#!/usr/bin/env bash
# Runs testssl.sh (Debian package `testssl.sh`, command `testssl`) against a Ferry TLS bind on
# loopback and checks its JSON findings against Ferry's TLS profile (docs/TLS.md):
#   - every vulnerability check (-U) reports OK or INFO,
#   - only TLS 1.2 and TLS 1.3 are offered (SSLv2, SSLv3, TLS 1.0, TLS 1.1 not offered),
#   - every offered cipher is AEAD (AES-GCM, ChaCha20-Poly1305; CCM in TLS 1.3) and, in
#     TLS 1.2, ECDHE; no cipher category below "strong" is offered.
#   - no finding at all is rated MEDIUM, HIGH or CRITICAL (issue 13). The throwaway CA is
#     given to testssl (--add-ca) and the certificate has a 90-day validity and CRL/OCSP URIs
#     (never fetched: testssl does not phone out), so certificate findings judge Ferry's
#     serving of a chain, not the test PKI.
#
# Usage: scripts/testssl.sh [OUT_DIR]     (default: a temporary directory, kept on failure)
# Environment: FERRYD (default build-test/daemon/ferryd), TESTSSL (default: testssl on PATH),
#              TESTSSL_CHECKS (default "-p -s -f -P -S -U -E").
# Writes OUT_DIR/testssl.json (flat JSON), OUT_DIR/testssl.txt (the report), ferryd.log.
# Exit: 0 all checks pass, 1 a finding violates the profile (listed), 2 setup error,
#       77 testssl, openssl or ferryd missing (SKIP).
set -uo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
ferryd="${FERRYD:-$top/build-test/daemon/ferryd}"
testssl_bin="${TESTSSL:-$(command -v testssl || command -v testssl.sh || true)}"
checks="${TESTSSL_CHECKS:--p -s -f -P -S -U -E}"

[ -n "$testssl_bin" ] || { echo "SKIP testssl: testssl.sh is not installed (apt-get install testssl.sh)"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP testssl: the openssl command is not installed"; exit 77; }
[ -x "$ferryd" ] || { echo "SKIP testssl: no ferryd at $ferryd (set FERRYD)"; exit 77; }

out="${1:-$(mktemp -d /tmp/ferry-testssl-XXXXXX)}"
mkdir -p "$out"
work="$out/work"; mkdir -p "$work"
ferry_pid=""
cleanup() { [ -n "$ferry_pid" ] && kill "$ferry_pid" 2>/dev/null && wait "$ferry_pid" 2>/dev/null; }
trap cleanup EXIT

# A throwaway CA and a server certificate for ferry.test (ECDSA P-256, like the tests').
ossl() { openssl "$@" >/dev/null 2>>"$work/openssl.err" || { echo "openssl $1 failed:"; cat "$work/openssl.err"; exit 2; }; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj "/CN=Ferry testssl CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ferry.test" \
  -keyout "$work/leaf.key" -out "$work/leaf.csr"
printf '%s\n' 'subjectAltName=DNS:ferry.test' 'extendedKeyUsage=serverAuth' \
  'crlDistributionPoints=URI:http://ca.ferry.invalid/ca.crl' \
  'authorityInfoAccess=OCSP;URI:http://ocsp.ferry.invalid/' >"$work/leaf.ext"
ossl x509 -req -in "$work/leaf.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 90 \
  -extfile "$work/leaf.ext" -out "$work/leaf.crt"
cat "$work/leaf.crt" "$work/ca.crt" "$work/leaf.key" >"$work/ferry.pem"

# The backend is a closed port: Ferry answers 503 itself, which is enough for the HTTP-level
# checks (BREACH looks at the response's compression).
cat >"$work/ferry.conf" <<EOF
global
    workers   1
    admin     off
    state-dir $work/state
    log       stderr info

defaults
    timeout connect 1s
    timeout client  30s
    timeout server  5s

frontend tls
    bind 127.0.0.1:0 tls
    default-certificate $work/ferry.pem

backend pool
    server s1 127.0.0.1:9

app site
    hosts       ferry.test
    certificate $work/ferry.pem
    backend     pool
EOF

"$ferryd" -f "$work/ferry.conf" 2>"$out/ferryd.log" &
ferry_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.*listening frontend=tls address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/ferryd.log" | head -1)"
  [ -n "$port" ] && grep -q "ready pid=" "$out/ferryd.log" && break
  kill -0 "$ferry_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then echo "ferryd did not start:"; cat "$out/ferryd.log"; exit 2; fi
echo "testssl: ferryd pid $ferry_pid on 127.0.0.1:$port; output in $out"

rm -f "$out/testssl.json"
t0=$(date +%s)
# shellcheck disable=SC2086
"$testssl_bin" --warnings batch --quiet --color 0 --nodns none --ip 127.0.0.1 --add-ca "$work/ca.crt" \
  --jsonfile "$out/testssl.json" \
  $checks "https://ferry.test:$port" >"$out/testssl.txt" 2>&1
rc=$?
echo "testssl: exit $rc after $(( $(date +%s) - t0 ))s"
[ -s "$out/testssl.json" ] || { echo "testssl wrote no JSON:"; tail -30 "$out/testssl.txt"; exit 2; }

# Judge the findings (Debian's python3, stdlib only).
/usr/bin/python3 - "$out/testssl.json" <<'PY'
import json, re, sys
findings = json.load(open(sys.argv[1]))
bad = []
by_id = {f["id"]: f for f in findings}
VULNS = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS",
         "BREACH", "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13",
         "RC4"]
for v in VULNS:
    f = by_id.get(v)
    if f is None:
        bad.append("vulnerability check %s: no result" % v)
    elif f["severity"] not in ("OK", "INFO"):
        bad.append("vulnerability %s: %s (%s)" % (v, f["finding"], f["severity"]))
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    f = by_id.get(p)
    if f is None or not f["finding"].startswith("not offered"):
        bad.append("protocol %s: %s" % (p, f and f["finding"]))
for p in ("TLS1_2", "TLS1_3"):
    f = by_id.get(p)
    if f is None or not f["finding"].startswith("offered"):
        bad.append("protocol %s: %s (expected offered)" % (p, f and f["finding"]))
ciphers = [f for f in findings if re.match(r"cipher-tls1_[23]_x", f["id"])]
if not ciphers:
    bad.append("no per-protocol cipher list (-E) in the results")
def cipher_name(f):  # "TLS 1.2   xc02c   ECDHE-ECDSA-AES256-GCM-SHA384   ECDH 253 ..." -> the OpenSSL name
    m = re.search(r"\bx[0-9a-f]{2,6}\s+(\S+)", f["finding"])
    return m.group(1) if m else f["finding"]
for f in ciphers:
    aead = re.search(r"GCM|CHACHA20|CCM", f["finding"]) is not None
    ecdhe = f["id"].startswith("cipher-tls1_3") or cipher_name(f).startswith("ECDHE-")
    if not (aead and ecdhe):
        bad.append("cipher offered: %s" % f["finding"])
for f in findings:
    if f["id"].startswith("cipherlist_") and f["severity"] not in ("OK", "INFO"):
        bad.append("cipher category %s: %s (%s)" % (f["id"], f["finding"], f["severity"]))
print("testssl: %d findings, %d ciphers offered: %s" % (
    len(findings), len(ciphers), ", ".join(cipher_name(f) for f in ciphers)))
for f in findings:  # LOW and WARN for the record; MEDIUM and above fail
    if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL"):
        bad.append("finding %s: %s (%s)" % (f["id"], f["finding"], f["severity"]))
    elif f["severity"] in ("LOW", "WARN"):
        print("  note %-28s %-8s %s" % (f["id"], f["severity"], f["finding"]))
if bad:
    print("testssl: FAILED, findings outside Ferry's TLS profile:")
    for b in bad:
        print("  " + b)
    sys.exit(1)
print("testssl: all vulnerability, protocol and cipher checks match the profile")
PY
verdict=$?
exit "$verdict"
