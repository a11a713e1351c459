#!/bin/sh
# Cached 4 KiB open+read+close and stat latency: FuseFrontend (fuse_serve) against libfuse's
# example passthrough_ll over the same backing directory, with comparable cache settings
# (1 s entry/attr timeouts, page cache kept across opens). Rounds alternate between the two.
#
#   tests/core/fuse/bench/bench_vs_passthrough.sh BUILD_DIR [iterations] [rounds]
# Needs root and /dev/fuse. Prints each round and the median p50 ratios (seams / passthrough_ll).
# CACHE=off compares the uncached round trip instead: timeouts 0 and no page cache kept for
# seams, cache=never (timeout 0, direct I/O) for passthrough_ll. THREADS and IDLE set seams'
# fuse.max_threads and fuse.max_idle_threads (default 4 and -1, the config defaults).
set -eu
CACHE=${CACHE:-on}
if [ "$CACHE" = off ]; then
  SEAMS_ARGS="0 0 0 ${THREADS:-4} ${IDLE:--1}"; PT_OPTS="cache=never"
else
  SEAMS_ARGS="1 1 1 ${THREADS:-4} ${IDLE:--1}"; PT_OPTS="cache=always,timeout=1"
fi
BUILD=$(realpath "$1")
N=${2:-20000}
ROUNDS=${3:-3}
WORK=$(mktemp -d /tmp/seams-fusebench-XXXXXX)
SERVE_PID=""
PT_PID=""
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  [ -n "$PT_PID" ] && kill "$PT_PID" 2>/dev/null || true
  umount -l "$WORK/mnt_pt" 2>/dev/null || true
  umount -l "$WORK/mnt_seams" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

gcc -O2 -Wall /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
  $(pkg-config fuse3 --cflags --libs) -o "$WORK/passthrough_ll"
mkdir "$WORK/data" "$WORK/mnt_seams" "$WORK/mnt_pt"
head -c 4096 /dev/urandom > "$WORK/data/file4k"

# shellcheck disable=SC2086
"$BUILD/tests/core/fuse/fuse_serve" "$WORK/data" "$WORK/mnt_seams" $SEAMS_ARGS > "$WORK/serve.log" &
SERVE_PID=$!
"$WORK/passthrough_ll" -f -o source="$WORK/data",$PT_OPTS "$WORK/mnt_pt" &
PT_PID=$!
for i in $(seq 100); do
  if grep -q ready "$WORK/serve.log" && stat "$WORK/mnt_pt/file4k" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

echo "kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg), cache $CACHE, $N iterations per round"
: > "$WORK/ratios"
for r in $(seq "$ROUNDS"); do
  S=$("$BUILD/tests/core/fuse/fuse_latency" "$WORK/mnt_seams/file4k" "$N")
  P=$("$BUILD/tests/core/fuse/fuse_latency" "$WORK/mnt_pt/file4k" "$N")
  echo "round $r seams:"; echo "$S"
  echo "round $r passthrough_ll:"; echo "$P"
  so=$(echo "$S" | awk '/open\+read/ {print $3}'); po=$(echo "$P" | awk '/open\+read/ {print $3}')
  ss=$(echo "$S" | awk '/^stat/ {print $3}'); ps=$(echo "$P" | awk '/^stat/ {print $3}')
  echo "$so $po $ss $ps" >> "$WORK/ratios"
done
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ro=$(awk '{ print $1 / $2 }' "$WORK/ratios" | median)
rs=$(awk '{ print $3 / $4 }' "$WORK/ratios" | median)
echo "median p50 ratio seams/passthrough_ll: open+read+close $ro, stat $rs"
