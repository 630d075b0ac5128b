#!/usr/bin/env bash
# Redis refusing whole calls, and Redis stalled, while the sidecar streams (docs/sidecar.md:
# everything but a fatal configuration error is retried; docs/consistency.md: nothing lost,
# nothing confirmed that Redis does not hold). Each case: the fault, writes meanwhile, a clear
# log line naming it, the slot never confirmed past the checkpoint, recovery without a
# rebuild, and the oracle finding 0 differences.
#   out of memory under noeviction (a small maxmemory); SCRIPT FLUSH (harmless, no scripts);
#   READONLY (Redis made a replica); stalled (SIGSTOP) longer than wal_sender_timeout but
#   shorter than the reply timeout (the stream survives); stalled longer than the reply
#   timeout (the sidecar reconnects and resends).
#   tests/e2e/redis_faults.sh BUILD_DIR
BUILD=$(cd "${1:?usage: redis_faults.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

export PGCQRS_REDIS_REPLY_TIMEOUT=30
start_servers "wal_sender_timeout = 3s" "appendonly no"
seed_write_model 5 5 20
start_sidecar
wait_caught_up
verify_clean
redis_pid=$(cat "$WORK/redis/redis.pid")

# during SECONDS [CHECKPOINT]: polls for SECONDS that nothing is confirmed past the
# checkpoint (while Redis is stopped it cannot answer: CHECKPOINT is the one it held then).
during() {
  local until=$((SECONDS + $1)) confirmed
  while [ $SECONDS -lt "$until" ]; do
    if [ -n "${2:-}" ]; then
      confirmed=$(slot_confirmed)
      [ -z "$confirmed" ] || lsn_ge "$2" "$confirmed" || fail "the slot confirmed $confirmed, past the checkpoint $2"
    else
      assert_not_confirmed_ahead
    fi
    sidecar_alive
    sleep 0.1
  done
}
# recovered OFFSET WHAT: caught up, no rebuild or dirty mark since OFFSET, 0 differences.
recovered() {
  wait_caught_up 60
  assert_not_confirmed_ahead
  if log_since "$1" | grep -qE 'rebuilding|dirty'; then fail "$2: the read models were rebuilt or marked dirty"; fi
  [ -z "$(rc HGET pgcqrs:checkpoint dirty)" ] || fail "$2: the checkpoint is dirty"
  verify_clean
}

step "out of memory (maxmemory reached, noeviction): the whole call is refused, retried, nothing lost"
offset=$(log_size)
used=$(rc INFO memory | awk -F: '/^used_memory:/ { print $2 }' | tr -d '\r')
rc CONFIG SET maxmemory $((used + 256 * 1024)) >/dev/null
# One transaction of 2000 orders: chunks through the script, refused once Redis is full.
sql "SELECT place_order(1 + g % 5, '[{\"product_id\": 1, \"quantity\": 1}, {\"product_id\": 2, \"quantity\": 2}]')
     FROM generate_series(1, 2000) g" >/dev/null
token=$(sql "SELECT write_token()")
last=$(sql "SELECT max(id) FROM orders")
wait_log "$offset" "Redis rejected the batch ending at .*OOM command not allowed" 30
during 1
lsn_ge "$(checkpoint)" "$token" && fail "the checkpoint reached $token while Redis was full"
[ "$(rc EXISTS "$(model_key "order_details:{$((last % 64))}:$last")")" == 0 ] || fail "order $last reached Redis while it was full"
rc CONFIG SET maxmemory 0 >/dev/null
recovered "$offset" "out of memory"

step "SCRIPT FLUSH changes nothing: the projection sends plain commands (a status change rewrites a page entry)"
offset=$(log_size)
older=$(sql "SELECT min(id) FROM orders WHERE user_id = 3 AND status = 'pending'")
rc SCRIPT FLUSH >/dev/null
sql "UPDATE orders SET status = 'paid' WHERE id = $older"
wait_caught_up 60
if log_since "$offset" | grep -qE 'marking the read models dirty|rebuilding'; then
  fail "SCRIPT FLUSH made the sidecar mark the read models dirty or rebuild them"
fi
assert_not_confirmed_ahead
verify_clean
[ "$(rc HGET "$(model_key "order_details:{$((older % 64))}:$older")" status)" == paid ] || fail "the status change was lost"

step "READONLY (Redis made a replica of a master that is not there): refused, retried, nothing lost"
offset=$(log_size)
rc REPLICAOF 127.0.0.1 "$(pgcqrs_free_port)" >/dev/null
place_orders 20
sql "UPDATE users SET name = 'renamed while read-only' WHERE id = 2"
token=$(sql "SELECT write_token()")
wait_log "$offset" "Redis rejected the batch ending at .*READONLY" 30
during 1
lsn_ge "$(checkpoint)" "$token" && fail "the checkpoint reached $token while Redis was read-only"
rc REPLICAOF NO ONE >/dev/null
recovered "$offset" "READONLY"

step "Redis stalled longer than wal_sender_timeout (3 s): the stream survives, then catches up"
offset=$(log_size)
walsender=$(sql "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
pg_offset=$(stat -c %s "$(pgcqrs_pg_log "$WORK")")
held=$(checkpoint)
kill -STOP "$redis_pid"
place_orders 20
during 5 "$held"
kill -CONT "$redis_pid"
recovered "$offset" "stall of 5 s"
[ "$(sql "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" == "$walsender" ] ||
  fail "the replication connection was replaced: the stall ended the stream"
if tail -c +$((pg_offset + 1)) "$(pgcqrs_pg_log "$WORK")" | grep -q "replication timeout"; then
  fail "the walsender timed out while Redis was stalled"
fi
log_clean_since "$offset" "stall of 5 s"

step "Redis stalled longer than the reply timeout (2 s): the sidecar reconnects and resends"
stop_sidecar
offset=$(log_size)
PGCQRS_REDIS_REPLY_TIMEOUT=2 start_sidecar
wait_log "$offset" "streaming slot pgcqrs" 30
held=$(checkpoint)
kill -STOP "$redis_pid"
place_orders 20
wait_log "$offset" "Redis has not answered a call for 2 s; reconnecting" 30
during 2 "$held"
kill -CONT "$redis_pid"
recovered "$offset" "stall past the reply timeout"
[ "$(metric 'pgcqrs_reconnects_total{server="redis"}')" -ge 1 ] || fail "the reconnect was not counted"

echo "e2e_redis_faults: all checks passed"
