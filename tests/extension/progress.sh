#!/usr/bin/env bash
# While the plugin skips a long run of changes to other tables it reports progress: with
# wal_sender_timeout at 2s, a consumer streaming a slot through a 3-million-row transaction
# on an unrelated table gets no output, no timeout, and its slot moves past that WAL.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh

run_dir=$(mktemp -d /tmp/pgcqrs-progress.XXXXXX)
receiver=
cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null
  pgcqrs_pg_remove "$run_dir"
  rm -rf "$run_dir"
}
trap cleanup EXIT
pgcqrs_pg_start "$run_dir" "logical_decoding_work_mem = 1MB" "wal_sender_timeout = 2s"

psql -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE EXTENSION pgcqrs;
CREATE TABLE unrelated (x int, pad text);
SELECT pg_create_logical_replication_slot('progress', 'pgcqrs');
SQL
"$PGCQRS_PG_BIN/pg_recvlogical" -d postgres --slot progress --start -f "$run_dir/events.jsonl" \
  -s 1 -F 1 2>"$run_dir/receiver.log" &
receiver=$!
pgcqrs_wait_sql 30 "SELECT active FROM pg_replication_slots WHERE slot_name = 'progress'"

psql -qAt -c "INSERT INTO unrelated SELECT g, repeat('x', 100) FROM generate_series(1, 3000000) g"
target=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
pgcqrs_wait_sql 120 "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'progress'"

fail=0
if [ -s "$run_dir/events.jsonl" ]; then
  echo "FAIL: unrelated changes produced output:"; head -3 "$run_dir/events.jsonl"; fail=1
fi
if grep -qi "timeout" "$(pgcqrs_pg_log "$run_dir")" "$run_dir/receiver.log"; then
  echo "FAIL: a replication timeout was logged:"; grep -hi timeout "$(pgcqrs_pg_log "$run_dir")" "$run_dir/receiver.log"; fail=1
fi
kill -0 "$receiver" 2>/dev/null || { echo "FAIL: the receiver died"; cat "$run_dir/receiver.log"; fail=1; }
[ $fail -eq 0 ] && echo "the slot moved past 3M unrelated rows to $target with no output and no timeout"
exit $fail
