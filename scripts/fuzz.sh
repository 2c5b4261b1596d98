#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (clang, ASan+UBSan) against their seed corpora.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s; targets: config http1 tls)
# Crashes are written to tests/fuzz/artifacts/ and make the script exit non-zero.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"; shift || true
targets=("$@"); [ "${#targets[@]}" -gt 0 ] || targets=(config http1 tls)
out="${FUZZ_BUILD_DIR:-$top/build-fuzz}"; mkdir -p "$out" "$top/tests/fuzz/artifacts"
command -v clang++ >/dev/null || { echo "SKIP fuzz: clang++ not installed (scripts/install-deps.sh test)"; exit 77; }
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
for t in "${targets[@]}"; do
  case "$t" in
    config) srcs=("$top"/configlang/src/*.cpp "$top"/configlang/src/*/*.cpp); inc=(-I"$top/configlang/include" -I"$top/configlang/src") ;;
    http1)  srcs=("$top"/proxy/src/http1/parser.cpp "$top"/proxy/src/proxy_protocol.cpp); inc=(-I"$top/proxy/src" -I"$top/configlang/include") ;;
    tls)    srcs=("$top"/proxy/src/tls/client_hello.cpp "$top"/proxy/src/routing/host_router.cpp); inc=(-I"$top/proxy/src") ;;
    *) echo "unknown fuzz target $t" >&2; exit 2 ;;
  esac
  existing=(); for s in "${srcs[@]}"; do [ -f "$s" ] && existing+=("$s"); done
  echo "== building fuzz target $t"
  clang++ "${flags[@]}" "${inc[@]}" "$top/tests/fuzz/${t}_fuzz.cpp" "${existing[@]}" -o "$out/${t}_fuzz"
  corpus="$out/corpus-$t"; mkdir -p "$corpus"
  echo "== running $t for ${secs}s"
  "$out/${t}_fuzz" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$top/tests/fuzz/artifacts/${t}-" \
      "$corpus" "$top/tests/fuzz/corpus/$t"
done
echo "fuzz: all targets ran without a crash"
