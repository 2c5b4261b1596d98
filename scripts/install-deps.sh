#!/usr/bin/env bash
# Installs every Debian 12 package Ferry needs to build, run and test.
# Usage: scripts/install-deps.sh [build|test|package]   (default: build)
#   build: compiler, CMake and the libraries ferryd links against.
#   test : build + the real peers the test suite starts (clang for fuzzing, curl, nghttp2-client
#          for nghttp and h2load, testssl.sh, and Pebble for ACME: Debian's `pebble` package
#          ships both `pebble` and `pebble-challtestsrv`; wireguard-go, wireguard-tools and
#          iputils-ping for the mesh tests; Prometheus and promtool for the metrics test;
#          Chromium, Node.js and npm for the console's browser test; pandoc and man-db to
#          build and check the man pages).
#   package: build + what packaging/build and packaging/test use (debhelper, pandoc for the man
#          pages, rpm, lintian, rpmlint, debootstrap for the install test).
# Idempotent: apt-get skips packages that are already installed.
set -euo pipefail
what="${1:-build}"

build_pkgs=(
  build-essential g++ cmake pkg-config ninja-build
  libpoco-dev libasio-dev libnghttp2-dev libssl-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev
  libsqlite3-dev prometheus-cpp-dev libsystemd-dev
  catch2 python3 libjs-chart.js
)
test_pkgs=(
  clang libclang-rt-14-dev curl nghttp2-client iproute2 procps openssl
  testssl.sh pebble wireguard-go wireguard-tools iputils-ping
  prometheus chromium pandoc man-db
)
package_pkgs=(
  debhelper pandoc rpm lintian rpmlint debootstrap
)

pkgs=("${build_pkgs[@]}")
if [ "$what" = "test" ]; then
  pkgs+=("${test_pkgs[@]}")
  # Node.js and npm (for playwright-core): Debian's, unless a Node.js with npm is already
  # installed (e.g. from NodeSource, whose nodejs package conflicts with Debian's npm).
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
elif [ "$what" = "package" ]; then
  pkgs+=("${package_pkgs[@]}")
elif [ "$what" != "build" ]; then
  echo "install-deps: unknown set '$what' (build, test or package)" >&2
  exit 2
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
