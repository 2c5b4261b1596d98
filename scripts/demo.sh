#!/usr/bin/env bash
# Ferry demo: installs the build dependencies, builds ferryd (Release, build/), starts two
# demo backends on 127.0.0.1:8081 and :8082 and runs ferryd with examples/quickstart.conf in
# the foreground. Ctrl-C stops everything.
#
#   curl http://localhost:8080/             # alternates between demo-1 and demo-2
#   curl http://127.0.0.1:9900/healthz      # admin
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
py=/usr/bin/python3   # Debian's python3: the demo backends use only its standard library

scripts/install-deps.sh build

cmake -S "$top" -B "$top/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF
ninja -C "$top/build" -j "${JOBS:-2}" ferryd ferryctl
ferryd="$top/build/daemon/ferryd"
conf="$top/examples/quickstart.conf"

"$ferryd" -c -f "$conf"

for port in 8080 8081 8082 9900; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is already in use; stop whatever listens there first" >&2
    exit 1
  fi
done

logdir="$(mktemp -d /tmp/ferry-demo-logs.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped (logs kept in $logdir)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$py" "$top/examples/demo_backend.py" demo-1 8081 >"$logdir/demo-1.log" 2>&1 & pids+=($!)
"$py" "$top/examples/demo_backend.py" demo-2 8082 >"$logdir/demo-2.log" 2>&1 & pids+=($!)

# ferryd in the foreground of this script (not exec: the trap must still stop the backends).
"$ferryd" -f "$conf" &
ferryd_pid=$!
pids+=("$ferryd_pid")
sleep 1

cat <<MSG

  Ferry demo (ferryd pid $ferryd_pid)
  ----------
  proxy:     curl http://localhost:8080/          (repeat it: demo-1 and demo-2 share the load)
             curl -H 'Host: api.localhost' http://127.0.0.1:8080/
  console:   http://127.0.0.1:9900/               (no admin-user on loopback: open access)
  metrics:   curl http://127.0.0.1:9900/metrics
  admin:     curl http://127.0.0.1:9900/healthz
             $top/build/ctl/ferryctl status   (also: apps, servers, drain BACKEND SERVER, enable, reload, certs)
  config:    $conf
  logs:      ferryd's log and one JSON access-log line per request appear below;
             the backends log to $logdir
  reload:    edit the config, then: kill -HUP $ferryd_pid
  stop:      Ctrl-C

MSG
wait "$ferryd_pid"
