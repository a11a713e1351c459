#!/usr/bin/env bash
# Builds the `fuzz` preset and runs every libFuzzer target (tests/fuzz/README.md) for SECONDS each
# (default 60), one after the other, from its committed seed corpus and dictionary.
#   scripts/fuzz.sh [SECONDS] [--ci] [--out DIR] [--only NAME[,NAME...]]
#   --ci    CI's step: output under results/ci/fuzz/ (unless --out).
# Exits 1 if a target crashed, leaked, hung or broke an invariant (all still run); each
# such input printed (base64), kept.
# New corpus entries go to build/fuzz/work/<target>/ (never into the committed corpus); per target
# a log (<out>/<target>.log, with libFuzzer's final stats) and its crashing inputs
# (<out>/<target>/crash-*, leak-*, timeout-*, oom-*); a summary table is <out>/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
ci=0
out=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) ci=1 ;;
    --out) out=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    ''|*[!0-9]*) echo "fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) seconds=$1 ;;
  esac
  shift
done
[ "$seconds" -ge 1 ] || { echo "fuzz.sh: SECONDS must be at least 1" >&2; exit 2; }
if [ -z "$out" ]; then
  if [ "$ci" = 1 ]; then out=results/ci/fuzz; else out=build/fuzz/out; fi
fi

# Every target, in the order of tests/fuzz/targets.cpp; a dictionary where one helps.
targets=(http vault_path config capnp_server capnp_params proto_server fuse)
declare -A dict=([http]=tests/fuzz/dict/http.dict [vault_path]=tests/fuzz/dict/http.dict
                 [config]=tests/fuzz/dict/toml.dict)
if [ -n "$only" ]; then IFS=, read -r -a targets <<<"$only"; fi

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
start=$(date +%s)
echo "== fuzz: configure and build (clang, -fsanitize=fuzzer,address,undefined)"
scripts/capnp.sh  # Cap'n Proto 1.1.0 into build/_deps once (nothing when it is there)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
built=$(date +%s)

mkdir -p "$out"
# Leaks count (LSan at exit); UBSan findings are fatal; ASan stops at the first error.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
{
  echo "| target | seconds | runs | exec/s | cov (edges) | ft (features) | corpus | result |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$out/summary.md"
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  [ -x "$bin" ] || { echo "fuzz.sh: no target '$t' ($bin)" >&2; exit 2; }
  work=build/fuzz/work/$t
  artifacts=$out/$t
  rm -rf "$artifacts"
  mkdir -p "$work" "$artifacts"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [ -n "${dict[$t]:-}" ]; then args+=(-dict="${dict[$t]}"); fi
  echo "== fuzz: $t for ${seconds}s"
  rc=0
  "$bin" "${args[@]}" "$work" "$seeds" >"$out/$t.log" 2>&1 || rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$out/$t.log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$done_line")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log")
  result=ok
  shopt -s nullglob
  found=("$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*)
  shopt -u nullglob
  if [ "$rc" != 0 ] || [ ${#found[@]} -gt 0 ]; then
    result="FAILED (exit $rc)"
    failed+=("$t")
    echo "fuzz.sh: $t failed (exit $rc); the end of its log:" >&2
    grep -E 'ERROR|SUMMARY|invariant broken|runtime error' "$out/$t.log" | head -n 5 >&2 || true
    for f in "${found[@]}"; do
      echo "--- $f (base64; replay: $bin $f)" >&2
      base64 -w 76 "$f" >&2
    done
  fi
  echo "| $t | $seconds | ${runs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |" \
    >>"$out/summary.md"
  grep -E '^stat::' "$out/$t.log" | sed "s/^/  $t /" || true
  echo "  $t: $done_line"
done
end=$(date +%s)
echo "build $((built - start)) s, fuzzing $((end - built)) s, total $((end - start)) s" >>"$out/summary.md"
cat "$out/summary.md"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (inputs kept under $out/)" >&2
  exit 1
fi
