#!/usr/bin/env bash
# Obtains Cap'n Proto 1.1.0 and builds it once, static, into a prefix every preset shares:
#   build/_deps/capnproto-1.1.0/   (CMake's SEAMS_CAPNP=bundled, the default, looks there)
#
# Why: Debian 12 ships only 0.9.2; 1.0 removed much of its per-call cost (no Finish for a reply
# without capabilities, one writev per loop pass, buffered reads). Debian 13 (trixie) has 1.1.0, so
# the upstream tarball comes from Debian's archive through a private apt configuration (its own
# sources.list with one trixie deb-src line and its own lists/cache/state under build/_deps/apt;
# the system's apt sources are never touched). The chain of trust is apt's: the signed InRelease
# vouches for the Sources index, whose SHA-256 of the tarball is checked here before the build.
#
# Usage: scripts/capnp.sh            fetch, verify, build and install if the prefix is not current
#        scripts/capnp.sh --prefix   print the prefix and exit
# Env:   SEAMS_DEPS_DIR (default <repo>/build/_deps), SEAMS_DEBIAN_MIRROR (default
#        http://deb.debian.org/debian).
# A second run that finds the prefix stamped with this version and SHA-256 does nothing. Any
# failure names the fallback: configure with -DSEAMS_CAPNP=system (Debian 12's 0.9.2).
set -euo pipefail

CAPNP_VERSION=1.1.0
# The SHA-256 that trixie's Sources index gives for the tarball; pinned so a changed archive is an
# error, not a silent upgrade.
CAPNP_SHA256=07167580e563f5e821e3b2af1c238c16ec7181612650c5901330fa9a0da50939
CAPNP_TARBALL=capnproto_${CAPNP_VERSION}.orig.tar.gz

repo=$(cd "$(dirname "$0")/.." && pwd)
deps=${SEAMS_DEPS_DIR:-$repo/build/_deps}
prefix=$deps/capnproto-$CAPNP_VERSION
mirror=${SEAMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The build flags are part of the stamp: changing them rebuilds.
build_flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DWITH_OPENSSL=OFF -DWITH_ZLIB=OFF)
stamp_text="capnproto $CAPNP_VERSION sha256=$CAPNP_SHA256 flags=${build_flags[*]}"

if [ "${1:-}" = "--prefix" ]; then
  echo "$prefix"
  exit 0
fi

fail() {
  echo "capnp.sh: $*" >&2
  echo "capnp.sh: to build against Debian 12's Cap'n Proto 0.9.2 instead, configure with" \
    "-DSEAMS_CAPNP=system (e.g. cmake --preset release -DSEAMS_CAPNP=system)" >&2
  exit 1
}

# Fast path: an installed prefix with the matching stamp.
if [ -f "$prefix/.seams-stamp" ] && [ "$(cat "$prefix/.seams-stamp")" = "$stamp_text" ]; then
  exit 0
fi

for tool in apt-get apt-cache curl sha256sum cmake ninja flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs the toolchain)"
done

mkdir -p "$deps"
exec 9>"$deps/.capnp.lock"
flock 9
# Another run may have finished while this one waited for the lock.
if [ -f "$prefix/.seams-stamp" ] && [ "$(cat "$prefix/.seams-stamp")" = "$stamp_text" ]; then
  exit 0
fi

log=$deps/capnp-$CAPNP_VERSION.log
: >"$log"
echo "capnp.sh: Cap'n Proto $CAPNP_VERSION into $prefix (log: $log)"

# ---- fetch through a private apt configuration ----------------------------------------------
apt_dir=$deps/apt
mkdir -p "$apt_dir"/{etc/sources.list.d,etc/preferences.d,lists/partial,cache/archives/partial,state}
echo "deb-src $mirror trixie main" >"$apt_dir/etc/sources.list"
touch "$apt_dir/state/status"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
  -o "Dir::State=$apt_dir/state"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::Status=$apt_dir/state/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
  # The private dirs belong to whoever runs this; apt's _apt sandbox user could not write them.
  -o "APT::Sandbox::User=root"
)

if ! apt-get "${apt_opts[@]}" --error-on=any update >>"$log" 2>&1; then
  tail -n 5 "$log" >&2
  fail "cannot read Debian trixie's Sources index from $mirror (archive unreachable?)"
fi

# The Sources record that lists the tarball: its Directory and the tarball's SHA-256.
record=$(apt-cache "${apt_opts[@]}" showsrc capnproto 2>>"$log" |
  awk -v RS= -v f="$CAPNP_TARBALL" 'index($0, " " f "\n") { print; exit }') || true
[ -n "$record" ] || fail "trixie's Sources index lists no $CAPNP_TARBALL"
index_sha=$(printf '%s\n' "$record" |
  awk -v f="$CAPNP_TARBALL" '/^Checksums-Sha256:/ { in_sha = 1; next } /^[^ ]/ { in_sha = 0 }
                             in_sha && $3 == f { print $1 }')
directory=$(printf '%s\n' "$record" | awk '/^Directory:/ { print $2 }')
[ -n "$index_sha" ] && [ -n "$directory" ] ||
  fail "trixie's Sources record of capnproto has no SHA-256 or Directory for $CAPNP_TARBALL"
[ "$index_sha" = "$CAPNP_SHA256" ] ||
  fail "trixie's Sources index gives SHA-256 $index_sha for $CAPNP_TARBALL, not the pinned $CAPNP_SHA256"

src_dir=$deps/src
mkdir -p "$src_dir"
tarball=$src_dir/$CAPNP_TARBALL
if [ ! -f "$tarball" ] || [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$index_sha" ]; then
  rm -f "$tarball"
  # apt-get source fetches (and checks) the tarball, but fails as a whole when the .dsc or the
  # Debian diff is missing on the mirror, as it is for 1.1.0-2: its exit status is not the test.
  (cd "$src_dir" && apt-get "${apt_opts[@]}" source --download-only capnproto) >>"$log" 2>&1 || true
  if [ ! -f "$tarball" ]; then
    echo "capnp.sh: apt-get source did not fetch $CAPNP_TARBALL; downloading it from $directory" >>"$log"
    curl -fsSL --retry 3 -o "$tarball.part" "$mirror/$directory/$CAPNP_TARBALL" >>"$log" 2>&1 ||
      fail "cannot download $mirror/$directory/$CAPNP_TARBALL (archive unreachable?)"
    mv "$tarball.part" "$tarball"
  fi
fi
got_sha=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$got_sha" != "$index_sha" ]; then
  rm -f "$tarball"
  fail "$CAPNP_TARBALL has SHA-256 $got_sha, but trixie's Sources index says $index_sha"
fi
echo "capnp.sh: $CAPNP_TARBALL verified (SHA-256 $got_sha, as trixie's Sources index says)"

# ---- build, static, uninstrumented ------------------------------------------------------------
# One build serves every preset (release, asan, tsan, thread-safety, fuzz): like Debian's 0.9.2 it
# is not built with the sanitizers, and PIC so it links into any target.
build_dir=$deps/capnproto-$CAPNP_VERSION-build
rm -rf "$build_dir" "$prefix"
mkdir -p "$build_dir"
tar -xzf "$tarball" -C "$build_dir"
source_dir=$build_dir/capnproto-c++-$CAPNP_VERSION
[ -f "$source_dir/CMakeLists.txt" ] || fail "$CAPNP_TARBALL has no capnproto-c++-$CAPNP_VERSION/"
launcher=()
if command -v ccache >/dev/null; then
  # Paths relative to here, so a fresh clone in another folder (CI) hits the same cache entries.
  export CCACHE_BASEDIR="$deps" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "capnp.sh: building (static, no tests; a few minutes cold, seconds with ccache warm)"
if ! { cmake -S "$source_dir" -B "$build_dir/out" -G Ninja "${build_flags[@]}" "${launcher[@]}" \
  -DCMAKE_INSTALL_PREFIX="$prefix" &&
  nice -n 19 cmake --build "$build_dir/out" -j"$(nproc)" &&
  cmake --install "$build_dir/out"; } >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -rf "$prefix"
  fail "building Cap'n Proto $CAPNP_VERSION failed; see $log"
fi
rm -rf "$build_dir"
echo "$stamp_text" >"$prefix/.seams-stamp"
echo "capnp.sh: Cap'n Proto $CAPNP_VERSION installed in $prefix"
