#!/usr/bin/env bash
# How long a reader waits for a writer's token while another session keeps a transaction open
# beside the writer (docs/consistency.md). The writer places an order, takes a token and hands
# it to `pgcqrs-query order ID --after TOKEN`; meanwhile the other session writes a row every
# 20 ms inside a transaction it commits every 5 s, so that WAL past the writer's commit is
# usually unflushed. Two tokens are measured in the same run, alternating: write_token() (the
# insert position, flushed) and the bare insert position it replaced
# (pg_current_wal_insert_lsn()). Prints p50, p99 and the worst wait of each (process start
# to exit of pgcqrs-query, in ms) and how many reads timed out.
# Usage: bench/token_wait.sh [READS] [BUILD_DIR]   (needs the extension installed and a build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh

reads=${1:-200}
build=$(cd "${2:-build}" && pwd)
run_dir=$(mktemp -d /tmp/pgcqrs-bench-token.XXXXXX)
sidecar= other=
cleanup() {
  for p in $other $sidecar; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pgcqrs_servers_remove "$run_dir"
}
trap cleanup EXIT
pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir" "appendonly yes" "appendfsync everysec"
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_PORT" PGCQRS_PG=""
psql -qAtX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION pgcqrs;
CREATE TABLE beside (x int);
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50);
SQL
"$build/sidecar/pgcqrs-sidecar" run >"$run_dir/sidecar.log" 2>&1 &
sidecar=$!
for _ in $(seq 1 600); do
  [ -n "$(redis-cli -p "$PGCQRS_REDIS_PORT" HGET pgcqrs:checkpoint lsn)" ] && break
  sleep 0.1
done

# The session beside the writer: a transaction open most of the time, writing now and then.
psql -qAtX -o /dev/null -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL' &
DO $$
BEGIN
  FOR i IN 1..100000 LOOP
    INSERT INTO beside VALUES (i);
    PERFORM pg_sleep(0.02);
    IF i % 250 = 0 THEN COMMIT; END IF;
  END LOOP;
END $$;
SQL
other=$!

: >"$run_dir/write_token" >"$run_dir/insert_lsn"
for i in $(seq 1 "$reads"); do
  for kind in write_token insert_lsn; do
    if [ "$kind" = write_token ]; then take="SELECT write_token()"; else take="SELECT pg_current_wal_insert_lsn()"; fi
    out=$(psql -qAtX -v ON_ERROR_STOP=1 -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}]')" -c "$take")
    order=${out%%$'\n'*} token=${out##*$'\n'}
    start=$(date +%s%N)
    if "$build/sidecar/pgcqrs-query" order "$order" --after "$token" --timeout 20000 >/dev/null; then
      echo $(( ($(date +%s%N) - start) / 1000 )) >>"$run_dir/$kind"
    else
      echo timeout >>"$run_dir/$kind"
    fi
  done
done

report() {  # report KIND LABEL: p50 p99 max in ms, and the timeouts
  grep -v timeout "$run_dir/$1" | sort -n | awk -v kind="$2" -v timeouts="$(grep -c timeout "$run_dir/$1" || true)" '
    { v[NR] = $1 }
    END { p50 = v[int(NR * 0.50 + 0.5)]; p99 = v[int(NR * 0.99 + 0.5)]
          printf "%-38s reads %4d  p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms  timeouts %d\n",
                 kind, NR, p50 / 1000, p99 / 1000, v[NR] / 1000, timeouts }'
}
echo "token wait beside an open transaction ($reads reads each, alternating)"
report write_token "write_token()"
report insert_lsn "pg_current_wal_insert_lsn() (before)"
