#!/usr/bin/env bash
# Runs one seam-flood scenario against a fresh deployment built in BUILD_DIR, the same commands
# for every build (so a base revision and a change are measured alike).
#
#   bench/floods/run.sh BUILD_DIR mono|split/capnp/push|split/protobuf/push login|idle [ARGS...]
#
# idle runs the deployment under `ulimit -n 1024` (soft and hard, what a unit without
# LimitNOFILE= gets); ARGS go to seam-flood. FLOOD=path/to/seam-flood overrides which client runs
# (default: the one beside this script's build, build/release/bench/floods/seam-flood).
set -euo pipefail
build=$(realpath "$1"); deployment=$2; scenario=$3; shift 3
here=$(cd "$(dirname "$0")/../.." && pwd)
flood=${FLOOD:-$here/build/release/bench/floods/seam-flood}
dir=$(mktemp -d /tmp/seam-flood.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
codec=capnp; coherence=push
case $deployment in
  mono) bin=$build/mono/seamd ;;
  split/*/*) bin=$build/split/bin/seam-split; IFS=/ read -r _ codec coherence <<<"$deployment" ;;
  *) echo "run.sh: deployment must be mono or split/CODEC/COHERENCE" >&2; exit 64 ;;
esac
"$build/core/control/seamctl" init "$dir" --http "127.0.0.1:$port" --mount "$dir/mnt" \
  --codec "$codec" --coherence "$coherence" >/dev/null
password=$(awk '$1=="alice"{print $2}' "$dir/credentials")
limit=""
[ "$scenario" = idle ] && limit="ulimit -n 1024;"
bash -c "$limit exec \"$bin\" --config \"$dir/seams.toml\" --log-level warn" 2>"$dir/daemon.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.05
done
"$flood" "$scenario" --http "127.0.0.1:$port" --user alice --password "$password" "$@"
