#!/usr/bin/env bash
# The README's test command: installs dependencies, configures, builds and runs every test.
#   scripts/test.sh            release build, all tests
#   scripts/test.sh --sanitizers   also the core and IPC tests under ASan+UBSan and TSan
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=0
for arg in "$@"; do
  case "$arg" in
    --sanitizers) sanitizers=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

scripts/deps.sh
jobs=$(nproc)
# ccache hits across clones in other folders (CI builds a fresh clone): paths relative to here.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

run_preset() {
  local preset=$1 label=${2:-}
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  echo "== $preset: test"
  if [ -n "$label" ]; then
    ctest --preset "$preset" -j"$jobs" -L "$label"
  else
    ctest --preset "$preset" -j"$jobs"
  fi
}

run_preset release
if [ "$sanitizers" = 1 ]; then
  run_preset asan core
  run_preset tsan core
fi
