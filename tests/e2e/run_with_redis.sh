#!/usr/bin/env bash
# Runs a test command against a throwaway Redis on loopback (PGCQRS_REDIS_PORT is exported).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/servers.sh"
WORK=$(mktemp -d)
trap 'pgcqrs_redis_stop "$WORK"; rm -rf "$WORK"' EXIT
pgcqrs_redis_start "$WORK"
"$@"
