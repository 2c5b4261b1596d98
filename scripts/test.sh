#!/usr/bin/env bash
# Runs Ferry's whole test suite, as on CI (.ci/run runs exactly this).
#
#   1. scripts/install-deps.sh test       Debian packages (needs root on a fresh machine)
#   2. RelWithDebInfo build in build-test/ and `ctest`: unit + integration tests
#   3. ASan+UBSan build in build-asan/: unit + integration tests again
#      (skipped with FERRY_TEST_SANITIZE=0)
#   4. scripts/fuzz.sh 8: each of the 6 libFuzzer targets for 8 s (~50 s of fuzzing plus their
#      build; exit 77 = skipped). 8 s only shows a target still runs clean on its seeds; the
#      long runs (an hour per target) are manual: tests/fuzz/README.md
#
# FERRY_TEST_OVERLAP=1 overlaps phases where one mostly waits: the ASan build runs at nice 19
# while the first ctest pass runs, and fuzzing at nice 19 during the ASan ctest pass (25 min
# instead of 31 here). Off by default: even at nice 19 the compiler adds latency noise that
# timing-sensitive tests feel (test_balancing's latency-aware power of two choices starved a
# server in one such run), and CI must not be flaky.
#
# Environment: JOBS (default 2) build parallelism; FERRY_TEST_SANITIZE=0 skips phase 3;
# FERRY_TEST_FUZZ=0 skips phase 4; CTEST_ARGS extra ctest arguments (e.g. "-R integration").
# Prints the duration of each phase; exits non-zero if anything failed.
set -uo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
jobs="${JOBS:-2}"
failed=()
failed_tests=()  # "build-dir: test names" for each ctest phase that failed
summary=()
t_start=$(date +%s)

phase() {  # phase NAME COMMAND...: runs a phase, records its time and result
  local name="$1"; shift
  local t0 rc
  t0=$(date +%s)
  echo
  echo "=================== $name"
  "$@"
  rc=$?
  local dt=$(( $(date +%s) - t0 ))
  record "$name" "$dt" "$rc"
  echo "=================== $name: exit $rc after ${dt}s"
  return "$rc"
}

record() {  # record NAME SECONDS RC: adds a phase's line to the summary
  local name="$1" dt="$2" rc="$3"
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '%-34s %5ss  ok' "$name" "$dt")")
  elif [ "$rc" -eq 77 ]; then
    summary+=("$(printf '%-34s %5ss  skipped' "$name" "$dt")")
  else
    summary+=("$(printf '%-34s %5ss  FAILED (exit %s)' "$name" "$dt" "$rc")")
    failed+=("$name")
  fi
}

# A background phase: bg_start NAME COMMAND... runs it at nice 19 with its output in a log file;
# bg_wait prints that log (the last 60 lines, or 200 on failure) and records the phase.
bg_name="" bg_pid="" bg_t0=0 bg_log=""
bg_start() {
  bg_name="$1"; shift
  bg_log="$(mktemp /tmp/ferry-test-phase.XXXXXX)"
  bg_t0=$(date +%s)
  echo
  echo "=================== $bg_name: started in the background (nice 19), log $bg_log"
  # A subshell (the command may be a function of this script) that lowers its own priority;
  # what it starts inherits it. Job control (set -m) puts it in a process group of its own, so
  # an interrupted run can stop it and everything it started (the trap below).
  set -m
  ( renice -n 19 -p "$BASHPID" > /dev/null; "$@" ) > "$bg_log" 2>&1 &
  bg_pid=$!
  set +m
}
bg_wait() {
  [ -n "$bg_pid" ] || return 0
  local rc dt
  wait "$bg_pid"
  rc=$?
  dt=$(( $(date +%s) - bg_t0 ))
  echo
  echo "=================== $bg_name (ran in the background; its log follows)"
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then tail -n 60 "$bg_log"; else tail -n 200 "$bg_log"; fi
  echo "=================== $bg_name: exit $rc after ${dt}s"
  record "$bg_name" "$dt" "$rc"
  rm -f "$bg_log"
  bg_pid=""
  return "$rc"
}

# Interrupted (CI timeout, Ctrl-C): stop a background phase too.
trap '[ -n "$bg_pid" ] && kill -TERM -- "-$bg_pid" 2> /dev/null; exit 130' INT TERM

configure_build() {  # configure_build DIR BUILD_TYPE [cmake args...]
  local dir="$1" type="$2"; shift 2
  cmake -S "$top" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" && ninja -C "$dir" -j "$jobs"
}

run_ctest() {  # run_ctest DIR [ctest args...]
  local dir="$1"; shift
  # Tests run one at a time: several are timing-sensitive (latency under load, timeouts).
  # shellcheck disable=SC2086
  ctest --test-dir "$dir" --output-on-failure --timeout 300 "$@" ${CTEST_ARGS:-}
  local rc=$?
  # Name the failed tests again so they appear next to the summary at the end of the log.
  if [ "$rc" -ne 0 ] && [ -f "$dir/Testing/Temporary/LastTestsFailed.log" ]; then
    failed_tests+=("$(basename "$dir"): $(cut -d: -f2 "$dir/Testing/Temporary/LastTestsFailed.log" | tr '\n' ' ')")
    # The integration kit (ferrykit.suite) prints one "--- FAIL name (time): reason" line per
    # failed case; CI keeps only the end of the log, so repeat those lines (shortened) in the
    # summary too.
    local line
    while IFS= read -r line; do
      failed_tests+=("$(basename "$dir"):   ${line:0:400}")
    done < <(grep -h -e '^--- FAIL' -e 'Catch.*FAILED\|^.*: FAILED:' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null | head -n 20)
  fi
  return "$rc"
}

finish() {
  echo
  echo "=================== summary ($(( $(date +%s) - t_start ))s total)"
  printf '  %s\n' "${summary[@]}"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    [ "${#failed_tests[@]}" -gt 0 ] && printf '  failed tests in %s\n' "${failed_tests[@]}"
    exit 1
  fi
  echo "all phases passed"
  exit 0
}

phase "install dependencies" scripts/install-deps.sh test || finish

overlap="${FERRY_TEST_OVERLAP:-0}"
sanitize="${FERRY_TEST_SANITIZE:-1}"
fuzz="${FERRY_TEST_FUZZ:-1}"

# -O1 -g1: quick to compile, fast enough to run, line numbers in sanitizer stack traces;
# assertions stay on.
asan_build=(configure_build "$top/build-asan" RelWithDebInfo
  -DFERRY_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1")

if phase "build RelWithDebInfo (build-test)" configure_build "$top/build-test" RelWithDebInfo; then
  [ "$sanitize" != "0" ] && [ "$overlap" != "0" ] && bg_start "build ASan+UBSan (build-asan)" "${asan_build[@]}"
  phase "ctest RelWithDebInfo" run_ctest "$top/build-test"
fi

if [ "$sanitize" != "0" ]; then
  if [ -n "$bg_pid" ]; then
    bg_wait
  else
    phase "build ASan+UBSan (build-asan)" "${asan_build[@]}"
  fi
  asan_built=$?
  if [ "$asan_built" -eq 0 ]; then
    [ "$fuzz" != "0" ] && [ "$overlap" != "0" ] && bg_start "fuzz 8s per target" scripts/fuzz.sh 8
    # Leak detection on; the first ASan or UBSan report aborts the process, so the test that
    # triggered it fails and prints ferryd's log with the report. testssl.sh judges the TLS
    # configuration, which the sanitizers do not change (test_tls covers the handshake code
    # under them): it runs in the first pass only (50 s). test_acme spends its ~85 s waiting
    # on Pebble's order flow; the ACME client's parsing and JWS code runs under the sanitizers
    # in unit_daemon (acme_* tests), so the integration test runs in the first pass only too,
    # which keeps the suite near its 20-minute budget. test_console drives Chromium (its time
    # is the browser's); the admin API it calls runs under the sanitizers in test_admin_api,
    # test_admin_security, test_history and test_metrics.
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
      phase "ctest ASan+UBSan" run_ctest "$top/build-asan" -E "integration.test_(testssl|acme|console)"
  fi
else
  summary+=("$(printf '%-34s %5s   skipped (FERRY_TEST_SANITIZE=0)' "ASan+UBSan" "-")")
fi

if [ "$fuzz" != "0" ]; then
  if [ -n "$bg_pid" ]; then
    bg_wait
  else
    phase "fuzz 8s per target" scripts/fuzz.sh 8
  fi
else
  summary+=("$(printf '%-34s %5s   skipped (FERRY_TEST_FUZZ=0)' "fuzz" "-")")
fi

finish
