#!/usr/bin/env bash
# The slot invalidated while the sidecar streams, and pgcqrs-query --after while the read
# models are rebuilt (docs/operations.md, docs/consistency.md):
#   - Redis stalls, so nothing is confirmed, while max_slot_wal_keep_size lets the WAL go:
#     PostgreSQL invalidates the slot under the running walsender; the sidecar says so,
#     rebuilds from a new snapshot, and nothing written meanwhile is lost.
#   - A reader's --after never returns data with exit 0 before the read models hold its
#     write: not while Redis holds stale keys without a checkpoint, not while the copy is
#     half done (the sidecar paused inside it), not while the checkpoint is marked dirty.
#   tests/e2e/stream_faults.sh BUILD_DIR
BUILD=$(cd "${1:?usage: stream_faults.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

start_servers "max_wal_size = 64MB" "appendonly no"
seed_write_model 5 5 20
sql "CREATE TABLE filler (x text)"
start_sidecar
wait_caught_up
redis_pid=$(cat "$WORK/redis/redis.pid")

step "the slot invalidated while streaming: reported, rebuilt, nothing lost"
offset=$(log_size)
kill -STOP "$redis_pid"
place_orders 10
order_in_stall=$(sql "SELECT max(id) FROM orders")
sql "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'"
sql "SELECT pg_reload_conf()" >/dev/null
deadline=$((SECONDS + 30))
until [ "$(sql "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" == lost ]; do
  [ $SECONDS -lt $deadline ] || fail "the slot was not invalidated within 30 s"
  sql "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)"
  sql "SELECT pg_switch_wal()" >/dev/null
  sql "CHECKPOINT"
done
grep -q "terminating process [0-9]* to release replication slot \"pgcqrs\"" "$(pgcqrs_pg_log "$WORK")" ||
  fail "the slot was not invalidated under a running walsender"
sql "ALTER SYSTEM RESET max_slot_wal_keep_size"
sql "SELECT pg_reload_conf()" >/dev/null
kill -CONT "$redis_pid"
wait_log "$offset" "replication slot pgcqrs is invalidated \(wal_status lost" 60
wait_log "$offset" "rebuilding the read models \(slot lost\)" 60
wait_caught_up 60
[ "$(rc EXISTS "$(model_key "order_details:{$((order_in_stall % 64))}:$order_in_stall")")" == 1 ] || fail "order $order_in_stall, written during the stall, is missing"
assert_not_confirmed_ahead
verify_clean
sql "DROP TABLE filler"

step "--after while Redis holds stale keys and no checkpoint: waits, then shows the write"
user=2
sql "SELECT count(place_order(1 + g % 5, '[{\"product_id\": 1, \"quantity\": 1}]')) FROM generate_series(1, 3000) g" >/dev/null
wait_caught_up
stop_sidecar
rc DEL pgcqrs:checkpoint >/dev/null    # the documented way to ask for a rebuild
order=$(sql "SELECT place_order($user, '[{\"product_id\": 3, \"quantity\": 7}]')")
token=$(sql "SELECT write_token()")
code=0
"$QUERY" user-orders $user --after "$token" --timeout 500 --json >"$WORK/q0.json" 2>"$WORK/q0.err" || code=$?
[ $code -eq 3 ] || fail "--after without a checkpoint exited $code, not 3: $(cat "$WORK/q0.json" "$WORK/q0.err" | head -c 300)"

step "--after during the copy (the sidecar paused inside it): waits or times out"
# A reader that waits from before the rebuild to after it must see its write.
waited() {
  local code=0
  wait "$waiting" || code=$?
  [ $code -eq 0 ] || fail "--after that waited out the rebuild exited $code: $(cat "$WORK/q1.err")"
  grep -q "\"order_id\":\"\?$order\"\?," "$WORK/q1.json" || fail "--after returned without order $order: $(head -c 300 "$WORK/q1.json")"
}
export PGCQRS_CHUNK_EVENTS=2   # a copy of many calls, so that it can be caught in the middle
paused=0
for attempt in 1 2 3; do
  "$QUERY" user-orders $user --after "$token" --timeout 30000 --json >"$WORK/q1.json" 2>"$WORK/q1.err" &
  waiting=$!
  offset=$(log_size)
  start_sidecar
  deadline=$((SECONDS + 30))
  until log_since "$offset" | grep -q "copying the write model under snapshot"; do
    [ $SECONDS -lt $deadline ] || fail "no copy started"
    sleep 0.01
  done
  health=$(healthz)   # taken inside the copy if the copy is still unfinished below
  kill -STOP "$SC_PID"
  if ! log_since "$offset" | grep -q "snapshot copied"; then paused=1; break; fi
  kill -CONT "$SC_PID"                 # the copy was too quick: ask for another
  waited
  wait_caught_up
  stop_sidecar
  rc DEL pgcqrs:checkpoint >/dev/null
done
[ $paused -eq 1 ] || fail "could not pause the sidecar inside a copy in 3 attempts"
[ -z "$(checkpoint)" ] || fail "a checkpoint exists while the copy is paused"
[ "$health" == 503 ] || fail "/healthz answered '$health' during the copy, not 503"
kill -0 "$waiting" 2>/dev/null || fail "--after returned during the copy: $(cat "$WORK/q1.json" "$WORK/q1.err")"
code=0
"$QUERY" user-orders $user --after "$token" --timeout 500 --json >"$WORK/q2.json" 2>"$WORK/q2.err" || code=$?
[ $code -eq 3 ] || fail "--after during the copy exited $code, not 3: $(cat "$WORK/q2.json" "$WORK/q2.err" | head -c 300)"
kill -CONT "$SC_PID"
waited
unset PGCQRS_CHUNK_EVENTS
wait_caught_up
verify_clean

step "--after with a checkpoint marked dirty (a rebuild is due): must not return the read models"
stop_sidecar
order=$(sql "SELECT place_order($user, '[{\"product_id\": 4, \"quantity\": 1}]')")
start_sidecar
wait_caught_up
stop_sidecar
token=$(sql "SELECT write_token()")
rc HSET pgcqrs:checkpoint lsn "$token" dirty "$token" >/dev/null
code=0
"$QUERY" user-orders $user --after "$token" --timeout 500 --json >"$WORK/q3.json" 2>"$WORK/q3.err" || code=$?
if [ $code -eq 0 ]; then
  fail "--after returned the read models (exit 0) while the checkpoint is marked dirty"
elif [ $code -ne 3 ]; then
  fail "--after with a dirty checkpoint exited $code: $(cat "$WORK/q3.err")"
fi
start_sidecar
wait_caught_up
verify_clean

step "PostgreSQL stops (fast) while Redis stalls: it need not wait for the sidecar, nothing is lost"
# A stopping walsender waits until its client confirms everything it sent, and the sidecar
# confirms only what Redis holds: with Redis stalled (the reply timeout far away) or a long
# backlog, a fast shutdown waited until pg_ctl gave up. The backlog here is larger than the
# socket buffers, so the walsender cannot even send it all while the sidecar holds back.
stop_sidecar
offset=$(log_size)
start_sidecar --redis-reply-timeout 600
wait_caught_up
cp_at_stall=$(checkpoint)
kill -STOP "$redis_pid"
place_orders 20
sql "SELECT count(place_order(1 + g % 5, '[{\"product_id\": 2, \"quantity\": 1}, {\"product_id\": 3, \"quantity\": 2}]'))
     FROM generate_series(1, 20000) g" >/dev/null
place_orders 5
order_in_stall=$(sql "SELECT max(id) FROM orders")
pg_dir=$(pgcqrs_pg_base "$WORK")/pg
started=$SECONDS
pgcqrs_as_owner "$PGCQRS_PG_BIN/pg_ctl" -D "$pg_dir" -m fast -w -t 30 stop >/dev/null ||
  fail "a fast shutdown did not finish within 30 s while Redis stalled"
log_since "$offset" | grep -q "PostgreSQL is shutting down" || fail "the sidecar did not say that PostgreSQL shuts down"
echo "  PostgreSQL stopped in $((SECONDS - started)) s"
pgcqrs_as_owner "$PGCQRS_PG_BIN/pg_ctl" -D "$pg_dir" -l "$(pgcqrs_pg_log "$WORK")" -w -t 60 start >/dev/null
confirmed=$(slot_confirmed)
lsn_ge "$cp_at_stall" "$confirmed" || fail "the slot confirmed $confirmed while Redis, stalled at $cp_at_stall, held nothing newer"
kill -CONT "$redis_pid"
wait_caught_up 60
[ "$(rc EXISTS "$(model_key "order_details:{$((order_in_stall % 64))}:$order_in_stall")")" == 1 ] || fail "order $order_in_stall, written during the stall, is missing"
assert_not_confirmed_ahead
verify_clean

echo "e2e_stream_faults: all checks passed"
