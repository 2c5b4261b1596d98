#!/usr/bin/env bash
# Runs Ferry's whole test suite, as on CI (.ci/run runs exactly this).
#
#   1. scripts/install-deps.sh test       Debian packages (needs root on a fresh machine)
#   2. RelWithDebInfo build in build-test/ and `ctest`: unit + integration tests
#   3. ASan+UBSan build in build-asan/: unit + integration tests again
#      (skipped with FERRY_TEST_SANITIZE=0)
#   4. scripts/fuzz.sh 12: every libFuzzer target for 12 s (exit 77 = skipped)
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
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '%-34s %5ss  ok' "$name" "$dt")")
  elif [ "$rc" -eq 77 ]; then
    summary+=("$(printf '%-34s %5ss  skipped' "$name" "$dt")")
  else
    summary+=("$(printf '%-34s %5ss  FAILED (exit %s)' "$name" "$dt" "$rc")")
    failed+=("$name")
  fi
  echo "=================== $name: exit $rc after ${dt}s"
  return "$rc"
}

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
    # The integration harness prints one "--- FAIL name (time): reason" line per failed case;
    # CI keeps only the end of the log, so repeat those lines (shortened) in the summary too.
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

if phase "build RelWithDebInfo (build-test)" configure_build "$top/build-test" RelWithDebInfo; then
  phase "ctest RelWithDebInfo" run_ctest "$top/build-test"
fi

if [ "${FERRY_TEST_SANITIZE:-1}" != "0" ]; then
  # -O1 -g1: quick to compile, fast enough to run, line numbers in sanitizer stack traces;
  # assertions stay on.
  if phase "build ASan+UBSan (build-asan)" configure_build "$top/build-asan" RelWithDebInfo \
      -DFERRY_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1"; then
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

if [ "${FERRY_TEST_FUZZ:-1}" != "0" ]; then
  phase "fuzz 12s per target" scripts/fuzz.sh 12
else
  summary+=("$(printf '%-34s %5s   skipped (FERRY_TEST_FUZZ=0)' "fuzz" "-")")
fi

finish
