#!/usr/bin/env bash
# The test command (README): installs what pgcqrs needs, builds everything, installs the
# extension into the local PostgreSQL 15, and runs every test: GoogleTest unit tests,
# the pg_regress suite and the end-to-end tests against real PostgreSQL and Redis servers,
# then the demo.
# Run as root on Debian 12 (it uses apt-get and installs into PostgreSQL's directories).
# It counts what ran: each label's number of tests is kept below, and a suite that is missing,
# skipped or grown without saying so fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# How many tests each ctest label holds (unit: the GoogleTest cases of tests/unit; extension:
# tests/extension and the plugin fuzz test of tests/fuzz; e2e: tests/e2e; docs: tests/docs; soak:
# tests/soak; packaging: tests/packaging). Change a number with the tests it counts.
declare -A expected_tests=([unit]=309 [extension]=5 [e2e]=24 [docs]=1 [soak]=2 [packaging]=2)

# Tests see only what they set themselves: no pgcqrs-sidecar, libpq or redis-cli settings
# from the caller's environment (PATH is kept: it finds pg_config).
while IFS= read -r name; do
  case $name in PGCQRS_*|PG[A-Z]*|REDISCLI_*) unset "$name" ;; esac
done < <(compgen -e)

bash scripts/install-deps.sh

jobs=$(nproc)
echo "== build (CMake: extension, sidecar, tests)"
# Every option explicit: build/ is reused, and its cache may hold values of another run.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGCQRS_BUILD_SIDECAR=ON -DPGCQRS_BUILD_TESTS=ON >/dev/null
cmake --build build -j "$jobs"

echo "== build and install the extension (PGXS)"
make -s -f Makefile.pgxs -j "$jobs"
make -s -f Makefile.pgxs install >/dev/null

echo "== pg_regress"
bash scripts/regress.sh

echo "== unit and end-to-end tests (ctest)"
cd build
total=0
for label in "${!expected_tests[@]}"; do
  # "-L" takes a regular expression: anchor it, so that a label never counts another's tests.
  found=$(ctest -N -L "^$label\$" | sed -n 's/^Total Tests: //p')
  if [ "$found" != "${expected_tests[$label]}" ]; then
    echo "FAIL: ctest has $found test(s) labelled $label, scripts/test.sh expects ${expected_tests[$label]}" >&2
    exit 1
  fi
  total=$((total + found))
done
found=$(ctest -N | sed -n 's/^Total Tests: //p')
if [ "$found" != "$total" ]; then
  echo "FAIL: ctest has $found tests, $total of them with a label scripts/test.sh counts" >&2
  exit 1
fi
ctest --output-on-failure --no-tests=error --timeout 900 | tee ctest.log
# The closing line counts what ran: all of them, none failed.
if ! grep -qx "100% tests passed, 0 tests failed out of $total" ctest.log; then
  echo "FAIL: ctest did not run and pass all $total tests (build/ctest.log)" >&2
  exit 1
fi
cd ..

# The README's other command: the demo must run (it reuses build/) and show the read models.
echo "== the demo (scripts/demo.sh)"
if ! bash scripts/demo.sh 2>&1 | tee build/demo.log; then
  echo "FAIL: scripts/demo.sh exited with an error (output in build/demo.log)" >&2
  exit 1
fi
if ! grep -qE '^1 +paid +.* 1 x Analytical Engine, 400 x Punch cards$' build/demo.log ||
   ! grep -q '^   user_name of order 2 in Redis: Ada, Countess of Lovelace$' build/demo.log ||
   ! grep -q '^   customer  Rear Admiral Grace Hopper$' build/demo.log ||
   ! grep -q '^   ticket 43 (spam) in Redis: 0 key(s)$' build/demo.log; then
  echo "FAIL: the demo did not show the read models (build/demo.log)" >&2
  exit 1
fi
