#!/usr/bin/env bash
# Runs the plugin's seeded fuzz test against a throwaway server, then checks the server log
# for crashed backends. The extension must be installed (scripts/test.sh installs it).
#   bash tests/fuzz/run.sh [--build DIR] [--seed N] [--rounds N] [--ops N] [--encodings A,B]
# Defaults: the short run ctest makes (seed 14, 6 rounds of 40 inputs in each of UTF8,
# LATIN1, WIN1252, EUC_JP and SQL_ASCII). A failure names its seed: rerun it with --seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh

build=build
args=(--seed 14 --rounds 6 --ops 40)
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done
fuzz="$build/tests/fuzz/pgcqrs-plugin-fuzz"

run_dir=$(mktemp -d /tmp/pgcqrs-fuzz.XXXXXX)
cleanup() { pgcqrs_pg_remove "$run_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT
pgcqrs_pg_start "$run_dir" "max_replication_slots = 10" "logical_decoding_work_mem = 1MB"

status=0
"$fuzz" "${args[@]}" || status=$?

# A backend that crashed makes the postmaster log it and restart every other backend.
crashes=$(pgcqrs_as_owner grep -E "terminated by signal|server process .* was terminated|all server processes terminated" \
  "$(pgcqrs_pg_log "$run_dir")" || true)
if [ -n "$crashes" ]; then
  echo "FAIL: the server log shows crashed backends:"
  echo "$crashes"
  status=1
fi
exit $status
