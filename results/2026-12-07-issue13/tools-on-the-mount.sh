#!/usr/bin/env bash
# Real tools on the mount of each deployment: git init/add/commit/fsck, cp -a, tar x as root,
# plus the defect reproducers with plain syscalls. Usage: tools.sh BUILD_DIR OUTFILE
set -u
B=${1:-build/release}; OUT=${2:-/tmp/tools.out}; here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
: > "$OUT"
src=$root/core
tarball=/tmp/seams-core.tar; tar -C $root -cf $tarball --owner=1234 --group=55 core
run() { local name=$1; shift
  local d=/tmp/seams-tools-$name; rm -rf $d; mkdir -p $d
  $B/core/control/seamctl init $d --http 127.0.0.1:$((18000 + RANDOM % 1000)) --mount $d/mnt "$@" >/dev/null
  if [ "$name" = mono ]; then $B/mono/seamd --config $d/seams.toml >$d/log 2>&1 & else $B/split/bin/seam-split --config $d/seams.toml >$d/log 2>&1 & fi
  local pid=$!
  $B/core/control/seamctl --config $d/seams.toml wait --pid $pid >/dev/null || { echo "$name: did not start"; tail $d/log; return; }
  local m=$d/mnt
  { echo "## $name"
    ( cd $m && mkdir repo && cd repo && tar xf $tarball && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm init && git fsck --strict >/dev/null 2>&1 && echo "git init/add/commit/fsck: ok ($(git ls-files | wc -l) files)" ) 2>&1 | tail -2
    ( mkdir -p $m/tarx && tar -C $m/tarx -xpf $tarball && echo "tar x as root: ok, owner $(stat -c %u:%g $m/tarx/core/vault/vault.h) mode $(stat -c %a $m/tarx/core/vault/vault.h)" ) 2>&1 | tail -2
    ( cp -a $root/core $m/cpa && diff -r $root/core $m/cpa >/dev/null && echo "cp -a: ok, mtime kept: $( [ $(stat -c %Y $root/core/vault/vault.h) = $(stat -c %Y $m/cpa/vault/vault.h) ] && echo yes || echo no)" ) 2>&1 | tail -2
    python3 "$(dirname "$0")/reproducers.py" "$m" 2>&1
  } >> "$OUT"
  kill $pid; wait $pid 2>/dev/null
}
run mono
run split-capnp-push --codec capnp --coherence push
run split-protobuf-off --codec protobuf --coherence off
cat "$OUT"
