#!/usr/bin/env bash
# Instruction counts of the hot operations (bench/counts/README.md): runs seam-counts under
# callgrind, writes OUT/counts.json and OUT/counts.md (the table against the committed baseline)
# and prints the table. Exits 1 when an operation grew by more than 15% (seam-report counts).
#   scripts/counts.sh                 compare with bench/counts/baseline.json (OUT: build/release/counts)
#   scripts/counts.sh --out DIR       write into DIR (CI: results/ci/counts)
#   scripts/counts.sh --update        rewrite bench/counts/baseline.json from this build; commit it
#                                     with a message that says why the counts moved
# Assumes the release preset is configured (scripts/test.sh has done it); builds only seam-counts.
set -euo pipefail
cd "$(dirname "$0")/.."

update=0
out=build/release/counts
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=1 ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "counts.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

command -v valgrind >/dev/null || { echo "counts.sh: valgrind is missing (scripts/deps.sh)" >&2; exit 2; }
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
scripts/capnp.sh  # Cap'n Proto 1.1.0 into build/_deps once (nothing when it is there)
[ -f build/release/build.ninja ] || cmake --preset release >/dev/null
cmake --build --preset release --target seam-counts >/dev/null
mkdir -p "$out"

start_ns=$(date +%s%N)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then rev="$rev+dirty"; fi
build/release/bench/counts/seam-counts --label "$rev" --out "$out/counts.json"
baseline=bench/counts/baseline.json

if [ "$update" = 1 ]; then
  if [ -f "$baseline" ]; then
    python3 bench/report/seam-report.py counts "$baseline" "$out/counts.json" --out "$out/counts.md" || true
  fi
  cp "$out/counts.json" "$baseline"
  echo "counts.sh: $baseline rewritten from $rev; commit it and say in the message why the counts moved"
  exit 0
fi

rc=0
python3 bench/report/seam-report.py counts "$baseline" "$out/counts.json" --out "$out/counts.md" || rc=$?
ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
printf 'counts.sh: %d.%03d s (seam-counts under callgrind and the comparison)\n' $((ms / 1000)) $((ms % 1000))
exit "$rc"
