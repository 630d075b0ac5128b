#!/usr/bin/env bash
# The test command (README): installs what pgcqrs needs, builds everything, installs the
# extension into the local PostgreSQL 15, and runs every test: GoogleTest unit tests,
# the pg_regress suite and the end-to-end tests against real PostgreSQL and Redis servers.
# Run as root on Debian 12 (it uses apt-get and installs into PostgreSQL's directories).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
echo "== build (CMake: extension, sidecar, tests)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== build and install the extension (PGXS)"
make -s -f Makefile.pgxs -j "$jobs"
make -s -f Makefile.pgxs install >/dev/null

echo "== pg_regress"
bash scripts/regress.sh

echo "== unit and end-to-end tests (ctest)"
cd build
ctest --output-on-failure --timeout 900
