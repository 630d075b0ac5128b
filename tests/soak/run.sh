#!/usr/bin/env bash
# Proof under fire: a seeded random workload (tests/soak/workload.cpp) runs against a real
# PostgreSQL and a real Redis while faults are injected into the pipeline; afterwards the
# oracle (pgcqrs-sidecar verify) must find Redis exactly equal to what the write model
# implies, readers must have seen no torn read, and the slot must hold little WAL.
#
#   tests/soak/run.sh [--profile short|long] [--seed N] [--build DIR] [--duration SECONDS]
#
# short (the test command, ~2 minutes): 25 kill -9 of the sidecar (2 during the initial
# snapshot), Redis killed and restarted on its AOF, Redis restarted with its data gone,
# PostgreSQL restarted fast and immediate, the walsender terminated, Redis paused with
# SIGSTOP, the slot invalidated by max_slot_wal_keep_size while the sidecar was down, and
# malformed application messages. long: the same faults, repeated for 30 minutes.
# A failure prints the seed that reproduces the workload's choices.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
source scripts/lib/servers.sh

profile=short
seed=$(( $(date +%s) % 100000 ))
build=$root/build
duration_override=
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --duration) duration_override=$2; shift 2 ;;
    *) echo "usage: $0 [--profile short|long] [--seed N] [--build DIR] [--duration SECONDS]" >&2; exit 2 ;;
  esac
done
case $profile in
  short) rounds=1; writers=3; prefill_ops=20000; duration=60 ;;
  long) rounds=40; writers=4; prefill_ops=50000; duration=1800 ;;
  *) echo "unknown profile $profile" >&2; exit 2 ;;
esac
[ -n "$duration_override" ] && duration=$duration_override
sidecar_bin=$build/sidecar/pgcqrs-sidecar
workload_bin=$build/tests/soak/pgcqrs-workload
verify_cmd=${PGCQRS_VERIFY_CMD:-"$sidecar_bin verify"}
wal_bound_mb=64

run_dir=$(mktemp -d /tmp/pgcqrs-soak.XXXXXX)
sidecar= workload=
cleanup() {
  [ -n "$workload" ] && kill "$workload" 2>/dev/null
  [ -n "$sidecar" ] && kill -9 "$sidecar" 2>/dev/null
  wait 2>/dev/null || true
  kill -CONT "$(cat "$run_dir/redis/redis.pid" 2>/dev/null)" 2>/dev/null || true
  pgcqrs_redis_stop "$run_dir"
  pgcqrs_pg_remove "$run_dir"
  [ "${PGCQRS_KEEP:-}" = 1 ] || rm -rf "$run_dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "reproduce: tests/soak/run.sh --profile $profile --seed $seed   (logs: $run_dir, kept)"
  PGCQRS_KEEP=1
  exit 1
}
log() { echo "[$(date -u +%H:%M:%S)] $*"; }

pgcqrs_pg_start "$run_dir" "logical_decoding_work_mem = 64kB" "max_wal_size = 256MB" "wal_keep_size = 0" \
  "max_prepared_transactions = 8"
pgcqrs_redis_start "$run_dir" "appendonly yes" "appendfsync everysec"
redis_port=$PGCQRS_REDIS_PORT
PG="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
R="redis://127.0.0.1:$redis_port"
psql -qAt -c "CREATE EXTENSION pgcqrs"
log "soak profile $profile, seed $seed, PostgreSQL :$PGPORT, Redis :$redis_port"

declare -A faults
peak_kb=0
sample_peak() {
  [ -n "$sidecar" ] && [ -r "/proc/$sidecar/status" ] || return 0
  local kb
  kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$sidecar/status" 2>/dev/null || echo 0)
  [ "${kb:-0}" -gt "$peak_kb" ] && peak_kb=$kb
  return 0
}
start_sidecar() {
  "$sidecar_bin" run --pg "$PG" --redis "$R" --log-level info >>"$run_dir/sidecar.log" 2>&1 &
  sidecar=$!
}
kill_sidecar() {
  sidecar_alive
  sample_peak
  kill -9 "$sidecar" 2>/dev/null || true
  wait "$sidecar" 2>/dev/null || true
  sidecar=
  faults[sidecar_kill9]=$(( ${faults[sidecar_kill9]:-0} + 1 ))
}
checkpoint_lsn() { redis-cli -p "$redis_port" HGET pgcqrs:checkpoint lsn 2>/dev/null || true; }
rebuild_seconds=()
copies() { grep -c "snapshot copied" "$run_dir/sidecar.log" 2>/dev/null || true; }
sidecar_alive() {  # the sidecar must never exit on its own: it retries whatever happens
  kill -0 "$sidecar" 2>/dev/null || fail "the sidecar exited on its own: $(tail -3 "$run_dir/sidecar.log")"
}
wait_rebuilt() {  # wait_rebuilt COPIES_BEFORE: a rebuild after the fault has completed
  local start=$SECONDS deadline=$((SECONDS + 600))
  until [ "$(copies)" -gt "$1" ] && [ -n "$(checkpoint_lsn)" ]; do
    sidecar_alive
    [ $SECONDS -lt $deadline ] || fail "no completed rebuild 600 s after the fault"
    sleep 0.2
  done
  rebuild_seconds+=("$((SECONDS - start))")
}
wait_streaming() {  # the sidecar has a checkpoint and an active slot
  pgcqrs_wait_sql 120 "SELECT active FROM pg_replication_slots WHERE slot_name = 'pgcqrs'" || fail "sidecar not streaming"
}
pause() { sleep "$(awk -v s="$seed$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.2 }')"; }

# Phase 1: a write model to copy, then kill -9 during the initial snapshot.
"$workload_bin" --pg "$PG" --seed "$seed" --writers "$writers" --ops $((prefill_ops / writers)) \
  --big-every 1000 >"$run_dir/prefill.log" || fail "prefill workload: $(tail -3 "$run_dir/prefill.log")"
for delay in 0.3 0.8; do
  start_sidecar
  sleep "$delay"
  kill_sidecar
  faults[kill9_in_snapshot]=$(( ${faults[kill9_in_snapshot]:-0} + 1 ))
done
start_sidecar
wait_streaming

# Phase 2: the workload runs while faults hit every part of the pipeline.
"$workload_bin" --pg "$PG" --redis "$R" --seed "$seed" --writers "$writers" --readers 1 \
  --duration "$duration" --big-every 1500 --truncate-every 20000 >"$run_dir/workload.log" 2>&1 &
workload=$!

fault_round() {
  local k
  for k in $(seq 1 10); do pause; kill_sidecar; start_sidecar; done

  log "Redis killed (-9) and restarted on its AOF"
  kill -9 "$(cat "$run_dir/redis/redis.pid")"; sleep 0.2
  redis-server "$run_dir/redis/redis.conf"; faults[redis_kill9_aof]=$(( ${faults[redis_kill9_aof]:-0} + 1 ))
  pause; pause

  for k in 1 2 3 4; do pause; kill_sidecar; start_sidecar; done

  log "Redis restarted with its data gone"
  local copied=$(copies)
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  pgcqrs_wait_gone "$run_dir/redis/redis.pid"
  rm -rf "$run_dir/redis/appendonlydir" "$run_dir/redis/"*.aof "$run_dir/redis/dump.rdb"
  redis-server "$run_dir/redis/redis.conf"; faults[redis_data_lost]=$(( ${faults[redis_data_lost]:-0} + 1 ))
  # Let the rebuild finish before the next fault: kill -9 during a copy is phase 1's test,
  # and a copy interrupted every second would never finish on a large write model.
  wait_rebuilt "$copied"

  log "PostgreSQL restarted (fast, then immediate)"
  pgcqrs_pg_restart "$run_dir" fast; faults[pg_restart_fast]=$(( ${faults[pg_restart_fast]:-0} + 1 ))
  pause; pause
  pgcqrs_pg_restart "$run_dir" immediate; faults[pg_restart_immediate]=$(( ${faults[pg_restart_immediate]:-0} + 1 ))
  pause; pause

  log "walsender terminated"
  pgcqrs_wait_sql 60 "SELECT active FROM pg_replication_slots WHERE slot_name = 'pgcqrs'" || true
  psql -qAt -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'pgcqrs' AND active" >/dev/null
  faults[walsender_terminated]=$(( ${faults[walsender_terminated]:-0} + 1 ))
  pause

  log "Redis paused (SIGSTOP) for 5 s"
  kill -STOP "$(cat "$run_dir/redis/redis.pid")"
  sleep 5
  sample_peak
  kill -CONT "$(cat "$run_dir/redis/redis.pid")"; faults[redis_sigstop]=$(( ${faults[redis_sigstop]:-0} + 1 ))
  pause

  for k in $(seq 1 8); do pause; kill_sidecar; start_sidecar; done

  log "slot invalidated by max_slot_wal_keep_size while the sidecar is down"
  kill_sidecar
  copied=$(copies)
  psql -qAt -c "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'" -c "SELECT pg_reload_conf()" >/dev/null
  local tries=0
  until [ "$(psql -qAt -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" = lost ]; do
    psql -qAt -c "SELECT pg_switch_wal()" -c "CHECKPOINT" >/dev/null
    tries=$((tries + 1))
    [ $tries -lt 200 ] || fail "the slot was not invalidated"
    sleep 0.1
  done
  psql -qAt -c "ALTER SYSTEM RESET max_slot_wal_keep_size" -c "SELECT pg_reload_conf()" >/dev/null
  faults[slot_invalidated]=$(( ${faults[slot_invalidated]:-0} + 1 ))
  start_sidecar
  wait_rebuilt "$copied"
}

deadline=$((SECONDS + duration))
for round in $(seq 1 "$rounds"); do
  log "fault round $round"
  fault_round
  [ $SECONDS -lt $deadline ] || break
done
log "faults done; waiting for the workload to finish"
wait "$workload" || { workload=; cat "$run_dir/workload.log"; fail "the workload failed"; }
workload=

# Phase 3: catch up, then the oracle.
log "verifying"
$verify_cmd --pg "$PG" --redis "$R" >"$run_dir/verify.log" 2>&1 || { cat "$run_dir/verify.log"; fail "the oracle found differences"; }
sample_peak
retained=$(psql -qAt -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
grep -q "rebuilding the read models" "$run_dir/sidecar.log" || fail "no rebuild was logged"
rebuilds=$(grep -c "rebuilding the read models" "$run_dir/sidecar.log" || true)

echo
echo "== soak profile $profile, seed $seed"
grep -E "^workload: [0-9]" "$run_dir/workload.log" "$run_dir/prefill.log" | sed 's/^[^:]*:/  /'
grep -E "^  error" "$run_dir/workload.log" | sed 's/^/ /' | tr '\n' ';' | sed 's/;$/\n/'; echo
for f in "${!faults[@]}"; do echo "  fault $f: ${faults[$f]}"; done | sort
echo "  write model at the end: $(psql -qAt -F ' ' -c "SELECT (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM products) || ' products, ' || (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM order_items) || ' items; ' || (SELECT max(id) FROM orders) || ' orders ever placed'")"
echo "  rebuilds logged by the sidecar: $rebuilds (copy after data loss or slot loss: ${rebuild_seconds[*]} s)"
echo "  $(tail -1 "$run_dir/verify.log")"
echo "  WAL retained by the slot after catch-up: $((retained / 1024)) kB (bound ${wal_bound_mb} MB)"
echo "  sidecar peak RSS: $((peak_kb / 1024)) MB"
[ "$retained" -lt $((wal_bound_mb * 1048576)) ] || fail "the slot retains $retained bytes of WAL"
grep -q " 0 torn" "$run_dir/workload.log" || fail "torn reads: $(grep TORN "$run_dir/workload.log" | head -3)"
echo "soak: passed"
