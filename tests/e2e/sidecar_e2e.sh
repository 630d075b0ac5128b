#!/usr/bin/env bash
# pgcqrs-sidecar end to end: writes through SQL, reads Redis, asserts exact values.
# Covers the initial snapshot, placing/changing/cancelling/deleting orders, renames fanning
# out, application and invalid events, kill -9 and restart in the middle of a stream,
# SIGTERM, a Redis that lost its data, TRUNCATE, /metrics, /healthz and `status`. After every
# step the oracle (pgcqrs-sidecar verify) finds Redis equal to the write model, and the
# sidecar's log tells of no rebuild, dirty mark, refused command or failed write but those
# the step causes on purpose (scripts/lib/sidecar_log.sh).
# Usage: sidecar_e2e.sh PATH/TO/pgcqrs-sidecar
set -euo pipefail
SIDECAR=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
# shellcheck source=../../scripts/lib/sidecar_log.sh
source "$ROOT/scripts/lib/sidecar_log.sh"

WORK=$(mktemp -d)
SC_PID=
cleanup() {
  local rc=$?
  if [ -n "$SC_PID" ] && kill -0 "$SC_PID" 2>/dev/null; then kill -9 "$SC_PID" 2>/dev/null || true; fi
  if [ $rc -ne 0 ] && [ -f "$WORK/sidecar.log" ]; then
    echo "---- sidecar log (last 60 lines)"; tail -60 "$WORK/sidecar.log"
  fi
  pgcqrs_pg_remove "$WORK"   # the cluster's files may live outside $WORK (servers.sh)
  pgcqrs_redis_stop "$WORK"
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

pgcqrs_pg_start "$WORK"
pgcqrs_redis_start "$WORK" "appendonly yes" "appendfsync everysec" "unixsocket $WORK/redis/redis.sock" "unixsocketperm 700"
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_PORT"
export PGCQRS_PG=""   # PGHOST, PGPORT, PGUSER, PGDATABASE come from servers.sh
HTTP_PORT=$(pgcqrs_free_port)
export PGCQRS_HTTP="127.0.0.1:$HTTP_PORT"
export PGCQRS_STATUS_INTERVAL_MS=200
export PGCQRS_HEARTBEAT_INTERVAL=1
export PGCQRS_CHUNK_EVENTS=100   # small, so multi-chunk transactions happen
export PGCQRS_FANOUT_BUDGET=7    # small, so renames fan out over several calls

sql() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
rc() { redis-cli -p "$PGCQRS_REDIS_PORT" "$@"; }
# mk NAME: NAME in the generation readers read now (rebuilds beside a checkpoint write the next).
mk() {
  local g
  g=$(rc HGET pgcqrs:checkpoint generation)
  if [ -z "$g" ] || [ "$g" = 0 ]; then echo "$1"; else echo "g$g:$1"; fi
}
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# expect KEY FIELD VALUE: one hash field, exactly.
expect() {  # expect KEY FIELD VALUE: KEY in the generation readers read
  local got
  got=$(rc HGET "$(mk "$1")" "$2")
  [ "$got" == "$3" ] || fail "$1 $2: expected '$3', got '$got'"
}
expect_cmd() {  # expect_cmd EXPECTED redis-args...
  local want=$1; shift
  local got
  got=$(rc "$@" | tr '\n' ' ' | sed 's/ $//')
  [ "$got" == "$want" ] || fail "redis $*: expected '$want', got '$got'"
}
# top_products BUCKET...: the products in those buckets' top_products:{b}, highest revenue
# first (equal revenues by id, as ZREVRANGE orders them): the merge pgcqrs-query top-products
# makes of all 64.
top_products() {
  local b
  for b in "$@"; do rc ZRANGE "$(mk "top_products:{$b}")" 0 -1 WITHSCORES; done |
    paste -d' ' - - | LC_ALL=C sort -k2,2gr -k1,1r | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//'
}

start_sidecar() {
  "$SIDECAR" run >>"$WORK/sidecar.log" 2>&1 &
  SC_PID=$!
}

# Waits until Redis's checkpoint reaches the server's WAL position taken now, unmarked: a
# `dirty` checkpoint means the read models are being rebuilt (docs/consistency.md).
wait_caught_up() {
  local target cp dirty deadline=$((SECONDS + 60))
  target=$(sql "SELECT pg_current_wal_lsn()")
  while :; do
    { read -r cp; read -r dirty; } < <(rc HMGET pgcqrs:checkpoint lsn dirty)
    if [ -n "$cp" ] && [ -z "$dirty" ] && [ "$(sql "SELECT '$cp'::pg_lsn >= '$target'::pg_lsn")" == t ]; then
      return 0
    fi
    [ $SECONDS -lt $deadline ] || fail "checkpoint '$cp' did not reach $target within 60 s"
    [ -z "$SC_PID" ] || kill -0 "$SC_PID" 2>/dev/null || fail "sidecar exited"
    sleep 0.1
  done
}

# wait_streaming: until /healthz says the sidecar streams (a start has logged how it began).
wait_streaming() {
  local deadline=$((SECONDS + 60))
  until (http_get /healthz 2>/dev/null) | grep -q '^ok'; do
    [ $SECONDS -lt $deadline ] || fail "the sidecar is not streaming 60 s into the step"
    kill -0 "$SC_PID" 2>/dev/null || fail "sidecar exited"
    sleep 0.1
  done
}

# verify_now: the oracle finds Redis equal to the write model on its first reading (no writer
# runs while it reads, so a second reading would hide a difference).
verify_now() {
  local out
  out=$("$SIDECAR" verify 2>&1) || fail "verify found the read models different from the write model:
$out"
  if grep -q 'reading again' <<<"$out"; then fail "verify needed a second reading with no writer running:
$out"; fi
}

# step_done [EXPECTED...]: the step is over. With the sidecar running, Redis has caught up
# and verify finds it equal to the write model; and the lines the sidecar logged during the
# step tell of no rebuild, dirty mark, refused command or failed write, but those the step
# causes on purpose: each EXPECTED pattern must match a line (pgcqrs_log_check).
step_done() {
  if [ -n "$SC_PID" ]; then
    wait_streaming
    wait_caught_up
    verify_now
  fi
  pgcqrs_log_check "$WORK/sidecar.log" "$@" || fail "the sidecar's log during this step (above)"
}

http_get() {  # http_get PATH: prints the response (headers and body)
  exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  cat <&3
  exec 3<&-
}
metric() { http_get /metrics | tr -d '\r' | awk -v n="$1" '$1 == n { print $2 }'; }
# wait_metric NAME VALUE: until /metrics has NAME at exactly VALUE.
wait_metric() {
  local deadline=$((SECONDS + 30))
  until [ "$(metric "$1")" == "$2" ]; do
    [ $SECONDS -lt $deadline ] || fail "$1 is '$(metric "$1")', not $2, 30 s into the step"
    kill -0 "$SC_PID" 2>/dev/null || fail "sidecar exited"
    sleep 0.1
  done
}

step "a Redis that may evict keys is refused unless overridden"
rc CONFIG SET maxmemory-policy allkeys-lru >/dev/null
set +e
timeout 30 "$SIDECAR" run >"$WORK/evict.log" 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat "$WORK/evict.log"; fail "an evicting Redis gave exit code $code, not 2"; }
grep -q "maxmemory-policy is allkeys-lru" "$WORK/evict.log" || fail "no clear message about the eviction policy"
rc CONFIG SET maxmemory-policy noeviction >/dev/null

step "write model before the sidecar starts (the initial snapshot copies it)"
sql "CREATE EXTENSION pgcqrs"
sql "INSERT INTO users (name, email) VALUES ('ann', 'ann@example.com'), ('bob', 'bob@example.com')"
sql "INSERT INTO products (name, price) VALUES ('pen', 1.50), ('ink', 2.25), ('pad', 10.00)"
sql "SELECT place_order(1, '[{\"product_id\":1,\"quantity\":2},{\"product_id\":2,\"quantity\":1}]')" >/dev/null

pgcqrs_log_begin "$WORK/sidecar.log"   # the first start's lines are checked too
start_sidecar
wait_caught_up
expect "order_details:{1}:1" user_name ann
expect "order_details:{1}:1" total 5.25
expect "order_details:{1}:1" item_count 2
expect "order_details:{1}:1" items '[{"product_id":1,"product_name":"pen","quantity":2,"unit_price":"1.50","line_total":"3.00"},{"product_id":2,"product_name":"ink","quantity":1,"unit_price":"2.25","line_total":"2.25"}]'
expect "user:{1}:1" order_count 1
expect "user:{1}:1" lifetime_value 5.25
expect "product:{1}:1" units_sold 2
expect "product:{1}:1" revenue 3.00
expect "product:{3}:3" units_sold 0
expect_cmd "1" ZRANGE "user_orders:{1}:1" 0 -1
[ -n "$(rc HGET pgcqrs:checkpoint lsn)" ] || fail "no checkpoint after the snapshot"
[ "$(rc HGET pgcqrs:checkpoint slot)" == pgcqrs ] || fail "checkpoint slot"
step_done 'rebuilding the read models \(slot pgcqrs does not exist\)' 'snapshot copied in'

step "/metrics while streaming: no dirty mark, the WAL the slot retains"
[ "$(metric pgcqrs_checkpoint_dirty)" == 0 ] || fail "pgcqrs_checkpoint_dirty is '$(metric pgcqrs_checkpoint_dirty)' while streaming, not 0"
deadline=$((SECONDS + 30))   # read every 5 s, first when streaming starts
until [ -n "$(metric pgcqrs_slot_wal_retained_bytes)" ]; do
  [ $SECONDS -lt $deadline ] || fail "no pgcqrs_slot_wal_retained_bytes on /metrics"
  sleep 0.1
done
retained=$(metric pgcqrs_slot_wal_retained_bytes)
[ "$retained" -gt 0 ] && [ "$retained" -lt 16777216 ] || fail "pgcqrs_slot_wal_retained_bytes is $retained"
# What PostgreSQL says now: the sidecar's reading is at most 5 s old, of an idle database
# but for heartbeats, so the two differ by little.
now_retained=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
[ $(( retained > now_retained ? retained - now_retained : now_retained - retained )) -lt 1048576 ] ||
  fail "pgcqrs_slot_wal_retained_bytes is $retained, PostgreSQL says $now_retained"
step_done

step "placing, changing, cancelling and deleting orders; renames fan out"
sql "SELECT place_order(2, '[{\"product_id\":2,\"quantity\":3}]')" >/dev/null          # order 2: 6.75
sql "SELECT place_order(1, '[{\"product_id\":1,\"quantity\":1}]')" >/dev/null          # order 3: 1.50
sql "INSERT INTO order_items (order_id, product_id, quantity) VALUES (3, 3, 2)"          # order 3: +20.00
sql "UPDATE order_items SET quantity = 4 WHERE order_id = 3 AND product_id = 1"          # order 3: 6.00 + 20.00
sql "BEGIN; UPDATE users SET name = 'Ann' WHERE id = 1; UPDATE products SET name = 'Ink' WHERE id = 2; COMMIT"
sql "UPDATE orders SET status = 'cancelled' WHERE id = 2"
sql "UPDATE orders SET status = 'paid' WHERE id = 1"
sql "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"CartAbandoned\",\"cart\":7}')" >/dev/null
sql "SELECT pg_logical_emit_message(true, 'pgcqrs', 'not json')" >/dev/null
wait_caught_up
expect "order_details:{3}:3" total 26.00
expect "order_details:{3}:3" item_count 2
expect "order_details:{3}:3" user_name Ann
expect "order_details:{1}:1" user_name Ann
expect "order_details:{1}:1" status paid
expect "order_details:{1}:1" items '[{"product_id":1,"product_name":"pen","quantity":2,"unit_price":"1.50","line_total":"3.00"},{"product_id":2,"product_name":"Ink","quantity":1,"unit_price":"2.25","line_total":"2.25"}]'
expect "order_details:{2}:2" items '[{"product_id":2,"product_name":"Ink","quantity":3,"unit_price":"2.25","line_total":"6.75"}]'
expect "order_details:{2}:2" status cancelled
expect "user:{1}:1" order_count 2
expect "user:{1}:1" lifetime_value 31.25
expect "user:{2}:2" order_count 1
expect "user:{2}:2" lifetime_value 0.00
expect "product:{2}:2" units_sold 1
expect "product:{2}:2" revenue 2.25
expect "product:{1}:1" units_sold 6
expect "product:{1}:1" revenue 9.00
expect "product:{3}:3" revenue 20.00
expect_cmd "3 1" ZREVRANGE "user_orders:{1}:1" 0 -1
# Products 1, 2 and 3 are each alone in the top_products of their buckets 1, 2 and 3; by
# revenue, the merge of the buckets (what pgcqrs-query top-products reads) is 3, 1, 2.
expect_cmd "1 9" ZRANGE "top_products:{1}" 0 -1 WITHSCORES
expect_cmd "2 2.25" ZRANGE "top_products:{2}" 0 -1 WITHSCORES
expect_cmd "3 20" ZRANGE "top_products:{3}" 0 -1 WITHSCORES
[ "$(top_products 1 2 3)" == "3 1 2" ] || fail "top products: expected '3 1 2', got '$(top_products 1 2 3)'"
step_done

sql "DELETE FROM orders WHERE id = 3"
sql "UPDATE products SET price = 2.50 WHERE id = 2"
wait_caught_up
[ "$(rc EXISTS "order_details:{3}:3")" == 0 ] || fail "deleted order 3 is still in Redis"
expect_cmd "1" ZRANGE "user_orders:{1}:1" 0 -1
expect "user:{1}:1" order_count 1
expect "user:{1}:1" lifetime_value 5.25
expect "product:{3}:3" units_sold 0
expect "product:{3}:3" revenue 0.00
expect "product:{2}:2" price 2.50
step_done

step "each call's last applied commit LSN is published on pgcqrs:applied"
rc SUBSCRIBE pgcqrs:applied >"$WORK/applied.txt" &
SUB_PID=$!
deadline=$((SECONDS + 10))
until [ "$(rc PUBSUB NUMSUB pgcqrs:applied | tail -1)" == 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "subscriber did not start"; sleep 0.05
done
sql "UPDATE products SET is_active = false WHERE id = 3"
sql "UPDATE products SET is_active = true WHERE id = 3"
wait_caught_up
expect "product:{3}:3" is_active true
published=$(grep -c '^[0-9A-F]*/[0-9A-F]*$' "$WORK/applied.txt" || true)
[ "$published" -ge 1 ] || fail "expected a commit LSN on pgcqrs:applied, saw $published"
grep -qx "$(rc HGET "product:{3}:3" lsn)" "$WORK/applied.txt" || fail "the last commit LSN was not published"
kill "$SUB_PID"; wait "$SUB_PID" 2>/dev/null || true
step_done

step "metrics, healthz and status"
metrics=$(http_get /metrics)
grep -q '^pgcqrs_events_ignored_total{type="CartAbandoned"} 1$' <<<"$metrics" || fail "metrics: CartAbandoned not counted"
grep -q '^pgcqrs_events_ignored_total{type="InvalidMessage"} 1$' <<<"$metrics" || fail "metrics: InvalidMessage not counted"
grep -q '^pgcqrs_events_applied_total{type="OrderPlaced"} 2$' <<<"$metrics" || fail "metrics: OrderPlaced count"
grep -q '^pgcqrs_up 1$' <<<"$metrics" || fail "metrics: not up"
http_get /healthz | tr -d '\r' | grep -qx 'ok' || fail "healthz"
"$SIDECAR" status | tee "$WORK/status.txt" | grep -q '^checkpoint:  [0-9A-F]*/[0-9A-F]*' || fail "status: no checkpoint line"
step_done

step "kill -9 in the middle of a stream, restart: nothing lost or doubled"
(
  for i in $(seq 1 150); do
    psql -qAtX -c "SELECT place_order($((i % 2 + 1)), '[{\"product_id\":$((i % 3 + 1)),\"quantity\":$i},{\"product_id\":$(((i + 1) % 3 + 1)),\"quantity\":1}]')" >/dev/null
    if [ $((i % 10)) -eq 0 ]; then
      psql -qAtX -c "UPDATE orders SET status = 'cancelled' WHERE id = (SELECT max(id) FROM orders)" >/dev/null
    fi
  done
) &
WRITER=$!
# Let part of the stream land, then kill without warning.
deadline=$((SECONDS + 60))
until [ "$(rc --scan --pattern 'order_details:*' | wc -l)" -ge 40 ]; do
  [ $SECONDS -lt $deadline ] || fail "stream did not progress"
  sleep 0.05
done
kill -9 "$SC_PID"; wait "$SC_PID" 2>/dev/null || true
start_sidecar
wait "$WRITER"
# Scripts and EXECs are atomic in Redis: a kill -9 of the sidecar leaves nothing to rebuild.
step_done 'resuming slot pgcqrs from'

step "SIGTERM finishes, confirms and exits 0"
sql "UPDATE users SET email = 'bob@new.example.com' WHERE id = 2"
wait_caught_up
kill -TERM "$SC_PID"
set +e; wait "$SC_PID"; code=$?; set -e
SC_PID=
[ $code -eq 0 ] || fail "SIGTERM exit code $code"
cp=$(rc HGET pgcqrs:checkpoint lsn)
confirmed=$(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
[ "$(sql "SELECT '$confirmed'::pg_lsn >= '$cp'::pg_lsn")" == t ] || fail "slot confirmed $confirmed, checkpoint $cp after SIGTERM"
expect "order_details:{2}:2" user_email bob@new.example.com
step_done 'stopped: confirmed [0-9A-F]+/[0-9A-F]+ to slot pgcqrs'

step "writes while stopped are applied after a restart"
sql "SELECT place_order(2, '[{\"product_id\":3,\"quantity\":5}]')" >/dev/null
start_sidecar
step_done 'resuming slot pgcqrs from'

step "Redis loses its data: detected and rebuilt, never served with a gap"
rc FLUSHALL >/dev/null
sql "UPDATE products SET name = 'Pad' WHERE id = 3"
step_done 'Redis lost pgcqrs:checkpoint while streaming' 'Redis has no pgcqrs:checkpoint but slot pgcqrs exists' \
  'rebuilding the read models \(Redis has no checkpoint\)'

step "Redis restarts (with its append-only file): the sidecar reconnects and resumes"
pgcqrs_redis_stop "$WORK"
sql "SELECT place_order(1, '[{\"product_id\":1,\"quantity\":7}]')" >/dev/null
redis-server "$WORK/redis/redis.conf"
deadline=$((SECONDS + 30))
until rc ping >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || fail "Redis did not restart"; sleep 0.1; done
# The append-only file kept what the sidecar confirmed: no rebuild.
step_done 'resuming slot pgcqrs from'

step "Redis comes back behind the slot (an older append-only file): detected, rebuilt"
old_aof=$WORK/old-aof
pgcqrs_redis_stop "$WORK"
cp -a "$WORK/redis/appendonlydir" "$old_aof"
redis-server "$WORK/redis/redis.conf"
sql "SELECT place_order(2, '[{\"product_id\":3,\"quantity\":2}]')" >/dev/null
wait_caught_up
cp=$(rc HGET pgcqrs:checkpoint lsn)
deadline=$((SECONDS + 30))   # the confirmation is held past Redis's fsync window
until [ "$(sql "SELECT confirmed_flush_lsn >= '$cp' FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" == t ]; do
  [ $SECONDS -lt $deadline ] || fail "slot never confirmed $cp"
  sleep 0.1
done
pgcqrs_redis_stop "$WORK"
rm -rf "$WORK/redis/appendonlydir"
mv "$old_aof" "$WORK/redis/appendonlydir"
redis-server "$WORK/redis/redis.conf"
step_done 'Redis is behind slot pgcqrs: .* lost acknowledged writes' 'rebuilding the read models \(Redis behind the slot\)'

step "a projection call that stopped midway (checkpoint marked dirty): detected, rebuilt"
# A transaction holding a lock on users keeps the rebuild's copy waiting, so that /metrics is
# read while the rebuild is due.
mkfifo "$WORK/locker"
psql -qAtX -v ON_ERROR_STOP=1 <"$WORK/locker" >/dev/null &
locker=$!
exec {lock_fd}>"$WORK/locker"
echo "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE;" >&$lock_fd
deadline=$((SECONDS + 30))
until [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass AND mode = 'AccessExclusiveLock' AND granted")" == 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "the lock on users was not taken"
  sleep 0.1
done
rc HSET pgcqrs:checkpoint dirty 0/1 >/dev/null   # what a script failing after its first write leaves
sql "UPDATE products SET name = 'Pad 2' WHERE id = 3"
wait_metric pgcqrs_checkpoint_dirty 1
wait_metric pgcqrs_up 0
echo "COMMIT;" >&$lock_fd
exec {lock_fd}>&-
wait "$locker" || fail "the transaction holding the lock on users failed"
# (The transaction projection does not name where the mark was set.)
step_done 'pgcqrs:checkpoint is marked dirty \(a projection call stopped midway at (0/1)?\)' \
  'may hold part of a projection call; reconnecting' 'a projection call stopped midway \(at 0/1\)' \
  'rebuilding the read models \(a projection call stopped midway\)'
[ "$(rc HEXISTS pgcqrs:checkpoint dirty)" == 0 ] || fail "the rebuild left the checkpoint dirty"
[ "$(metric pgcqrs_checkpoint_dirty)" == 0 ] || fail "pgcqrs_checkpoint_dirty is '$(metric pgcqrs_checkpoint_dirty)' after the rebuild, not 0"

step "a write refused inside a transaction batch's EXEC: checkpoint marked dirty, rebuilt"
rc DEL "$(mk "product_orders:{2}:2")" >/dev/null
rc SET "$(mk "product_orders:{2}:2")" not-a-set >/dev/null   # someone else's key of the wrong type: SADD fails
sql "SELECT place_order(2, '[{\"product_id\":2,\"quantity\":1}]')" >/dev/null
step_done 'error a write of the batch ending at [0-9A-F]+/[0-9A-F]+ failed \(WRONGTYPE .*\): marking the read models dirty' \
  'may hold part of a transaction batch: WRONGTYPE' 'a projection call stopped midway \(at [0-9A-F]+/[0-9A-F]+\)' \
  'rebuilding the read models \(a projection call stopped midway\)'
[ "$(rc TYPE "$(mk "product_orders:{2}:2")")" == set ] || fail "the rebuild did not restore product_orders:{2}:2"

step "PostgreSQL restarts: the sidecar reconnects and resumes"
pgcqrs_pg_restart "$WORK" fast
sql "SELECT place_order(2, '[{\"product_id\":2,\"quantity\":4}]')" >/dev/null
step_done 'resuming slot pgcqrs from'
grep -q '^pgcqrs_reconnects_total{server="postgresql"} [1-9]' <<<"$(http_get /metrics)" || fail "PostgreSQL reconnect not counted"
grep -q '^pgcqrs_reconnects_total{server="redis"} [1-9]' <<<"$(http_get /metrics)" || fail "Redis reconnect not counted"

step "read models of layout 2 (product_orders a sorted set, no layout recorded): rebuilt at start"
[ "$(rc HGET pgcqrs:checkpoint layout)" == 4 ] || fail "the checkpoint does not record layout 4"
kill -TERM "$SC_PID"; wait "$SC_PID"; SC_PID=
members=$(rc SMEMBERS "$(mk "product_orders:{3}:3")")
[ -n "$members" ] || fail "product_orders:{3}:3 is empty"
rc DEL "$(mk "product_orders:{3}:3")" >/dev/null
for m in $members; do rc ZADD "$(mk "product_orders:{3}:3")" "$m" "$m" >/dev/null; done
rc HDEL pgcqrs:checkpoint layout >/dev/null
start_sidecar
sql "UPDATE products SET name = 'Pad 3' WHERE id = 3"
step_done 'stopped: confirmed' 'the read models in Redis have key layout 2 and this sidecar writes layout 4' \
  'rebuilding the read models \(read models of layout 2\)'
[ "$(rc TYPE "$(mk "product_orders:{3}:3")")" == set ] || fail "product_orders:{3}:3 is a $(rc TYPE "$(mk "product_orders:{3}:3")") after the rebuild"
[ "$(rc HGET pgcqrs:checkpoint layout)" == 4 ] || fail "the rebuild did not record layout 4"

step "an unrelated workload never makes PostgreSQL keep WAL for the slot"
sql "CREATE TABLE unrelated (x int)"
for _ in 1 2 3; do sql "INSERT INTO unrelated SELECT generate_series(1, 5000)"; done
target=$(sql "SELECT pg_current_wal_lsn()")
deadline=$((SECONDS + 30))
until [ "$(sql "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" == t ]; do
  [ $SECONDS -lt $deadline ] || fail "slot stayed behind $target: $(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots")"
  sleep 0.1
done
step_done

step "an idle database gets heartbeats"
deadline=$((SECONDS + 20))
until grep -q '^pgcqrs_heartbeats_total [1-9]' <<<"$(http_get /metrics)"; do
  [ $SECONDS -lt $deadline ] || fail "no heartbeat while idle"; sleep 0.2
done
step_done

step "a transaction larger than a chunk is applied exactly once"
sql "INSERT INTO products (name, price) SELECT 'bulk ' || g, 0.01 * g FROM generate_series(1, 1200) g"
sql "BEGIN; INSERT INTO orders (user_id) VALUES (1);
     INSERT INTO order_items (order_id, product_id, quantity)
       SELECT currval(pg_get_serial_sequence('orders', 'id')), id, 2 FROM products WHERE name LIKE 'bulk %';
     UPDATE users SET name = 'Ann Bulk' WHERE id = 1; COMMIT"
wait_caught_up
big=$(sql "SELECT max(id) FROM orders")
expect "order_details:{$((big % 64))}:$big" item_count 1200
# The rename of user 1 (over 70 orders, budget 7) runs as a bounded fan-out in this step.
step_done 'large fan-out at [0-9A-F]+/[0-9A-F]+: applying it in bounded calls'

step "verify waits out a Redis busy with another client's long script"
kill -TERM "$SC_PID"; wait "$SC_PID"; SC_PID=
rc EVAL "local s = tonumber(redis.call('TIME')[1]) while tonumber(redis.call('TIME')[1]) < s + 8 do end return 1" 0 >/dev/null &
busy_pid=$!
deadline=$((SECONDS + 20))
until rc HGET pgcqrs:checkpoint lsn 2>&1 | grep -q BUSY; do   # answered BUSY past lua-time-limit (5 s)
  [ $SECONDS -lt $deadline ] || fail "Redis never answered BUSY"
done
# The sidecar runs meanwhile (it retries while Redis is busy): WAL that PostgreSQL writes on
# its own (a standby snapshot record) must reach the checkpoint for verify to start comparing.
start_sidecar
"$SIDECAR" verify >"$WORK/verify.txt" 2>&1 || { cat "$WORK/verify.txt"; fail "verify did not wait out a busy Redis"; }
wait "$busy_pid"
step_done 'stopped: confirmed' 'resuming slot pgcqrs from'

step "Redis over a Unix socket as an ACL user whose password comes from a file (never logged)"
rc ACL SETUSER sidecar on '>s3cret-pw' '~*' '&*' '+@all' >/dev/null
kill -TERM "$SC_PID"; wait "$SC_PID"; SC_PID=
printf 's3cret-pw\n' >"$WORK/redis-password"
chmod 644 "$WORK/redis-password"
out=$(PGCQRS_REDIS_PASSWORD_FILE="$WORK/redis-password" "$SIDECAR" run 2>&1) && fail "a world-readable password file was accepted"
[ "$out" == "pgcqrs-sidecar: the password file $WORK/redis-password can be accessed by other users (mode 0644): chmod 600 $WORK/redis-password" ] ||
  fail "a world-readable password file: unexpected refusal '$out'"
chmod 600 "$WORK/redis-password"
PGCQRS_REDIS="unix://$WORK/redis/redis.sock" PGCQRS_REDIS_USER=sidecar \
  PGCQRS_REDIS_PASSWORD_FILE="$WORK/redis-password" "$SIDECAR" run >>"$WORK/sidecar.log" 2>&1 &
SC_PID=$!
sql "UPDATE users SET name = 'Bob ACL' WHERE id = 2"
wait_caught_up
expect "user:{2}:2" name 'Bob ACL'
if grep -q 's3cret-pw' "$WORK/sidecar.log"; then fail "the Redis password appears in the log"; fi
step_done 'stopped: confirmed' 'resuming slot pgcqrs from' \
  "streaming slot pgcqrs into Redis unix://$WORK/redis/redis.sock \\(user sidecar\\)"

step "TRUNCATE empties what depends on the truncated tables"
sql "TRUNCATE order_items"
wait_caught_up
expect "order_details:{1}:1" items '[]'
expect "order_details:{1}:1" total 0.00
step_done
sql "TRUNCATE users, products, orders, order_items"
step_done
left=$(rc --scan | { grep -v '^pgcqrs:checkpoint$' || true; } | wc -l)
[ "$left" -eq 0 ] || fail "$left keys left after TRUNCATE of everything: $(rc --scan | head)"

step "a slot name that belongs to another database is refused, naming it"
sql "CREATE DATABASE other_app" >/dev/null
psql -qAt -d other_app -c "CREATE EXTENSION pgcqrs" >/dev/null
set +e
PGDATABASE=other_app PGCQRS_HTTP= timeout 30 "$SIDECAR" run >"$WORK/other-db.log" 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat "$WORK/other-db.log"; fail "a slot of another database gave exit code $code, not 2"; }
grep -q "replication slot pgcqrs belongs to database" "$WORK/other-db.log" || fail "no clear message about the slot's database"

echo "e2e_sidecar: all checks passed"
