#!/usr/bin/env bash
# Usage: run_with_redis_cluster.sh MASTERS REPLICAS COMMAND...
# Runs a test command against a throwaway Redis Cluster on loopback (PGCQRS_REDIS_CLUSTER_PORTS
# and PGCQRS_REDIS_CLUSTER_SEED are exported).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/servers.sh"
MASTERS=$1 REPLICAS=$2; shift 2
WORK=$(mktemp -d)
trap 'pgcqrs_redis_cluster_stop "$WORK"; rm -rf "$WORK"' EXIT
pgcqrs_redis_cluster_start "$WORK" "$MASTERS" "$REPLICAS"
"$@"
