#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and
# integration tests against real broker processes on loopback).
#   scripts/test.sh               plain build, all tests
#   scripts/test.sh --sanitize    ASan+UBSan build, all tests
# Extra arguments after the optional flag go to ctest (e.g. -R produce).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/install-deps.sh"

build_dir=$root/build
build_flag=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_dir=$root/build-asan
  build_flag=(--sanitize)
fi
"$root/scripts/build.sh" "${build_flag[@]}"

cd "$build_dir"
ctest --output-on-failure -j2 "$@"
