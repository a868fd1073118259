#!/usr/bin/env bash
# Broker benchmarks, each figure printed next to the machine's own baseline
# measured in the same run:
#   baselines  loopback TCP throughput (iperf3, 3 s); a sustained disk write
#              of 1 GiB in 1 MiB blocks with one fdatasync at the end (dd
#              conv=fdatasync: more than the page cache absorbs); the same
#              disk with every 1 MiB write synced (dd oflag=dsync)
#   broker     librdkafka produce (acks=-1, 1 KiB records) on 1 and 12
#              partitions (ratio to the sustained disk write), librdkafka
#              consume and a catch-up read with plain Fetch requests from a
#              client that only parses headers (ratio to loopback)
#   rolls      acks=-1 produce latency at a fixed rate while segments roll and
#              a consumer catches up on cold data; again with every file sync
#              slowed to 5 ms (the power-loss shim), a slow disk
#   storage    group commit without the network: durable appends per sync
#   groups     consumer-group round trip (3 consumers that commit; a 4th
#              joins), and two consumers subscribing at once -> assigned with
#              group.initial.rebalance.delay.ms 3000 (Kafka's default) and 0
# Usage: bench/run.sh [--records N]   (default 400000 1 KiB records per run)
# Data goes under $GEOMIRROR_BENCH_DIR (default: build/bench-data) on the disk measured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
records=400000
case "${1:-}" in
  "") ;;
  --records) records=${2:?--records needs a number} ;;
  *) echo "usage: bench/run.sh [--records N]" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null

export GEOMIRROR_BROKER=$root/build/broker-core/geomirror-broker
export GEOMIRROR_BENCH_DIR=${GEOMIRROR_BENCH_DIR:-$root/build/bench-data}
mkdir -p "$GEOMIRROR_BENCH_DIR"
bench=$root/build/bench
py=/usr/bin/python3

# pct VALUE BASE -> VALUE as a percentage of BASE
pct() { $py -c "import sys; print('%.0f%%' % (100 * float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
# field JSON KEY[.KEY...] -> one value of a JSON object
field() {
  $py -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}
# settle: write back what earlier phases left dirty, so it does not land on the next one
settle() { sync; }
# dd_mb_s ARGS... -> MB/s of a dd write of 1 GiB or 256 MiB (from its summary line)
dd_mb_s() {
  local ddfile=$GEOMIRROR_BENCH_DIR/dd.bin out
  out=$(dd if=/dev/zero of="$ddfile" "$@" 2>&1 | tail -1)
  rm -f "$ddfile"
  $py -c 'import re, sys
m = re.match(r"(\d+) bytes .* copied, ([0-9.]+) s", sys.argv[1])
print("%.0f" % (int(m.group(1)) / 1e6 / float(m.group(2))))' "$out"
}

echo "== baselines"
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
iperf3 -s -1 -p "$port" -B 127.0.0.1 >/dev/null 2>&1 &
sleep 0.5
loopback=$(iperf3 -c 127.0.0.1 -p "$port" -t 3 -J | $py -c \
  'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/8e6))')
wait || true
settle
disk=$(dd_mb_s bs=1M count=1024 conv=fdatasync)
dsync=$(dd_mb_s bs=1M count=256 oflag=dsync)
printf "loopback TCP (iperf3, 3 s):                          %6s MB/s\n" "$loopback"
printf "disk, sustained 1 GiB write + fdatasync (dd):        %6s MB/s\n" "$disk"
printf "disk, every 1 MiB write synced (dd oflag=dsync):     %6s MB/s\n" "$dsync"

echo "== geomirror broker (acks=-1, 1 KiB records, $records records per run)"
for p in 1 12; do
  settle
  r=$("$bench/broker_bench" --partitions "$p" --records "$records" --record-size 1024 --acks -1 --json)
  produce=$(field "$r" produce_mb_s)
  consume=$(field "$r" consume_mb_s)
  catch_up=$(field "$r" catch_up_fetch_mb_s)
  printf "%2d partition(s): produce  %7s MB/s %8s records/s  p50 %s ms  p99 %s ms  = %s of the sustained disk write\n" \
    "$p" "$produce" "$(field "$r" produce_records_s)" "$(field "$r" produce_latency_ms.p50)" \
    "$(field "$r" produce_latency_ms.p99)" "$(pct "$produce" "$disk")"
  printf "                 consume  %7s MB/s %8s records/s (librdkafka)           = %s of loopback\n" \
    "$consume" "$(field "$r" consume_records_s)" "$(pct "$consume" "$loopback")"
  printf "                 catch-up %7s MB/s (Fetch v11, records not parsed)        = %s of loopback\n" \
    "$catch_up" "$(pct "$catch_up" "$loopback")"
  if [ "$p" = 12 ]; then
    produce12=$produce
    catch_up12=$catch_up
  fi
done
echo "aim: 12-partition produce >= 80% of the sustained disk write: $(pct "$produce12" "$disk")"
echo "aim: catch-up read >= 25% of loopback: $(pct "$catch_up12" "$loopback")"

echo "== produce latency while segments roll and a consumer reads cold data (5000 records/s, 4 MiB segments)"
settle
r=$("$bench/roll_latency_bench" --rate 5000 --seconds 10 --cold-mb 200 --json)
printf "normal disk:          p50 %s ms  p99 %s ms  p99.9 %s ms  max %s ms, %s segments rolled, cold reader %s MB/s\n" \
  "$(field "$r" produce_latency_ms.p50)" "$(field "$r" produce_latency_ms.p99)" "$(field "$r" produce_latency_ms.p999)" \
  "$(field "$r" produce_latency_ms.max)" "$(field "$r" segments_rolled)" "$(field "$r" cold_consume_mb_s)"
journal=$GEOMIRROR_BENCH_DIR/sync-journal
settle
r=$(LD_PRELOAD=$root/build/tests/support/libpowerloss_shim.so POWERLOSS_ROOT=$GEOMIRROR_BENCH_DIR \
    POWERLOSS_JOURNAL=$journal POWERLOSS_SLOW_SYNC=all:5000 \
    "$bench/roll_latency_bench" --rate 5000 --seconds 10 --cold-mb 200 --json)
rm -f "$journal"
printf "every sync slowed 5 ms: p50 %s ms  p99 %s ms  p99.9 %s ms  max %s ms, %s segments rolled, cold reader %s MB/s\n" \
  "$(field "$r" produce_latency_ms.p50)" "$(field "$r" produce_latency_ms.p99)" "$(field "$r" produce_latency_ms.p999)" \
  "$(field "$r" produce_latency_ms.max)" "$(field "$r" segments_rolled)" "$(field "$r" cold_consume_mb_s)"

echo "== group commit in the storage layer (producers waiting for durability before their next append)"
settle
"$bench/group_commit_bench" --dir "$GEOMIRROR_BENCH_DIR"

echo "== consumer group round trip (produce, then a group of 3 consumers that commit; then a 4th joins)"
"$bench/group_bench" --partitions 12 --records "$records" --record-size 1024 --consumers 3

echo "== two consumers subscribe at once -> assigned (4 partitions, a new group each run)"
for delay in 3000 0; do
  "$bench/group_bench" --at-once --partitions 4 --consumers 2 --runs 5 --initial-rebalance-delay-ms "$delay"
done
