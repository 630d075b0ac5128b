#!/usr/bin/env bash
# Runs the pg_regress suite (tests/regress) against a throwaway cluster configured with
# tests/regress/logical.conf. The extension must already be installed (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh

run_dir=$(mktemp -d /tmp/pgcqrs-regress.XXXXXX)
cleanup() { pgcqrs_pg_remove "$run_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT

mapfile -t settings < <(grep -v '^\s*#' tests/regress/logical.conf | grep -v '^\s*$')
pgcqrs_pg_start "$run_dir" "${settings[@]}"

rm -rf tests/regress/out
mkdir -p tests/regress/out
if ! make -s -f Makefile.pgxs installcheck; then
  [ -f tests/regress/out/regression.diffs ] && cat tests/regress/out/regression.diffs
  exit 1
fi
