#!/usr/bin/env bash
# Installs every Debian package Seams needs to build, test and bench.
# Idempotent and quiet: a second run on a ready machine does nothing but check.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang clang-format clang-tidy
  libclang-rt-14-dev
  # libraries
  libboost-dev capnproto libcapnp-dev protobuf-compiler libprotobuf-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  libfuse3-dev fuse3 libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libsystemd-dev libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev
  # tests, bench and baselines (valgrind: callgrind for seam-counts, and its <valgrind/callgrind.h>;
  # fio, tar and git: seam-bench's fio and git workloads on the mount)
  curl nginx-light wrk hyperfine linux-perf valgrind gnuplot-nox attr procps psmisc python3 fio tar
  chromium
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: must run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps.sh: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/tmp/seams-apt.log 2>&1; then
  echo "deps.sh: apt-get update failed; see /tmp/seams-apt.log" >&2
  tail -n 20 /tmp/seams-apt.log >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/seams-apt.log 2>&1; then
  echo "deps.sh: apt-get install failed; see /tmp/seams-apt.log" >&2
  tail -n 20 /tmp/seams-apt.log >&2
  exit 1
fi
echo "deps.sh: done"
