#!/usr/bin/env bash
# Backlog drain on its own, for profiling the projection: ORDERS orders of 3 items (and a
# status change for every 10th) written while the sidecar is stopped, then received by
# pg_recvlogical to /dev/null from a copy of the slot, then drained by a fresh sidecar.
# Prints both times, the orders per second, the CPU of the sidecar, the walsender and Redis
# each second of the drain (ticks of 1/100 s: 100 = one core), the CPU per order of every
# process while receiving and while draining, and Redis's per-command
# accounting (the commands the projector issued).
# Usage: bench/drain.sh [ORDERS] [BUILD_DIR]   (needs the extension installed and a build)
# Set USERS=N for another number of users (5,000 by default; bench/run.sh's full profile has 50,000).
# Set SIDECAR_ARGS to pass the draining sidecar more options (SIDECAR_ARGS="--chunk-events 400").
# Set REPRICE_EVERY=N to mix in a product repriced after every Nth order of each writer, and
# STATUS_LAG=N (a multiple of 10) to change the status of orders placed N orders earlier rather
# than right after them (bench/lib.sh, bench_write_backlog).
# Set CLUSTER_MASTERS=N to drain into a Redis Cluster of N masters (no replicas) instead of
# one Redis: the masters' CPU is summed where one Redis's is shown, and each master's is shown
# beside it.
# Set REDIS_TLS=1 to run Redis TLS-only (certificates made for the run, a client certificate
# required) and the sidecar over rediss://: the cost of TLS to Redis.
# Last, the copy of a rebuild of the same data (the checkpoint deleted, the sidecar started
# again): its orders per second, as a ratio to the drain's.
# Set PERF=1 to also record `perf record -g` profiles of the three processes for 5 s
# (files perf-sidecar.data, perf-walsender.data, perf-redis.data in the current directory),
# and of the sidecar's copy (perf-copy.data);
# PERF_CALLGRAPH="--call-graph dwarf" gives call stacks through code built without frame pointers.
set -euo pipefail
out_dir=$(pwd)  # perf files go where the caller is
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

orders=${1:-60000}
build=$(cd "${2:-build}" && pwd)
users=${USERS:-5000} products=1000
sidecar_bin=$build/sidecar/pgcqrs-sidecar

bench_run_dir drain
pgcqrs_pg_start "$run_dir" "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
  "wal_sender_timeout = 0" "fsync = off"
if [ "${REDIS_TLS:-0}" = 1 ]; then
  source scripts/lib/tls.sh
  certs=$run_dir/certs
  mkdir -p "$certs"
  pgcqrs_tls_ca "$certs" ca
  pgcqrs_tls_server "$certs" ca server
  pgcqrs_tls_client "$certs" ca client
  pgcqrs_redis_tls_start "$run_dir" "$certs" server ca
  redis_port=$PGCQRS_REDIS_TLS_PORT
  cli=("${PGCQRS_REDIS_TLS_CLI[@]}")
  redis_url=rediss://127.0.0.1:$redis_port
  redis_opts=(--redis-tls-ca "$certs/ca.crt" --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/client.key")
elif [ "${CLUSTER_MASTERS:-0}" -gt 0 ]; then
  pgcqrs_redis_cluster_start "$run_dir/cluster" "$CLUSTER_MASTERS" 0
  redis_port=$PGCQRS_REDIS_CLUSTER_SEED
  cli=(-c)  # follows the cluster's redirects
  redis_url=redis://127.0.0.1:$redis_port
  redis_opts=()
else
  pgcqrs_redis_start "$run_dir"
  redis_port=$PGCQRS_REDIS_PORT
  cli=()
  redis_url=redis://127.0.0.1:$redis_port
  redis_opts=()
fi
# Every Redis process that holds read models: one, or each master.
if [ "${CLUSTER_MASTERS:-0}" -gt 0 ]; then
  read -r -a redis_ports <<<"$PGCQRS_REDIS_CLUSTER_PORTS"
  redis_pids=()
  for f in "$run_dir"/cluster/node*/redis/redis.pid; do redis_pids+=("$(cat "$f")"); done
else
  redis_ports=("$redis_port")
  redis_pids=("$(cat "$run_dir/redis/redis.pid")")
fi
# redis_cpu: each Redis's CPU seconds so far, one per line, in the order of redis_ports.
redis_cpu() { local p; for p in "${redis_ports[@]}"; do bench_redis_cpu "$p" "${cli[@]}"; echo; done; }
redis_ticks() { local p t=0; for p in "${redis_pids[@]}"; do t=$((t + $(bench_ticks "$p"))); done; echo "$t"; }
pg_conn="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
rcli() { redis-cli "${cli[@]}" -p "$redis_port" "$@"; }
sql() { psql -qAt -v ON_ERROR_STOP=1 -c "$1"; }
lsn_num() { local l=${1:-0/0}; echo $(( (16#${l%/*} << 32) | 16#${l#*/} )); }
wait_applied() {  # LSN: until the Redis checkpoint reaches it (10 minutes at most)
  local target deadline=$((SECONDS + 600)) ck
  target=$(lsn_num "$1")
  while [ $SECONDS -lt $deadline ]; do
    ck=$(rcli HGET pgcqrs:checkpoint lsn)
    [ -n "$ck" ] && [ "$(lsn_num "$ck")" -ge "$target" ] && return 0
    sleep 0.05
  done
  echo "drain: Redis checkpoint did not reach $1" >&2
  return 1
}

psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION pgcqrs;
INSERT INTO users (name, email) SELECT 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, $users) g;
INSERT INTO products (name, price) SELECT 'product ' || g, (g % 100) + 0.99 FROM generate_series(1, $products) g;
SQL
# A first sidecar creates the slot and copies users and products, then stops.
"$sidecar_bin" run --pg "$pg_conn" --redis "$redis_url" "${redis_opts[@]}" >"$run_dir/sidecar-1.log" 2>&1 &
sidecar_pid=$!
wait_applied "$(sql "SELECT pg_current_wal_lsn()")"
kill -TERM "$sidecar_pid"
wait "$sidecar_pid" || true
sidecar_pid=

bench_write_backlog "$orders" "$users" "$products" "${REPRICE_EVERY:-0}" "${STATUS_LAG:-0}"
end_lsn=$(sql "SELECT pg_current_wal_lsn()")
echo "backlog: $((orders / 2 * 2)) orders, $((orders / 2 * 2 / 10)) status changes, reprice every ${REPRICE_EVERY:-0} orders per writer, status lag ${STATUS_LAG:-0}"

# Receiving alone, with the CPU of its two processes: the walsender exits with its client, so
# its ticks are sampled while it runs (the last 0.1 s is lost, 1 tick at most).
sql "SELECT 1 FROM pg_copy_logical_replication_slot('pgcqrs', 'drain_recv')" >/dev/null
r0=$(date +%s.%N)
"$PGCQRS_PG_BIN/pg_recvlogical" -d "$pg_conn" --slot drain_recv --start \
  --endpos "$end_lsn" -o format-version=1 -o framing=transaction -f /dev/null -s 10 -F 0 &
recv_pid=$!
recv_walsender= recv_ws_ticks=0 recv_own_ticks=0
while kill -0 "$recv_pid" 2>/dev/null; do
  [ -z "$recv_walsender" ] && recv_walsender=$(sql "SELECT pid FROM pg_stat_replication WHERE application_name = 'pg_recvlogical'")
  t=$(bench_ticks "${recv_walsender:-0}"); [ "$t" -gt 0 ] && recv_ws_ticks=$t
  t=$(bench_ticks "$recv_pid"); [ "$t" -gt 0 ] && recv_own_ticks=$t
  sleep 0.1
done
wait "$recv_pid"
r1=$(date +%s.%N)
recv_secs=$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.4f", b - a }')
sql "SELECT pg_drop_replication_slot('drain_recv')" >/dev/null

for p in "${redis_ports[@]}"; do redis-cli "${cli[@]}" -p "$p" CONFIG RESETSTAT >/dev/null; done
rc0=$(redis_cpu)
t0=$(date +%s.%N)
# shellcheck disable=SC2086  # SIDECAR_ARGS: extra options, split on spaces
"$sidecar_bin" run --pg "$pg_conn" --redis "$redis_url" "${redis_opts[@]}" ${SIDECAR_ARGS:-} >"$run_dir/sidecar-2.log" 2>&1 &
sidecar_pid=$!
walsender=
(
  prev=
  while kill -0 "$sidecar_pid" 2>/dev/null; do
    [ -z "$walsender" ] && walsender=$(sql "SELECT pid FROM pg_stat_replication WHERE application_name = 'pgcqrs-sidecar'")
    cur="$(bench_ticks "$sidecar_pid") $(bench_ticks "${walsender:-0}") $(redis_ticks)"
    [ -n "$prev" ] && echo "$prev $cur" | awk '{ printf "  CPU this second: sidecar %3d  walsender %3d  Redis %3d\n", $4 - $1, $5 - $2, $6 - $3 }'
    prev=$cur
    sleep 1
  done
) >"$run_dir/cpu.log" 2>&1 &
if [ "${PERF:-0}" = 1 ]; then
  sleep 1
  walsender=$(sql "SELECT pid FROM pg_stat_replication WHERE application_name = 'pgcqrs-sidecar'")
  for p in "sidecar:$sidecar_pid" "walsender:$walsender" "redis:${redis_pids[0]}"; do
    perf record -e cpu-clock ${PERF_CALLGRAPH:--g} -p "${p#*:}" -o "$out_dir/perf-${p%%:*}.data" -- sleep 5 >/dev/null 2>&1 &
  done
fi
wait_applied "$end_lsn"
t1=$(date +%s.%N)
rc1=$(redis_cpu)
drain_sidecar_ticks=$(bench_ticks "$sidecar_pid")
drain_ws_ticks=$(bench_ticks "$(sql "SELECT pid FROM pg_stat_replication WHERE application_name = 'pgcqrs-sidecar'")")
kill -TERM "$sidecar_pid"
wait "$sidecar_pid" || true
sidecar_pid=
cat "$run_dir/cpu.log"
# CPU per order of each process (a tick is 10 ms): the machine's cores bound the drain once
# the walsender, the sidecar and Redis together need more than receiving leaves idle.
c0=$(awk '{ s += $1 } END { printf "%.3f", s }' <<<"$rc0") c1=$(awk '{ s += $1 } END { printf "%.3f", s }' <<<"$rc1")
awk -v r="$recv_secs" -v a="$t0" -v b="$t1" -v n="$orders" -v c0="$c0" -v c1="$c1" \
    -v rw="$recv_ws_ticks" -v rr="$recv_own_ticks" -v dw="$drain_ws_ticks" -v ds="$drain_sidecar_ticks" \
    -v cores="$(nproc)" 'BEGIN {
  d = b - a
  redis_us = 1e6 * (c1 - c0) / n
  printf "pg_recvlogical to /dev/null: %.2f s (%.0f orders/s)\n", r, n / r
  printf "sidecar drain: %.2f s (%.0f orders/s), %.2fx of receiving; Redis CPU %.0f us per order\n",
    d, n / d, r / d, redis_us
  printf "CPU per order, receiving: walsender %.0f us, pg_recvlogical %.0f us (%.0f us of %d cores in all)\n",
    1e4 * rw / n, 1e4 * rr / n, 1e6 * r * cores / n, cores
  printf "CPU per order, draining:  walsender %.0f us, sidecar %.0f us, Redis %.0f us (%.0f us of %d cores in all)\n",
    1e4 * dw / n, 1e4 * ds / n, redis_us, 1e6 * d * cores / n, cores }'
if [ ${#redis_ports[@]} -gt 1 ]; then
  paste <(echo "$rc0") <(echo "$rc1") | awk -v n="$orders" '{ printf "%s%.1f", (NR > 1 ? ", " : "each master, CPU per order while draining: "), 1e6 * ($2 - $1) / n } END { print " us" }'
fi
echo "Redis commands (from the projector), per order:"
for p in "${redis_ports[@]}"; do redis-cli "${cli[@]}" -p "$p" INFO commandstats; done |
  awk -F'[:,=]' -v n="$orders" '/^cmdstat_/ { sub("cmdstat_", "", $1); calls[$1] += $3; usec[$1] += $5 }
    END { for (c in calls) printf "  %-12s %6.2f calls, %8.2f us per call\n", c, calls[c] / n, usec[c] / calls[c] }' | sort -k2 -gr

# The copy of a rebuild, of the same write model, in the same run: the checkpoint deleted,
# the next start drops the slot, wipes the read models and copies them under a new snapshot.
copy_orders=$(sql "SELECT count(*) FROM orders")
rcli DEL pgcqrs:checkpoint >/dev/null
c0=$(date +%s.%N)
"$sidecar_bin" run --pg "$pg_conn" --redis "$redis_url" "${redis_opts[@]}" ${SIDECAR_ARGS:-} >"$run_dir/sidecar-3.log" 2>&1 &
sidecar_pid=$!
if [ "${PERF:-0}" = 1 ]; then
  # System-wide: the copy runs on a worker thread that starts after perf would attach.
  perf record -a -e cpu-clock ${PERF_CALLGRAPH:--g} -o "$out_dir/perf-copy.data" -- sleep 3 >/dev/null 2>&1 &
fi
deadline=$((SECONDS + 600))
# Polled 5 times a second: each poll is a redis-cli process, CPU the copy would miss. The
# copy's own time comes from the sidecar's log.
until [ -n "$(rcli HGET pgcqrs:checkpoint lsn)" ]; do
  [ $SECONDS -lt $deadline ] || { echo "drain: the copy did not finish within 600 s" >&2; exit 1; }
  sleep 0.2
done
c1=$(date +%s.%N)
copy_sidecar_ticks=$(bench_ticks "$sidecar_pid")
kill -TERM "$sidecar_pid"
wait "$sidecar_pid" || true
sidecar_pid=
# The copy alone is what the sidecar's log times ("snapshot copied in N ms"); the rest of the
# rebuild is the start, the wipe of the old read models and the new slot.
copy_ms=$(sed -n 's/.*snapshot copied in \([0-9]*\) ms.*/\1/p' "$run_dir/sidecar-3.log")
grep -o 'snapshot copied in .*' "$run_dir/sidecar-3.log" || true
awk -v a="$c0" -v b="$c1" -v n="$copy_orders" -v da="$t0" -v db="$t1" -v dn="$orders" -v ds="$copy_sidecar_ticks" \
    -v ms="${copy_ms:-0}" 'BEGIN {
  drain = dn / (db - da)
  printf "rebuild: %d orders in %.2f s from start to checkpoint (%.0f orders/s, %.2fx the drain'"'"'s orders/s); sidecar %.0f us per order\n",
    n, b - a, n / (b - a), (n / (b - a)) / drain, 1e4 * ds / n
  if (ms > 0) printf "copy of the rebuild: %.2f s (%.0f orders/s), %.2fx the drain'"'"'s orders/s\n", ms / 1000, 1000 * n / ms, (1000 * n / ms) / drain }'

