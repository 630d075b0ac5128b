#!/usr/bin/env bash
# Builds the Debian packages (README, "Packages"): postgresql-15-pgcqrs (the extension, in the
# directories of the pg_config on PATH) and pgcqrs-sidecar (pgcqrs-sidecar, pgcqrs-query, the
# systemd unit, /etc/default/pgcqrs-sidecar, the alert rules and the dashboard).
#
#   bash scripts/package.sh [BUILD_DIR]     (default build/; packages land in BUILD_DIR/packages)
#
# It configures BUILD_DIR if needed, builds the packaged targets only, and runs CPack; it
# prints the path of each package. Needs dpkg-dev (dpkg-shlibdeps): scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=$(nproc)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
else
  cmake -S . -B "$build" >/dev/null   # its cached options stay as they are
fi
cmake --build "$build" -j "$jobs" --target pgcqrs pgcqrs-sidecar pgcqrs-query
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
found=0
for deb in "$build"/packages/*.deb; do
  [ -f "$deb" ] || continue
  echo "$deb"
  found=$((found + 1))
done
if [ "$found" != 2 ]; then
  echo "package.sh: CPack made $found package(s), expected 2 (log: $build/cpack.log)" >&2
  exit 1
fi
