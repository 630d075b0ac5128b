#!/usr/bin/env bash
# The test command (README): installs what pgcqrs needs, builds everything, installs the
# extension into the local PostgreSQL 15, and runs every test: GoogleTest unit tests,
# the pg_regress suite and the end-to-end tests against real PostgreSQL and Redis servers,
# then the demo.
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
cd ..

# The README's other command: the demo must run (it reuses build/) and show the read models.
echo "== the demo (scripts/demo.sh)"
if ! bash scripts/demo.sh 2>&1 | tee build/demo.log; then
  echo "FAIL: scripts/demo.sh exited with an error (output in build/demo.log)" >&2
  exit 1
fi
if ! grep -qE '^1 +paid +.* 1 x Analytical Engine, 400 x Punch cards$' build/demo.log ||
   ! grep -q '^   user_name of order 2 in Redis: Ada, Countess of Lovelace$' build/demo.log; then
  echo "FAIL: the demo did not show the read models (build/demo.log)" >&2
  exit 1
fi
