#!/usr/bin/env bash
# `--apply multi` against `--apply script`: one PostgreSQL, two slots, two Redis servers, the
# same stream. The transaction projection must leave every key exactly as the script does
# (the checkpoint's `slot` and `updated_at` aside), and `verify` must find Redis equal to the
# write model. The workload covers what the transaction projection renders (orders placed,
# newest and backdated, pages trimmed past 10, status changes and cancellations, several in
# one transaction, names that need JSON escapes) and what goes to the script in between, in
# runs with the orders (renames fanning out over several calls, reprices, item changes, a
# product deleted). Neither mode may rebuild, mark its read models dirty or have a write
# refused (scripts/lib/sidecar_log.sh): a failed EXEC followed by a rebuild would leave the
# same dump.
# Usage: apply_modes.sh PATH/TO/pgcqrs-sidecar
set -euo pipefail
SIDECAR=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
# shellcheck source=../../scripts/lib/sidecar_log.sh
source "$ROOT/scripts/lib/sidecar_log.sh"

WORK=$(mktemp -d)
PIDS=()
declare -A PID
cleanup() {
  local rc=$? p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for p in script multi; do
      [ -f "$WORK/$p.log" ] && { echo "---- sidecar --apply $p log (last 30 lines)"; tail -30 "$WORK/$p.log"; }
    done
  fi
  pgcqrs_pg_remove "$WORK"
  pgcqrs_redis_stop "$WORK/script"
  pgcqrs_redis_stop "$WORK/multi"
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

pgcqrs_pg_start "$WORK"
declare -A PORT
for mode in script multi; do
  pgcqrs_redis_start "$WORK/$mode"
  PORT[$mode]=$PGCQRS_REDIS_PORT
done
export PGCQRS_PG=""   # PGHOST, PGPORT, PGUSER, PGDATABASE come from servers.sh
export PGCQRS_STATUS_INTERVAL_MS=200
export PGCQRS_CHUNK_EVENTS=20   # small batches: many of them, cache carried between them
export PGCQRS_FANOUT_BUDGET=5   # renames fan out over several calls, with orders queued behind

sql "CREATE EXTENSION pgcqrs"
sql "INSERT INTO users (name, email) SELECT 'user ' || g, 'u' || g || '@example.com' FROM generate_series(1, 30) g"
sql "INSERT INTO users (name, email) VALUES (E'Zoë \"quote\" back\\\\slash/slash\ttab', 'z@example.com')"
sql "INSERT INTO products (name, price) SELECT 'product ' || g, g + 0.99 FROM generate_series(1, 12) g"
sql "INSERT INTO products (name, price) VALUES (E'odd \"name\" / \\\\ \u0001 ctl', 3.10), ('gone soon', 1.00)"

for mode in script multi; do
  pgcqrs_log_begin "$WORK/$mode.log"
  "$SIDECAR" run --slot "slot_$mode" --apply "$mode" --redis "redis://127.0.0.1:${PORT[$mode]}" \
    >>"$WORK/$mode.log" 2>&1 &
  PIDS+=($!)
  PID[$mode]=$!
done

wait_both() {  # until both checkpoints reach the WAL position taken now
  local target cp mode deadline=$((SECONDS + 120))
  target=$(sql "SELECT pg_current_wal_lsn()")
  for mode in script multi; do
    while :; do
      cp=$(redis-cli -p "${PORT[$mode]}" HGET pgcqrs:checkpoint lsn)
      if [ -n "$cp" ] && [ "$(sql "SELECT '$cp'::pg_lsn >= '$target'::pg_lsn")" == t ]; then break; fi
      [ $SECONDS -lt $deadline ] || fail "--apply $mode: checkpoint '$cp' did not reach $target"
      kill -0 "${PID[$mode]}" 2>/dev/null || fail "the sidecar --apply $mode exited"
      sleep 0.1
    done
  done
}
# log_clean MODE [EXPECTED...]: the lines of MODE's log since its last check tell of no
# trouble but EXPECTED.
log_clean() {
  local mode=$1; shift
  pgcqrs_log_check "$WORK/$mode.log" "$@" || fail "--apply $mode: the sidecar's log (above)"
}
wait_both  # the snapshot copies
for mode in script multi; do log_clean "$mode" "rebuilding the read models \\(slot slot_$mode does not exist\\)"; done

# Orders of 1-3 items, two in some transactions, some backdated below the user's newest.
sql "DO \$\$
DECLARE o bigint; u int;
BEGIN
  FOR i IN 1..400 LOOP
    u := 1 + (i * 7) % 31;
    INSERT INTO orders (user_id, created_at)
      VALUES (u, now() - CASE WHEN i % 9 = 0 THEN interval '3 days' * (i % 5) ELSE interval '0' END)
      RETURNING id INTO o;
    INSERT INTO order_items (order_id, product_id, quantity)
      SELECT o, 1 + (i + k * 5) % 13, 1 + k FROM generate_series(0, i % 3) k;
    IF i % 4 = 0 THEN UPDATE orders SET status = 'paid' WHERE id = o - 1 AND status = 'pending'; END IF;
    IF i % 6 = 0 THEN UPDATE orders SET status = 'cancelled' WHERE id = o - 2 AND status IN ('pending', 'paid'); END IF;
    IF i % 5 <> 0 THEN COMMIT; END IF;
    IF i = 150 THEN UPDATE users SET name = 'renamed ' || id WHERE id % 3 = 0; COMMIT; END IF;
    IF i = 200 THEN UPDATE products SET price = price + 1 WHERE id % 2 = 0; COMMIT; END IF;
    IF i = 250 THEN UPDATE order_items SET quantity = quantity + 1 WHERE order_id = o; COMMIT; END IF;
    IF i = 300 THEN DELETE FROM products WHERE id = 14; COMMIT; END IF;
  END LOOP;
END \$\$"
# Status changes and cancellations of older orders, several per transaction.
sql "UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND id % 3 = 0"
sql "UPDATE orders SET status = 'cancelled' WHERE status = 'pending' AND id % 5 = 0"
sql "UPDATE orders SET status = 'delivered' WHERE status = 'shipped' AND id % 2 = 0"
wait_both
# Both projected the stream without a rebuild, a dirty mark or a refused write; the multi
# mode's renames fanned out over several calls.
log_clean script
log_clean multi 'large fan-out at [0-9A-F]+/[0-9A-F]+: applying it in bounded calls'

dump() {  # every key but the checkpoint, in one canonical text
  local port=$1 key
  redis-cli -p "$port" --scan | grep -v '^pgcqrs:checkpoint$' | LC_ALL=C sort | while read -r key; do
    echo "== $key $(redis-cli -p "$port" TYPE "$key")"
    case $(redis-cli -p "$port" TYPE "$key") in
      hash) redis-cli -p "$port" HGETALL "$key" | paste - - | LC_ALL=C sort ;;
      zset) redis-cli -p "$port" ZRANGE "$key" 0 -1 WITHSCORES ;;
      list) redis-cli -p "$port" LRANGE "$key" 0 -1 ;;
      set) redis-cli -p "$port" SMEMBERS "$key" | LC_ALL=C sort ;;
      *) echo "unexpected type" ;;
    esac
  done
}
dump "${PORT[script]}" >"$WORK/script.dump"
dump "${PORT[multi]}" >"$WORK/multi.dump"
keys=$(grep -c '^== ' "$WORK/script.dump")
[ "$keys" -gt 400 ] || fail "only $keys keys in the script's read models"
if ! diff "$WORK/script.dump" "$WORK/multi.dump" >"$WORK/diff"; then
  head -40 "$WORK/diff"
  fail "--apply multi and --apply script left different read models"
fi
for f in lsn commit_time layout; do
  a=$(redis-cli -p "${PORT[script]}" HGET pgcqrs:checkpoint $f)
  b=$(redis-cli -p "${PORT[multi]}" HGET pgcqrs:checkpoint $f)
  [ "$a" == "$b" ] || fail "checkpoint $f: script '$a', multi '$b'"
done

# The transaction projection did the work (not only its fallback to the script).
execs=$(redis-cli -p "${PORT[multi]}" INFO commandstats | sed -n 's/^cmdstat_exec:calls=\([0-9]*\),.*/\1/p' | tr -d '\r')
[ "${execs:-0}" -ge 20 ] || fail "--apply multi ran ${execs:-0} MULTI/EXEC batches, expected at least 20"
"$SIDECAR" verify --redis "redis://127.0.0.1:${PORT[multi]}" >"$WORK/verify.out" 2>&1 ||
  { cat "$WORK/verify.out"; fail "verify found the multi read models different from the write model"; }
for mode in script multi; do log_clean "$mode"; done
echo "apply modes: $keys keys identical, $execs MULTI/EXEC batches, verify clean"
