#!/usr/bin/env bash
# The copy alone, at the scale of bench/run.sh's full profile: ORDERS orders of 3 items for
# USERS users and 1,000 products loaded in bulk SQL, then a sidecar started on an empty Redis
# copies them. Prints the copy's time, orders per second, the sidecar's peak memory and its
# read rounds (calls that waited for Redis), and the CPU per order of the sidecar, Redis and
# PostgreSQL (every process of the cluster: the copy's snapshot query runs in one). Faster to
# repeat than bench/run.sh when working on the copy; bench/run.sh gives the ratio to the drain.
# Usage: bench/copy.sh [ORDERS] [USERS] [BUILD_DIR]   (defaults 1000000 50000 build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

orders=${1:-1000000}
users=${2:-50000}
build=$(cd "${3:-build}" && pwd)
products=1000

bench_run_dir copy
pgcqrs_pg_start "$run_dir" "shared_buffers = 1GB" "max_wal_size = 8GB" "fsync = off"
pgcqrs_redis_start "$run_dir"

echo "loading $orders orders of 3 items for $users users (bulk SQL)"
bench_load_bulk "$users" "$products" "$orders"

log=$run_dir/sidecar.log
pg_cpu() {  # seconds of CPU of the PostgreSQL cluster so far: its processes, and those it reaped
  local pm pids
  pm=$(head -1 "$(pgcqrs_pg_base "$run_dir")/pg/postmaster.pid")
  pids=$(pgrep -d ' ' -P "$pm" || true)
  awk -v pm="$pm" 'FILENAME == "/proc/" pm "/stat" { s += $16 + $17 } { s += $14 + $15 } END { printf "%.2f", s / 100 }' \
    "/proc/$pm/stat" $(printf '/proc/%s/stat ' $pids) 2>/dev/null
}
redis_cpu0=$(bench_redis_cpu "$PGCQRS_REDIS_PORT")
pg_cpu0=$(pg_cpu)
"$build/sidecar/pgcqrs-sidecar" run --pg "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
  --redis "redis://127.0.0.1:$PGCQRS_REDIS_PORT" >"$log" 2>&1 &
sidecar_pid=$!
peak=0
deadline=$((SECONDS + 1800))
until grep -q "snapshot copied" "$log"; do
  kill -0 "$sidecar_pid" 2>/dev/null || { tail -5 "$log"; echo "copy: the sidecar exited" >&2; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "copy: not done within 30 minutes" >&2; exit 1; }
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$sidecar_pid/status")
  sleep 0.2
done
sidecar_cpu=$(awk -v t="$(bench_ticks "$sidecar_pid")" 'BEGIN { printf "%.2f", t / 100 }')
redis_cpu=$(awk -v a="$redis_cpu0" -v b="$(bench_redis_cpu "$PGCQRS_REDIS_PORT")" 'BEGIN { printf "%.2f", b - a }')
pg_cpu=$(awk -v a="$pg_cpu0" -v b="$(pg_cpu)" 'BEGIN { printf "%.2f", b - a }')
line=$(grep "snapshot copied" "$log")
ms=$(sed -E 's/.*copied in ([0-9]+) ms.*/\1/' <<<"$line")
rounds=$(sed -E 's/.*Redis calls, ([0-9]+) read rounds.*/\1/' <<<"$line")
echo "copy: $orders orders in $(awk -v ms="$ms" 'BEGIN { printf "%.1f", ms / 1000 }') s" \
  "($(awk -v n="$orders" -v ms="$ms" 'BEGIN { printf "%d", n * 1000 / ms }') orders/s), $rounds read rounds," \
  "sidecar peak RSS $((peak / 1024)) MB"
awk -v n="$orders" -v s="$sidecar_cpu" -v r="$redis_cpu" -v p="$pg_cpu" 'BEGIN {
  printf "CPU per order: sidecar %.1f us, Redis %.1f us, PostgreSQL %.1f us\n", s * 1e6 / n, r * 1e6 / n, p * 1e6 / n }'
