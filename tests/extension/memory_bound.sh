#!/usr/bin/env bash
# The plugin's memory stays bounded whatever the transaction's size: one transaction of a
# million rows (a million ProductAdded events, ~130 MB of JSON) is streamed to pg_recvlogical
# while the walsender's peak RSS stays under a fixed bound. The reorder buffer spills past
# logical_decoding_work_mem (1MB here), so what could grow is the plugin's own state.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh

rows=${PGCQRS_MEMORY_ROWS:-1000000}
bound_kb=$((64 * 1024))

run_dir=$(mktemp -d /tmp/pgcqrs-memory.XXXXXX)
receiver=
cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null
  pgcqrs_pg_remove "$run_dir"
  rm -rf "$run_dir"
}
trap cleanup EXIT
pgcqrs_pg_start "$run_dir" "logical_decoding_work_mem = 1MB"

psql -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION pgcqrs;
SELECT pg_create_logical_replication_slot('memory', 'pgcqrs');
INSERT INTO products (name, price) SELECT 'product ' || g, g % 1000 FROM generate_series(1, $rows) g;
SQL
target=$(psql -qAt -c "SELECT pg_current_wal_lsn()")

"$PGCQRS_PG_BIN/pg_recvlogical" -d postgres --slot memory --start -f "$run_dir/events.jsonl" -s 1 -F 1 &
receiver=$!

pgcqrs_wait_sql 300 "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'memory'"

walsender=$(psql -qAt -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'memory'")
peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$walsender/status")
events=$(grep -c '^{"type":"ProductAdded"' "$run_dir/events.jsonl" || true)
echo "streamed $events events ($(( $(stat -c %s "$run_dir/events.jsonl") / 1048576 )) MB); walsender peak RSS ${peak_kb} kB (bound ${bound_kb} kB)"

fail=0
if [ "$events" != "$rows" ]; then
  echo "FAIL: expected $rows ProductAdded events, got $events"; fail=1
fi
if [ "$peak_kb" -ge "$bound_kb" ]; then
  echo "FAIL: the walsender peaked at ${peak_kb} kB, over the ${bound_kb} kB bound"; fail=1
fi
exit $fail
