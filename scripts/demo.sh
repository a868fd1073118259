#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a live two-region
# setup on this machine: broker cores for regions "east" and "west", each
# shown serving a kcat round trip (metadata, produce, consume).
#   scripts/demo.sh                 run the demo, then stop both brokers
#   scripts/demo.sh --keep-running  leave both brokers up (Ctrl-C stops them)
# Ports: EAST_PORT (default 19092) and WEST_PORT (default 29092).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=false
[ "${1:-}" = "--keep-running" ] && keep=true

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
broker=$root/build/broker-core/geomirror-broker

data=$root/build/demo-data
mkdir -p "$data"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start_region() {  # region port
  local region=$1 port=$2
  "$broker" --listen "127.0.0.1:$port" --data-dir "$data/$region" --cluster-id "$region" \
    --config "$root/configs/demo/$region.properties" 2>"$data/$region.log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q "geomirror-broker ready" "$data/$region.log" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$data/$region.log"; echo "demo: $region broker failed to start" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $region broker not ready; see $data/$region.log" >&2
  exit 1
}

east_port=${EAST_PORT:-19092}
west_port=${WEST_PORT:-29092}
start_region east "$east_port"
start_region west "$west_port"
echo "== two regions up"
grep -h "ready" "$data/east.log" "$data/west.log" | sed 's/^/   /'

for region in east west; do
  port=$east_port; [ "$region" = west ] && port=$west_port
  bootstrap=127.0.0.1:$port
  stamp=$(date +%s)
  echo
  echo "== region $region ($bootstrap): produce 5 orders with kcat"
  for i in 1 2 3 4 5; do echo "customer-$i|order $i from $region at $stamp"; done |
    kcat -b "$bootstrap" -P -t orders -K '|' -H "origin=$region" -z lz4
  echo "== region $region: kcat -L"
  kcat -b "$bootstrap" -L -t orders | sed 's/^/   /'
  echo "== region $region: consume them back (partition/offset key => value headers)"
  kcat -b "$bootstrap" -C -t orders -o beginning -e -q -f '   %p/%o %k => %s  [%h]\n' | tail -n 5
done

echo
if $keep; then
  echo "Both regions keep running: east at 127.0.0.1:$east_port, west at 127.0.0.1:$west_port (Ctrl-C stops them)."
  echo "Try: kcat -b 127.0.0.1:$east_port -L"
  wait
else
  echo "Demo done; stopping both brokers (run with --keep-running to explore them with kcat)."
fi
