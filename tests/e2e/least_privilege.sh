#!/usr/bin/env bash
# Least privilege, working and tested (docs/security.md): the sidecar runs as a PostgreSQL
# role with REPLICATION, SELECT on the write model and pg_logical_emit_message only, reached
# through one pg_hba.conf line for its database, and as a Redis ACL user limited
# to the read-model keys; query clients use a read-only Redis ACL user; passwords come from
# the environment or files. Each can do its job and nothing more. The Redis users are the
# ones docs/security.md documents, read from it; the sidecar projects every kind of change
# through them (status changes and item edits of orders applied earlier, fan-outs, deletes,
# more than a page of orders for one user) without a rebuild, dirty mark or refused command.
#   tests/e2e/least_privilege.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/sidecar_log.sh
source scripts/lib/documented_roles.sh
build=$(cd "${1:-build}" && pwd)

run_dir=$(mktemp -d /tmp/pgcqrs-privilege.XXXXXX)
sidecar=
pgcqrs_remove_at_exit "$run_dir" sidecar
passed=0 failed=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  if "${@:2}" >"$run_dir/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1"; sed 's/^/    /' "$run_dir/out" | head -5; fi
}
refused() {  # refused DESCRIPTION PATTERN COMMAND...: the output must match PATTERN
  local out
  out=$("${@:3}" 2>&1 || true)
  if grep -qE "$2" <<<"$out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1 (expected /$2/, got: $(head -c 300 <<<"$out"))"; fi
}

sidecar_pg_pw=pg-$RANDOM$RANDOM
sidecar_redis_pw=rs-$RANDOM$RANDOM
reader_pw=rd-$RANDOM$RANDOM
admin_pw=ad-$RANDOM$RANDOM

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir"
redis_port=$PGCQRS_REDIS_PORT

# PostgreSQL: the sidecar's role authenticates with a password (scram) from the environment.
# The role and its grants are docs/security.md's own blocks.
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcqrs" -c "CREATE TABLE payroll (name text, salary int)" >/dev/null
pgcqrs_documented_sql "CREATE ROLE pgcqrs_sidecar" "$sidecar_pg_pw" || exit 1
pgcqrs_documented_sql "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO pgcqrs_sidecar" "" || exit 1
# One line for its database, which also admits its logical replication connection; the
# cluster's own replication lines go, so that no replication line admits it.
hba=$(pgcqrs_pg_base "$run_dir")/pg/pg_hba.conf
{ echo "host postgres pgcqrs_sidecar 127.0.0.1/32 scram-sha-256"
  grep -vE '^(local|host)[[:space:]]+replication[[:space:]]' "$hba"; } >"$hba.new"
cat "$hba.new" >"$hba" && rm "$hba.new"
psql -qAt -c "SELECT pg_reload_conf()" >/dev/null

# Redis: no anonymous access; an admin for this test, then the users docs/security.md gives
# (its redis blocks, PASSWORD replaced), the sidecar's and a read-only reader's.
rc() { redis-cli -p "$redis_port" --no-auth-warning "$@"; }
rc ACL SETUSER admin on ">$admin_pw" '~*' '&*' '+@all' >/dev/null
admin() { rc --user admin --pass "$admin_pw" "$@"; }
documented_acl() { pgcqrs_documented_acl "$1" "$2" admin || exit 1; }
documented_acl pgcqrs-sidecar "$sidecar_redis_pw"
documented_acl pgcqrs-reader "$reader_pw"
documented_acl default ""

# The sidecar, with every secret from the environment or a file, none on its command line.
# A small fan-out budget: renames run as bounded fan-outs, which read product_orders.
echo -n "$sidecar_redis_pw" >"$run_dir/redis-password"
chmod 600 "$run_dir/redis-password"
http_port=$(pgcqrs_free_port)
log=$run_dir/sidecar.log
pgcqrs_log_begin "$log"
PGPASSWORD=$sidecar_pg_pw \
PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=pgcqrs_sidecar dbname=postgres" \
PGCQRS_REDIS="redis://127.0.0.1:$redis_port" PGCQRS_REDIS_USER=pgcqrs-sidecar \
PGCQRS_REDIS_PASSWORD_FILE=$run_dir/redis-password PGCQRS_HTTP=127.0.0.1:$http_port \
PGCQRS_HEARTBEAT_INTERVAL=1 PGCQRS_FANOUT_BUDGET=4 "$build/sidecar/pgcqrs-sidecar" run >"$log" 2>&1 &
sidecar=$!

alive() { kill -0 "$sidecar" 2>/dev/null || { echo "the sidecar exited: $(tail -3 "$log")"; return 1; }; }
# applied: Redis's checkpoint (read as the admin) has reached the server's WAL position now,
# unmarked; fails if the sidecar dies meanwhile.
applied() {
  local target cp dirty deadline=$((SECONDS + 60))
  target=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
  while :; do
    alive || return 1
    { read -r cp; read -r dirty; } < <(admin HMGET pgcqrs:checkpoint lsn dirty)
    if [ -n "$cp" ] && [ -z "$dirty" ] && [ "$(psql -qAt -c "SELECT '$cp'::pg_lsn >= '$target'::pg_lsn")" = t ]; then
      return 0
    fi
    [ $SECONDS -lt $deadline ] || { echo "checkpoint '$cp' (dirty '$dirty') did not reach $target within 60 s"; return 1; }
    sleep 0.1
  done
}
verify_clean() {
  env -u PGCQRS_REDIS_USER -u PGCQRS_REDIS_PASSWORD -u PGCQRS_REDIS_PASSWORD_FILE \
    "$build/sidecar/pgcqrs-sidecar" verify --pg "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
    --redis "redis://admin:$admin_pw@127.0.0.1:$redis_port"
}
# settle WHAT [EXPECTED...]: what was written has been applied as the limited users, the
# oracle finds Redis equal to the write model, and the sidecar's log tells of no rebuild,
# dirty mark, refused command or failed write but EXPECTED.
settle() {
  local before=$failed
  check "$1: applied as the sidecar's users" applied
  [ "$failed" = "$before" ] || return 0
  check "$1: verify finds Redis equal to the write model" verify_clean
  check "$1: nothing rebuilt, marked dirty or refused (sidecar log)" pgcqrs_log_check "$log" "${@:2}"
}
sql() { psql -qAt -v ON_ERROR_STOP=1 "$@" >/dev/null; }

# The write model, and 12 orders of Ada (more than user_latest's page of 10: 6 in one
# transaction, then 6 in one each) and one of Bob. Her page: orders 13 to 8 and 6 to 3.
sql <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Bob', 'bob@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50), ('Ink', 2.25), ('Pad', 4.00), ('Gone', 1.00);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]') FROM generate_series(1, 6);
SELECT place_order(2, '[{"product_id": 1, "quantity": 1}]');
SQL
for _ in 1 2 3 4 5 6; do sql -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}, {\"product_id\": 3, \"quantity\": 2}]')"; done
token=$(psql -qAt -c "SELECT write_token()")
psql -qAt -c "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"Hello\"}')" >/dev/null
settle "orders placed" 'rebuilding the read models \(slot pgcqrs does not exist\)'

# Later batches change what earlier ones applied, each change its own transaction: status
# changes of orders on Ada's page and off it, a cancellation, item edits.
sql <<'SQL'
UPDATE orders SET status = 'paid' WHERE id = 13;
UPDATE orders SET status = 'paid' WHERE id = 9;
UPDATE orders SET status = 'shipped' WHERE id = 9;
UPDATE orders SET status = 'cancelled' WHERE id = 1;
UPDATE orders SET status = 'cancelled' WHERE id = 10;
UPDATE order_items SET quantity = 5 WHERE order_id = 12 AND product_id = 1;
INSERT INTO order_items (order_id, product_id, quantity) VALUES (11, 2, 3);
DELETE FROM order_items WHERE order_id = 8 AND product_id = 3;
UPDATE order_items SET quantity = 7 WHERE order_id = 2 AND product_id = 2;
SQL
settle "status changes and item edits of orders applied earlier"

# Renames fanning out over Ada's orders (user_orders) and the pen's (product_orders), over
# more orders than one call may touch.
sql -c "UPDATE users SET name = 'Ada L' WHERE id = 1"
sql -c "UPDATE products SET name = 'Fountain pen' WHERE id = 1"
sql -c "UPDATE products SET price = 1.75 WHERE id = 1"
token2=$(psql -qAt -c "SELECT write_token()")
settle "renames fanned out" 'large fan-out at [0-9A-F]+/[0-9A-F]+: applying it in bounded calls'

# Deletes: an order on the page and one off it, a product without orders, a user without orders.
sql <<'SQL'
DELETE FROM orders WHERE id = 11;
DELETE FROM orders WHERE id = 2;
DELETE FROM products WHERE id = 4;
INSERT INTO users (name, email) VALUES ('Cy', 'cy@example.com');
DELETE FROM users WHERE name = 'Cy';
SQL
settle "deletes"

export PGCQRS_REDIS="redis://127.0.0.1:$redis_port" PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=$reader_pw
query() { "$build/sidecar/pgcqrs-query" "$@"; }
check "the reader reads a user's orders after the writer's token" query user-orders 1 --after "$token" --timeout 20000
check "the rename reached the read model (sidecar applied as its ACL user)" \
  bash -c "'$build/sidecar/pgcqrs-query' order 1 --after '$token2' --timeout 20000 --json | grep -q '\"user_name\":\"Ada L\"'"
check "the product rename reached the order's items (its fan-out reads product_orders)" \
  bash -c "'$build/sidecar/pgcqrs-query' order 1 --json | grep -q '\"product_name\":\"Fountain pen\"'"
QUERY=$build/sidecar/pgcqrs-query
source "$(dirname "$0")/query_checks.sh"
check "the reader ranks the products as the write model does, merged from their buckets" \
  same_top 100 --after "$token2" --timeout 20000
check "the reader's best 2 products are the write model's" same_top 2 --after "$token2" --timeout 20000
# Ada has 10 orders left: make it 11, past the page, and read them through the fallback.
sql -c "SELECT place_order(1, '[{\"product_id\": 3, \"quantity\": 1}]')"
token3=$(psql -qAt -c "SELECT write_token()")
check "the reader reads the 10 orders of Ada's page" same_orders 1 10 --after "$token3" --timeout 20000
check "past user_latest's 10 orders the reader reads under WATCH, without a script (11 of 11)" \
  same_orders 1 20 --after "$token3" --timeout 20000
settle "an eleventh order"
check "the sidecar reports healthy on loopback" bash -c "exec 3<>/dev/tcp/127.0.0.1/$http_port && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && grep -q ok <&3"
heartbeats() {
  exec 3<>"/dev/tcp/127.0.0.1/$http_port" || return 1
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk '/^pgcqrs_heartbeats_total/ {print $2}' <&3
}
wait_heartbeat() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(heartbeats 2>/dev/null || echo 0)" -ge 1 ] 2>/dev/null && return 0
    sleep 0.2
  done
  grep -i heartbeat "$run_dir/sidecar.log" | tail -3
  return 1
}
check "the idle heartbeat works as the limited role" wait_heartbeat
# The slot's retained WAL (pg_replication_slots, pg_current_wal_lsn()) is read as that role:
# a refused query would leave the series out of /metrics.
retained_bytes() {
  exec 3<>"/dev/tcp/127.0.0.1/$http_port" || return 1
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk '/^pgcqrs_slot_wal_retained_bytes / {print $2}' <&3
}
wait_retained() {
  local deadline=$((SECONDS + 30)) v
  while [ $SECONDS -lt $deadline ]; do
    v=$(retained_bytes 2>/dev/null)
    [ -n "$v" ] && [ "$v" -gt 0 ] && return 0
    sleep 0.2
  done
  echo "pgcqrs_slot_wal_retained_bytes is '$v'"; grep -i 'WAL retained' "$run_dir/sidecar.log" | tail -3
  return 1
}
check "the slot's retained WAL is read as the limited role" wait_retained
check "status works with the sidecar's credentials" env PGPASSWORD=$sidecar_pg_pw \
  PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=pgcqrs_sidecar dbname=postgres" \
  PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD_FILE=$run_dir/redis-password \
  "$build/sidecar/pgcqrs-sidecar" status
check "verify works with the sidecar's credentials" env PGPASSWORD=$sidecar_pg_pw \
  PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=pgcqrs_sidecar dbname=postgres" \
  PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD_FILE=$run_dir/redis-password \
  "$build/sidecar/pgcqrs-sidecar" verify

# ...and nothing more.
sidecar_psql() { PGPASSWORD=$sidecar_pg_pw psql -qAt -h 127.0.0.1 -p "$PGPORT" -U pgcqrs_sidecar -d postgres -c "$1"; }
refused "the sidecar's role cannot write the write model" "permission denied" sidecar_psql "INSERT INTO users (name, email) VALUES ('x', 'x@x')"
refused "the sidecar's role cannot read other tables" "permission denied" sidecar_psql "SELECT * FROM payroll"
refused "the sidecar's role cannot create objects" "permission denied" sidecar_psql "CREATE TABLE public.mine (x int)"
refused "the sidecar's role gets no physical replication connection" "no pg_hba.conf entry for replication connection" \
  env PGPASSWORD=$sidecar_pg_pw "$PGCQRS_PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U pgcqrs_sidecar -D "$run_dir/basebackup" -Ft
refused "a role without the grant cannot emit messages" "permission denied for function pg_logical_emit_message" \
  psql -qAt -c "CREATE ROLE pgcqrs_nobody LOGIN" -c "SET ROLE pgcqrs_nobody" -c "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"Forged\"}')"
refused "a wrong password is refused" "password authentication failed" \
  env PGPASSWORD=wrong psql -qAt -h 127.0.0.1 -p "$PGPORT" -U pgcqrs_sidecar -d postgres -c "SELECT 1"
side() { rc --user pgcqrs-sidecar --pass "$sidecar_redis_pw" "$@"; }
refused "the sidecar's Redis user cannot write other keys" "NOPERM" side SET session:1 x
refused "the sidecar's Redis user cannot flush" "NOPERM" side FLUSHALL
refused "the sidecar's Redis user cannot reconfigure Redis" "NOPERM" side CONFIG SET maxmemory-policy allkeys-lru
refused "the sidecar's Redis user cannot touch other keys from a script" "can.t access at least one of the keys|No permissions to access a key|NOPERM" \
  side EVAL "return redis.call('HSET', 'session:1', 'a', 'b')" 0
reader() { rc --user pgcqrs-reader --pass "$reader_pw" "$@"; }
refused "the reader cannot write a read model" "NOPERM" reader HSET "order_details:{1}:1" total 0
refused "the reader cannot delete" "NOPERM" reader DEL "user:{1}:1"
refused "the reader cannot run write scripts" "NOPERM" reader EVAL "return redis.call('DEL', 'user:{1}:1')" 0
refused "the reader cannot run a script, even a read-only one" "NOPERM" \
  reader EVAL_RO "return redis.call('DEL', 'user:{1}:1')" 0
refused "the reader cannot read auxiliary keys" "NOPERM" reader ZRANGE "product_orders:{1}:1" 0 -1
refused "anonymous access is refused" "NOAUTH|NOPERM|WRONGPASS|noauth" rc GET pgcqrs:checkpoint

# Secrets never reach argv or logs.
check "no password on the sidecar's command line" \
  bash -c "! tr '\0' ' ' </proc/$sidecar/cmdline | grep -qE '$sidecar_pg_pw|$sidecar_redis_pw'"
check "no password in the sidecar's log" bash -c "! grep -qE '$sidecar_pg_pw|$sidecar_redis_pw' '$log'"
# loopback_only: the sidecar listens (ss, from iproute2: scripts/install-deps.sh), and only
# on 127.0.0.1.
loopback_only() {
  local sockets
  sockets=$(ss -Hltnp) || return 1
  sockets=$(grep "pid=$sidecar," <<<"$sockets") || { echo "ss shows no listening socket of the sidecar (pid $sidecar)"; return 1; }
  if grep -v '127\.0\.0\.1:' <<<"$sockets"; then return 1; fi
}
check "the sidecar listens on loopback only" loopback_only
check "the sidecar ran throughout" alive
check "nothing rebuilt, marked dirty or refused to the end (sidecar log)" pgcqrs_log_check "$log"

echo "least privilege: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
