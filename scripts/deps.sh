#!/usr/bin/env bash
# Installs every Debian package Seams needs to build, test and bench.
# Idempotent and quiet: a second run on a ready machine does nothing but check.
# Then builds Cap'n Proto 1.1.0 once into the build tree (build_capnp below, scripts/capnp.sh).
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
  strace  # scripts/ladder.py: syscalls per call of the IPC ladder
  chromium
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: must run as root (it calls apt-get)" >&2
  exit 1
fi

# ---- Cap'n Proto 1.1.0 (scripts/capnp.sh) ------------------------------------------------------
# Debian 12 has only 0.9.2 (libcapnp-dev above: the -DSEAMS_CAPNP=system fallback). capnp.sh fetches
# Debian 13's 1.1.0 tarball through a private apt configuration, checks it against the Sources
# index and builds it once into build/_deps/capnproto-1.1.0, which CMake uses by default. A second
# run finds it there and does nothing. It needs the toolchain above, so it runs last.
build_capnp() {
  "$(dirname "$0")/capnp.sh"
}
# ---- end of Cap'n Proto 1.1.0 -------------------------------------------------------------------

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  build_capnp
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
build_capnp
