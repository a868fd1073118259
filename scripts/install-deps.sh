#!/usr/bin/env bash
# Installs the Debian 12 packages that geomirror needs to build, test and run
# its demo. Idempotent: when everything is present it prints nothing and
# touches nothing. Run as root, or with sudo available.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  libboost-dev libboost-program-options-dev librdkafka-dev libspdlog-dev
  libfmt-dev prometheus-cpp-dev libsqlite3-dev libgtest-dev
  zlib1g-dev libzstd-dev liblz4-dev libsnappy-dev
  # tests, demo and benchmarks
  python3 kcat python3-kafka python3-confluent-kafka iperf3
  # codecs python3-kafka needs to read and write snappy, lz4 and zstd batches
  python3-snappy python3-lz4 python3-zstandard
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
((${#missing[@]} == 0)) && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
