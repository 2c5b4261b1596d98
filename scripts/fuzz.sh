#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (clang, ASan+UBSan) against their seed corpora.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   default: 60 s for each of config http1 tls h2headers backhaul proxyproto, one after the other
#   scripts/fuzz.sh 3600 h2headers    one target for an hour (long runs: see tests/fuzz/README.md)
#   scripts/fuzz.sh 0 h2headers       build only: build-fuzz/h2headers_fuzz FILE... replays inputs
# At the end a summary gives, per target: wall and CPU seconds (user+sys of the fuzzer process),
# executions, exec/s, coverage (cov/ft), corpus size and the crash count.
# Environment:
#   FUZZ_BUILD_DIR  build and run directory (default build-fuzz/; the corpus each run grows is
#                   kept there, in corpus-TARGET/, and reused by the next run)
#   FUZZ_CPU=1      SECONDS is CPU time: a target is run again until its CPU-s reach SECONDS
#                   (for "1 CPU-hour per target" on a busy machine: FUZZ_CPU=1 scripts/fuzz.sh 3600)
#   FUZZ_NICE       nice level for the fuzzers (default 0)
#   FUZZ_JOBS       parallel compiles (default 2)
#   FUZZ_NO_BUILD=1 run the binaries already in FUZZ_BUILD_DIR (e.g. several targets at once in
#                   parallel after one `scripts/fuzz.sh 0`)
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-max_len=8192 -rss_limit_mb=4096"
# Crashes are written to tests/fuzz/artifacts/ (gitignored); any crash makes the script exit 1
# after all targets ran. Exit 77 (skip) when clang++ is missing.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"; shift || true
all=(config http1 tls h2headers backhaul proxyproto)
targets=("$@"); [ "${#targets[@]}" -gt 0 ] || targets=("${all[@]}")
out="${FUZZ_BUILD_DIR:-$top/build-fuzz}"; mkdir -p "$out" "$top/tests/fuzz/artifacts"
command -v clang++ >/dev/null || { echo "SKIP fuzz: clang++ not installed (scripts/install-deps.sh test)"; exit 77; }
cxx=(clang++); command -v ccache >/dev/null && cxx=(ccache clang++)
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
strict=()
# clang 14 has coroutines, but Debian's asio only detects them for clang via <experimental/coroutine>.
asio=(-DASIO_STANDALONE -DASIO_HAS_CO_AWAIT=1 -DASIO_NO_DEPRECATED -DASIO_NO_TYPEID -DASIO_DISABLE_STD_ALIGNED_ALLOC)
# configlang needs util (base64 of password hashes and WireGuard keys; util's encoder is OpenSSL's).
p="$top/proxy/src"; cl=("$top"/configlang/src/*.cpp "$top"/configlang/src/*/*.cpp "$top"/util/src/*.cpp)
# The protocol-neutral messages and the HTTP/1 codec (both directions, chunked). Not http/body.cpp:
# the body pump is an asio coroutine (clang 14 + UBSan cannot build it, see below) and no target
# drives a socket.
h1=("$p"/http/fields.cpp "$p"/http/message.cpp "$p"/http1/request_parser.cpp "$p"/http1/response_parser.cpp "$p"/http1/head_scan.cpp
    "$p"/http1/chunked.cpp)

# Every object is compiled with the same flags, once per run (shared by the targets), into
# $out/obj/; ccache (when installed) serves unchanged files across runs.
inc=(-I"$p" -I"$top/proxy/include" -I"$top/configlang/include" -I"$top/configlang/src" -I"$top/util/include"
     "${asio[@]}")
declare -A built=()
compile() {  # compile SRC...: sets objs=(the objects), FUZZ_JOBS compiles at a time
  local s o extra running=0; objs=()
  for s in "$@"; do
    [ -f "$s" ] || continue
    o="$out/obj/${s#"$top"/}.o"; objs+=("$o")
    [ -n "${built[$s]:-}" ] && continue
    built[$s]=1; mkdir -p "$(dirname "$o")"
    extra=()
    # clang 14 + UBSan on asio coroutine bodies: "Cannot represent a difference across
    # sections". The budget's coroutine is not what a target fuzzes; ASan stays on.
    case "$s" in */limits/app_budget.cpp) extra=(-fno-sanitize=undefined) ;; esac
    "${cxx[@]}" "${flags[@]}" "${extra[@]}" "${inc[@]}" -c "$s" -o "$o" &
    running=$((running + 1))
    if [ "$running" -ge "${FUZZ_JOBS:-2}" ]; then wait -n; running=$((running - 1)); fi
  done
  while [ "$running" -gt 0 ]; do wait -n; running=$((running - 1)); done
}

summary=(); failed=0
for t in "${targets[@]}"; do
  libs=()
  case "$t" in
    config)     srcs=("${cl[@]}")
                libs=(-lcrypto -lpcre2-8) ;;
    http1)      srcs=("${h1[@]}" "$p"/net/proxy_protocol.cpp "$p"/net/sockaddr.cpp) ;;
    tls)        srcs=("$p"/tls/client_hello.cpp "$p"/plan/host_router.cpp) ;;
    h2headers)  srcs=("$p"/http2/headers.cpp "$p"/http1/rewrite.cpp "$p"/http1/field_rules.cpp "${h1[@]}"
                      "$p"/http/error_pages.cpp)
                libs=(-lnghttp2) ;;
    backhaul)   srcs=("$p"/mesh/load_report.cpp "$p"/routing/hints.cpp "$p"/routing/request_route.cpp
                      "$p"/plan/host_router.cpp "$p"/net/proxy_protocol.cpp "${h1[@]}" "$p"/http1/rewrite.cpp
                      "$p"/http1/field_rules.cpp "$p"/tls/sni_select.cpp "$p"/tls/sni_map.cpp "$p"/tls/acme_challenges.cpp
                      "$p"/plan/plan.cpp "$p"/net/cidr.cpp "$p"/balance/balancer.cpp "$p"/runtime/server_state.cpp
                      "$p"/limits/app_budget.cpp "$p"/runtime/counters.cpp "$p"/log/log.cpp "$p"/net/sockaddr.cpp
                      "$p"/rules/program.cpp "$p"/rules/rate_limiter.cpp "$p"/auth/users.cpp "${cl[@]}")
                libs=(-lssl -lcrypto -lpthread -lpcre2-8) ;;
    proxyproto) srcs=("$p"/net/proxy_protocol.cpp "$p"/net/sockaddr.cpp) ;;
    *) echo "unknown fuzz target $t (known: ${all[*]})" >&2; exit 2 ;;
  esac
  if [ "${FUZZ_NO_BUILD:-0}" != "1" ]; then
    echo "== building fuzz target $t"
    compile "${srcs[@]}"
    mkdir -p "$out/obj/tests/fuzz"
    "${cxx[@]}" "${flags[@]}" "${strict[@]}" "${inc[@]}" -c "$top/tests/fuzz/${t}_fuzz.cpp" -o "$out/obj/tests/fuzz/${t}_fuzz.o"
    clang++ "${flags[@]}" "$out/obj/tests/fuzz/${t}_fuzz.o" "${objs[@]}" "${libs[@]}" -o "$out/${t}_fuzz"
  fi
  [ "$secs" = "0" ] && continue  # build only
  # Every reproducer of a fixed finding first (tests/fuzz/findings/TARGET-*): a regression fails
  # here, named, whatever the random run below happens to reach.
  found=("$top/tests/fuzz/findings/$t"-*)
  if [ -e "${found[0]}" ]; then
    if ! "$out/${t}_fuzz" "${found[@]}" >"$out/$t.findings.log" 2>&1; then
      echo "!! $t: a fixed finding fails again (log: $out/$t.findings.log)"
      grep -h 'Running: ' "$out/$t.findings.log" | tail -n 1 || true
      grep -m1 -h -e 'invariant failed' -e 'ERROR: ' -e 'runtime error' "$out/$t.findings.log" || true
      failed=1
    fi
  fi
  corpus="$out/corpus-$t"; mkdir -p "$corpus"
  dict=(); [ -f "$top/tests/fuzz/$t.dict" ] && dict=(-dict="$top/tests/fuzz/$t.dict")
  log="$out/$t.log"
  echo "== running $t for ${secs}s (log: $log)"
  # bash's `time` gives the fuzzer's CPU time (user, sys) and wall time. With FUZZ_CPU=1 the
  # target runs again (same growing corpus) until its CPU time reaches SECONDS.
  TIMEFORMAT='%3U %3S %3R'
  rc=0; cpu=0; wall=0; execs=0; run=0
  while :; do
    left=$(awk -v s="$secs" -v c="$cpu" -v r="$run" 'BEGIN { l = s - c; printf "%d", (r > 0 && l < 10) ? 10 : l }')
    [ "$run" -gt 0 ] && echo "== $t: ${cpu} CPU-s so far, another ${left}s"
    run=$((run + 1))
    { time nice -n "${FUZZ_NICE:-0}" "$out/${t}_fuzz" -max_total_time="$left" -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$top/tests/fuzz/artifacts/${t}-" ${FUZZ_ARGS:-} "$corpus" "$top/tests/fuzz/corpus/$t" \
        >"$log" 2>&1; } 2>"$out/$t.time" || rc=$?
    read -r user sys w <"$out/$t.time" || { user=0; sys=0; w=0; }
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cpu=$(awk -v c="$cpu" -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", c + u + s }')
    wall=$(awk -v a="$wall" -v b="$w" 'BEGIN { printf "%.1f", a + b }')
    execs=$((execs + ${n:-0}))
    [ "$rc" -ne 0 ] || [ "${FUZZ_CPU:-0}" != "1" ] && break
    awk -v s="$secs" -v c="$cpu" 'BEGIN { exit !(c >= s - 1) }' && break
  done
  tail -n 3 "$log"
  eps=$(awk -v n="$execs" -v w="$wall" 'BEGIN { printf "%d", (w > 0) ? n / w : 0 }')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1 || true)
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1; failed=1
    echo "!! $t: the fuzzer exited $rc; reproducer(s):"; grep -h 'Test unit written to' "$log" || true
    grep -m1 -h -e 'invariant failed' -e 'ERROR: ' -e 'runtime error' "$log" || true
  fi
  per_cpu=$(awk -v n="$execs" -v c="$cpu" 'BEGIN { printf "%d", (c > 0) ? n / c : 0 }')
  summary+=("$(printf '%-10s %7.0f s wall %8s CPU-s %11s execs %7s/s wall %7s/CPU-s  %-30s %s crash' \
    "$t" "$wall" "$cpu" "$execs" "$eps" "$per_cpu" "${cov:-cov: ?}" "$crashes")")
done
[ "$secs" = "0" ] && { echo "fuzz: built ${targets[*]} in $out (nothing run)"; exit 0; }
echo "== fuzz summary (${secs}s per target; CPU-s = user+sys of the fuzzer process)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then echo "fuzz: CRASH (artifacts in tests/fuzz/artifacts/)"; exit 1; fi
echo "fuzz: all targets ran without a crash"
