#!/usr/bin/env bash
# Installs every Debian 12 package Ferry needs to build, run and test.
# Usage: scripts/install-deps.sh [build|test|package]   (default: build)
#   build: compiler, CMake and the libraries ferryd links against.
#   test : build + the real peers the test suite starts (clang for fuzzing, curl, nghttp2-client
#          for nghttp and h2load, testssl.sh, and Pebble for ACME: Debian's `pebble` package
#          ships both `pebble` and `pebble-challtestsrv`; wireguard-go, wireguard-tools and
#          iputils-ping for the mesh tests; Prometheus and promtool for the metrics test;
#          Chromium, Node.js and npm for the console's browser test; pandoc and man-db to
#          build and check the man pages; etcd-server and etcd-client for the catalog's etcd
#          back end (test_catalog_etcd.py starts its own cluster; the system service is
#          neither started nor enabled); HAProxy and nginx, which test_differential.py runs
#          in the foreground beside ferryd: their system services are neither started nor
#          enabled, see below).
#   package: build + what packaging/build and packaging/test use (debhelper, pandoc for the man
#          pages, rpm, lintian, rpmlint, debootstrap for the install test).
# Idempotent: apt-get skips packages that are already installed.
set -euo pipefail
what="${1:-build}"

build_pkgs=(
  build-essential g++ cmake pkg-config ninja-build
  libpoco-dev libasio-dev libnghttp2-dev libssl-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev
  libsqlite3-dev prometheus-cpp-dev libsystemd-dev libpcre2-dev
  catch2 python3 libjs-chart.js
)
test_pkgs=(
  clang libclang-rt-14-dev curl nghttp2-client iproute2 procps openssl
  testssl.sh pebble wireguard-go wireguard-tools iputils-ping
  prometheus chromium pandoc man-db haproxy nginx etcd-server etcd-client
)
# Installed for the tests only: their package scripts must not start the system services (nginx
# would take port 80, and a failed start fails the install), nor enable them at boot.
no_service_pkgs=(haproxy nginx etcd-server)
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
quiet=() rest=()
for p in "${missing[@]}"; do
  if [[ " ${no_service_pkgs[*]} " == *" $p "* ]]; then quiet+=("$p"); else rest+=("$p"); fi
done
apt-get update -qq
if [ "${#rest[@]}" -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${rest[@]}"
fi
if [ "${#quiet[@]}" -gt 0 ]; then
  # A policy-rc.d that denies every start (exit 101) for the time of this install: invoke-rc.d
  # (no systemd running, e.g. a container) and deb-systemd-invoke (systemd running) both obey it.
  # One already there is the administrator's and is left alone; ours is removed on any exit.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\n# scripts/install-deps.sh: no service starts while it installs %s\nexit 101\n' \
      "${quiet[*]}" > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${quiet[@]}"
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; own_policy=0; fi
  # Not at boot either (works whether or not systemd runs: it only removes the unit links).
  if command -v systemctl >/dev/null 2>&1; then
    for p in "${quiet[@]}"; do systemctl disable --quiet "${p%-server}.service" 2>/dev/null || true; done  # etcd-server: etcd.service
  fi
fi
echo "install-deps: installed ${missing[*]}"
