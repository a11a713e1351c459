#!/bin/bash
# `cmake --install` puts every binary a user runs and the systemd units in place (issue 12,
# defect 10), and the installed seamctl runs. Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/seams-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > "$prefix.log" 2>&1 || { cat "$prefix.log"; exit 1; }
rm -f "$prefix.log"
missing=0
for f in bin/seamd bin/seamctl; do
  [ -x "$prefix/$f" ] || { echo "missing: $f"; missing=1; }
done
if [ -x "$build/split/bin/seam-split" ]; then
  for f in bin/seam-split bin/seam-fsd bin/seam-authd bin/seam-syncd bin/seam-httpd bin/seam-fused; do
    [ -x "$prefix/$f" ] || { echo "missing: $f"; missing=1; }
  done
  [ -f "$prefix/lib/systemd/system/seam-split.service" ] || { echo "missing: seam-split.service"; missing=1; }
  [ -f "$prefix/lib/systemd/system/seam-split.socket" ] || { echo "missing: seam-split.socket"; missing=1; }
fi
[ -f "$prefix/lib/systemd/system/seamd.service" ] || { echo "missing: seamd.service"; missing=1; }
[ -f "$prefix/lib/systemd/system/seamd.socket" ] || { echo "missing: seamd.socket"; missing=1; }
[ "$missing" = 0 ] || exit 1
# The installed tools run by their installed names.
"$prefix/bin/seamctl" --help > /dev/null
"$prefix/bin/seamd" --help > /dev/null
echo "install: ok ($(cd "$prefix" && find . -type f | sort | tr '\n' ' '))"
