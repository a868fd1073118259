#!/usr/bin/env bash
# Configures and builds geomirror with Ninja.
#   scripts/build.sh [--sanitize] [extra cmake -D options...]
# Plain builds go to build/, sanitizer builds (ASan+UBSan) to build-asan/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build_dir=$root/build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_dir=$root/build-asan
  cmake_args+=(-DGEOMIRROR_SANITIZE=ON)
fi

cmake -S "$root" -B "$build_dir" "${cmake_args[@]}" "$@" >/dev/null
cmake --build "$build_dir" -- -j"$(nproc)"
