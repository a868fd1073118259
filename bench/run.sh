#!/usr/bin/env bash
# Broker benchmark with the machine's own baselines, measured in the same run:
#   - loopback TCP throughput (iperf3, 3 s)
#   - disk write rate with fdatasync (dd, 256 MiB in 64 KiB blocks, conv=fdatasync),
#     and with every 1 MiB write synced (oflag=dsync), the pattern of durable acks
#   - geomirror broker: librdkafka produce (acks=-1, 1 KiB records) then consume,
#     on 1 and on 12 partitions
#   - consumer group round trip: 3 subscribed consumers that commit, records/s
#     and rebalance times (subscribe -> assigned; a 4th member joining)
#   - two consumers subscribe at once -> assigned (4 partitions), with Kafka's
#     default group.initial.rebalance.delay.ms (3000) and with 0
# Usage: bench/run.sh [--records N]   (default 200000 per run)
# Data goes under $GEOMIRROR_BENCH_DIR (default: build/bench-data) on the disk measured.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
records=200000
if [ "${1:-}" = "--records" ]; then records=$2; fi

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null

export GEOMIRROR_BROKER=$root/build/broker-core/geomirror-broker
export GEOMIRROR_BENCH_DIR=${GEOMIRROR_BENCH_DIR:-$root/build/bench-data}
mkdir -p "$GEOMIRROR_BENCH_DIR"

echo "== baselines"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
iperf3 -s -1 -p "$port" -B 127.0.0.1 >/dev/null 2>&1 &
sleep 0.5
loopback=$(iperf3 -c 127.0.0.1 -p "$port" -t 3 -J | /usr/bin/python3 -c \
  'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/8e6))')
wait || true
echo "loopback TCP (iperf3):             ${loopback} MB/s"

ddfile=$GEOMIRROR_BENCH_DIR/dd.bin
secs=$(dd if=/dev/zero of="$ddfile" bs=64k count=4096 conv=fdatasync 2>&1 | tail -1 | sed -E 's/.*copied, ([0-9.]+) s.*/\1/')
rm -f "$ddfile"
disk_mb=$(/usr/bin/python3 -c "print('%.0f' % (268435456/1e6/$secs))")
echo "disk write, 64 KiB + fdatasync (dd): ${disk_mb} MB/s"
secs=$(dd if=/dev/zero of="$ddfile" bs=1M count=256 oflag=dsync 2>&1 | tail -1 | sed -E 's/.*copied, ([0-9.]+) s.*/\1/')
rm -f "$ddfile"
dsync_mb=$(/usr/bin/python3 -c "print('%.0f' % (268435456/1e6/$secs))")
echo "disk write, 1 MiB each synced (dd oflag=dsync): ${dsync_mb} MB/s"

echo "== geomirror broker (acks=-1, 1 KiB records, $records records per run)"
for p in 1 12; do
  "$root/build/bench/broker_bench" --partitions "$p" --records "$records" --record-size 1024 --acks -1
done
echo "aim: produce MB/s >= 50% of the disk write rate (${disk_mb} MB/s -> $((disk_mb / 2)) MB/s)"

echo "== consumer group round trip (produce, then a group of 3 consumers that commit; then a 4th joins)"
"$root/build/bench/group_bench" --partitions 12 --records "$records" --record-size 1024 --consumers 3

echo "== two consumers subscribe at once -> assigned (4 partitions, a new group each run)"
for delay in 3000 0; do
  "$root/build/bench/group_bench" --at-once --partitions 4 --consumers 2 --runs 5 --initial-rebalance-delay-ms "$delay"
done
