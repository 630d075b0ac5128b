#!/usr/bin/env bash
# The Redis sink's own CPU per command, against a throwaway Redis on loopback: transactions
# written as one pipeline, and rounds of single commands (bench/sink_pipeline.cpp).
# Usage: bench/sink.sh [BUILD_DIR] [ROUNDS] [N]   (defaults: build 400 500)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
build=$(cd "${1:-build}" && pwd)
run_dir=$(mktemp -d /tmp/pgcqrs-bench-sink.XXXXXX)
trap 'pgcqrs_redis_stop "$run_dir"; rm -rf "$run_dir"' EXIT
pgcqrs_redis_start "$run_dir"
"$build/bench/pgcqrs-bench-sink" "${2:-400}" "${3:-500}"
