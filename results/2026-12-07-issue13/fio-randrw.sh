#!/bin/bash
# The issue-13 random I/O job on one deployment, PM QoS held: fio randrw 4k, 2 jobs x 32 MiB, psync.
# usage: fio-randrw.sh BUILD TAG floor|mono|split [codec] [coherence] [runtime_s]; writes /tmp/sio/
# usage: bench.sh BUILD TAG DEPLOY(mono|floor|split) [codec] [coherence] [runtime]
set -u
BUILD=$1; TAG=$2; KIND=$3; CODEC=${4:-capnp}; COH=${5:-push}; RT=${6:-30}
CTL=$BUILD/core/control/seamctl
D=/tmp/sio/dep-$TAG-$KIND-$CODEC-$COH
rm -rf $D; mkdir -p /tmp/sio/out
PORT=$((18000 + RANDOM % 2000))
OUT=/tmp/sio/out/$TAG${IDLE:+-idle$IDLE}-$KIND-$CODEC-$COH.json
python3 -c "import time;f=open('/dev/cpu_dma_latency','wb',0);f.write(b'\0\0\0\0');time.sleep(100000)" &
QOS=$!
if [ $KIND = floor ]; then
  mkdir -p $D/dir
  fio --name=r --rw=randrw --bs=4k --size=32m --numjobs=2 --ioengine=psync --time_based --runtime=$RT --directory=$D/dir --group_reporting --output-format=json > $OUT
else
  if [ $KIND = mono ]; then
    $CTL init $D --http 127.0.0.1:$PORT --mount $D/mnt >/dev/null
    [ -n "${IDLE:-}" ] && sed -i "s/^max_idle_threads = .*/max_idle_threads = $IDLE/" $D/seams.toml
    $BUILD/mono/seamd --config $D/seams.toml > $D/log 2>&1 &
  else
    $CTL init $D --http 127.0.0.1:$PORT --mount $D/mnt --codec $CODEC --coherence $COH >/dev/null
    [ -n "${IDLE:-}" ] && sed -i "s/^max_idle_threads = .*/max_idle_threads = $IDLE/" $D/seams.toml
    $BUILD/split/bin/seam-split --config $D/seams.toml > $D/log 2>&1 &
  fi
  PID=$!
  $CTL --config $D/seams.toml wait --pid $PID >/dev/null || { echo "not ready"; tail $D/log; }
  if [ -n "${STRACE:-}" ]; then
    for p in $(pgrep -P $PID) ; do echo "$p $(cat /proc/$p/comm)"; done > $D/pids
  fi
  fio --name=r --rw=randrw --bs=4k --size=32m --numjobs=2 --ioengine=psync --time_based --runtime=$RT --directory=$D/mnt --group_reporting --output-format=json > $OUT
  $CTL --config $D/seams.toml stats > $D/stats.txt 2>&1
  $CTL --config $D/seams.toml stop >/dev/null 2>&1
  wait $PID
  mountpoint -q $D/mnt && umount -l $D/mnt
fi
kill $QOS
python3 - $OUT $TAG $KIND/$CODEC/$COH <<'PY'
import json,sys
j=json.load(open(sys.argv[1]))['jobs'][0]
r,w=j['read'],j['write']
def p(x,k): return x['clat_ns']['percentile'].get(k,0)/1000
print(f"{sys.argv[2]:8} {sys.argv[3]:22} r_iops={r['iops']:9.0f} w_iops={w['iops']:9.0f} r_p50={p(r,'50.000000'):8.1f}us r_p99={p(r,'99.000000'):9.1f}us w_p50={p(w,'50.000000'):8.1f}us w_p99={p(w,'99.000000'):9.1f}us")
PY
