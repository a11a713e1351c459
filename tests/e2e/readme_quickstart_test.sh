#!/bin/bash
# Runs the README's quick-start blocks as written (issue 12, defect 6): the single daemon's and
# the split launcher's. Each block is taken from README.md, its first line (deps + build) dropped,
# B pointed at this build, /tmp/demo* moved into a fresh temp dir and port 8080 replaced by a free
# one; then it runs under `bash -e`, so any step that fails (a mount or socket not there yet) fails
# the test. Usage: readme_quickstart_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d /tmp/seams-readme-XXXXXX)
cleanup() {
  # Whatever failed: no mount and no directory left behind (each block's own trap kills the
  # daemon it started).
  for m in "$work"/*/mnt; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The first ```sh block after the heading $1.
block() {
  awk -v heading="$1" '
    $0 == heading { in_section = 1; next }
    in_section && /^```sh$/ { in_block = 1; next }
    in_block && /^```$/ { exit }
    in_block { print }
  ' "$src/README.md"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

run_block() {
  local name=$1 heading=$2
  local text port script
  text=$(block "$heading")
  [ -n "$text" ] || { echo "no sh block under '$heading' in README.md"; exit 1; }
  port=$(free_port)
  script="$work/$name.sh"
  {
    echo 'set -e -o pipefail'
    echo "B=$build  # a later block uses the B of the first"
    echo 'trap '"'"'kill -9 $(jobs -p) 2>/dev/null || true'"'"' EXIT'
    printf '%s\n' "$text" |
      grep -v '^scripts/deps.sh' |
      sed -e "s|^B=.*|B=$build|" -e "s|/tmp/demo|$work/demo|g" -e "s|8080|$port|g"
  } > "$script"
  echo "=== $name: running README block ($script)"
  (cd "$src" && bash "$script") > "$work/$name.out" 2>&1 || {
    echo "=== $name: FAILED; output:"; cat "$work/$name.out"; exit 1; }
  cat "$work/$name.out"
}

run_block mono '## Quick start: the single daemon'
# What the block promises: the HTTP write landed (and `cat mnt/hostname.txt` succeeded under -e),
# seamctl wait said ready, and the mount is gone once seamd has stopped.
cmp -s /etc/hostname "$work/demo/vault/hostname.txt" || { echo "the PUT did not land"; exit 1; }
grep -q "ready: " "$work/mono.out" || { echo "seamctl wait did not report ready"; exit 1; }
if mountpoint -q "$work/demo/mnt"; then echo "mount left behind"; exit 1; fi

if [ -x "$build/split/bin/seam-split" ]; then
  run_block split '## Split deployment: the launcher'
  grep -q "fsd/vault" "$work/split.out" || { echo "launcher caches missing fsd's"; exit 1; }
  grep -q "fault hang injected into authd" "$work/split.out" || { echo "no fault"; exit 1; }
fi
echo "README quick start: ok"
