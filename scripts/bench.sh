#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the release preset, runs seam-bench on
# mono and every split deployment that is built (the bench skips, and says so, what is not), and
# writes the JSON, report.md and report.html; prints the headline table at the end. Then the IPC
# ladder (scripts/ladder.py: seam-micro pinned and unpinned, syscalls per call; about a minute
# quick), which the report shows as its "IPC ladder" section.
#   scripts/bench.sh              quick run (seam-bench run --quick: 2 interleaved repeats), into results/latest/
#   scripts/bench.sh --full       the long matrix (2 s measurements, 20 starts, 20 drift trials, 3 repeats)
#   scripts/bench.sh --out DIR    write into DIR instead (CI uses results/ci)
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
out=results/latest
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1 ;;
    --out) [ $# -ge 2 ] || { echo "bench.sh: --out needs a folder" >&2; exit 2; }; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

scripts/deps.sh
B=build/release
echo "== release: configure and build the bench's programs"
cmake --preset release >/dev/null
# Only what the bench runs (the deployments, seamctl, seam-bench, seam-micro), whichever exist in
# the build graph: the tests are test.sh's job, and a broken test must not stop the bench.
wanted=(seamd seamctl seam-split seam-fsd seam-authd seam-syncd seam-httpd seam-fused seam-bench
        seam-micro)
known=$(ninja -C "$B" -t targets all 2>/dev/null | sed -n 's/^\([^:]*\): phony$/\1/p')
targets=()
for t in "${wanted[@]}"; do
  if grep -qx "$t" <<<"$known"; then targets+=("$t"); fi
done
cmake --build --preset release -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$out"
# A fresh folder per run: the report reads every seam-bench-*.json it finds there.
rm -f "$out"/seam-bench-*.json "$out"/seam-ladder.json "$out"/report.md "$out"/report.html "$out"/headline.md
if [ "$full" = 1 ]; then
  mode=(--repeat 3)
else
  mode=(--quick)
fi
echo "== seam-bench run ${mode[*]} (output: $out)"
# seam-bench exits 1 when a run failed (a fio verify failure): the report is still written, and
# says so at its top, before this script exits with that code.
rc=0
"$B/bench/seam-bench/seam-bench" run "${mode[@]}" --bin-dir "$PWD/$B" --out "$out" || rc=$?

ladder_rc=0
if [ -x "$B/bench/micro/seam-micro" ]; then
  ladder_args=()
  if [ "$full" = 1 ]; then ladder_args=(--full); fi
  echo "== IPC ladder: scripts/ladder.py ${ladder_args[*]} (output: $out/seam-ladder.json)"
  # Exits 1 when a run failed: the document is still written, the failures listed in the report.
  python3 scripts/ladder.py --bin "$B/bench/micro/seam-micro" --out "$out/seam-ladder.json" \
    "${ladder_args[@]}" || ladder_rc=$?
else
  echo "bench.sh: seam-micro is not built: no IPC ladder in this report" >&2
fi

echo "== seam-report"
python3 bench/report/seam-report.py "$out" --out "$out" --quiet
echo
echo "Headline ($out/report.md, charts in $out/report.html):"
echo
cat "$out/headline.md"
if [ -f "$out/seam-ladder.json" ]; then
  echo
  echo "IPC ladder, pinned and unpinned: section \"IPC ladder\" of $out/report.md"
fi
if [ "$rc" -ne 0 ]; then
  echo
  echo "bench.sh: seam-bench exited $rc: a run FAILED (see the FAILED section of $out/report.md)" >&2
fi
if [ "$ladder_rc" -ne 0 ]; then
  echo "bench.sh: scripts/ladder.py exited $ladder_rc (its failures are listed in $out/report.md)" >&2
  if [ "$rc" -eq 0 ]; then rc=$ladder_rc; fi
fi
exit "$rc"
