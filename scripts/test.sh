#!/usr/bin/env bash
# The README's test command: checks the layering, installs dependencies, builds, runs every test.
#   scripts/test.sh            release build, all tests; then the thread-safety preset (build only)
#   scripts/test.sh --sanitizers   also, under ASan+UBSan and under TSan, the core tests and
#                                  the ones that run real daemons and mounts (label sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=0
for arg in "$@"; do
  case "$arg" in
    --sanitizers) sanitizers=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

# The layering first: it takes a second and needs no build (README.md, Layout: the floors).
echo "== layering: scripts/check-layering.py --check"
python3 scripts/check-layering.py --check

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
# Compile-only: clang's -Wthread-safety over every non-test target, as errors, so a broken locking
# contract (core/common/thread_annotations.h) fails here. No tests run; ccache keeps it short.
echo "== thread-safety: configure and build (compile only)"
cmake --preset thread-safety >/dev/null
cmake --build --preset thread-safety -j"$jobs"
if [ "$sanitizers" = 1 ]; then
  # Label `core` (unit tests) and `sanitizers` (fuse_frontend_test, e2e_deployment_test,
  # launcher_e2e_test: every daemon they start is built with the same sanitizer, and a report
  # from any of them fails the test; tests/support/sanitizer_reports.h).
  run_preset asan '^(core|sanitizers)$'
  run_preset tsan '^(core|sanitizers)$'
fi
