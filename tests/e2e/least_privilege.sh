#!/usr/bin/env bash
# Least privilege, working and tested (docs/security.md): the sidecar runs as a PostgreSQL
# role with REPLICATION, SELECT on the write model and pg_logical_emit_message only, reached
# through one pg_hba.conf line for its database, and as a Redis ACL user limited
# to the read-model keys; query clients use a read-only Redis ACL user; passwords come from
# the environment or files. Each can do its job and nothing more.
#   tests/e2e/least_privilege.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
build=$(cd "${1:-build}" && pwd)

run_dir=$(mktemp -d /tmp/pgcqrs-privilege.XXXXXX)
sidecar=
cleanup() {
  [ -n "$sidecar" ] && kill "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null
  pgcqrs_redis_stop "$run_dir"
  pgcqrs_pg_remove "$run_dir"
  rm -rf "$run_dir"
}
trap cleanup EXIT
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
psql -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION pgcqrs;
CREATE TABLE payroll (name text, salary int);
CREATE ROLE pgcqrs_sidecar LOGIN REPLICATION PASSWORD '$sidecar_pg_pw';
GRANT SELECT ON users, products, orders, order_items TO pgcqrs_sidecar;
REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text),
                           pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO pgcqrs_sidecar;
SQL
# One line for its database, which also admits its logical replication connection; the
# cluster's own replication lines go, so that no replication line admits it.
hba=$(pgcqrs_pg_base "$run_dir")/pg/pg_hba.conf
{ echo "host postgres pgcqrs_sidecar 127.0.0.1/32 scram-sha-256"
  grep -vE '^(local|host)[[:space:]]+replication[[:space:]]' "$hba"; } >"$hba.new"
cat "$hba.new" >"$hba" && rm "$hba.new"
psql -qAt -c "SELECT pg_reload_conf()" >/dev/null

# Redis: no anonymous access; an admin for this test, the sidecar, and a read-only reader.
rc() { redis-cli -p "$redis_port" --no-auth-warning "$@"; }
rc ACL SETUSER admin on ">$admin_pw" '~*' '&*' '+@all' >/dev/null
rc ACL SETUSER pgcqrs-sidecar on ">$sidecar_redis_pw" resetkeys \
  '~order_details:*' '~user_orders:*' '~user_latest:*' '~user:*' '~product:*' '~order_items:*' \
  '~product_orders:*' '~top_products' '~pgcqrs:*' resetchannels '&pgcqrs:applied' nocommands \
  +ping +auth +hello +select +client\|setname +config\|get +script\|load +evalsha +eval \
  +hget +hgetall +hmget +hset +hdel +del +unlink +exists +type +scan +smembers +sscan +sadd +srem \
  +zadd +zrem +zrange +zrevrange +zrevrank +lpush +rpush +ltrim +llen +publish +multi +exec +watch +unwatch >/dev/null
rc ACL SETUSER pgcqrs-reader on ">$reader_pw" resetkeys \
  '~order_details:*' '~user_orders:*' '~user_latest:*' '~user:*' '~product:*' '~top_products' \
  '~pgcqrs:checkpoint' resetchannels '&pgcqrs:applied' nocommands \
  +ping +auth +hello +lrange +sort_ro +eval_ro +hget +hgetall +zrevrange +zrange +subscribe >/dev/null
rc ACL SETUSER default off >/dev/null
admin() { rc --user admin --pass "$admin_pw" "$@"; }

# The sidecar, with every secret from the environment or a file, none on its command line.
echo -n "$sidecar_redis_pw" >"$run_dir/redis-password"
chmod 600 "$run_dir/redis-password"
http_port=$(pgcqrs_free_port)
PGPASSWORD=$sidecar_pg_pw \
PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=pgcqrs_sidecar dbname=postgres" \
PGCQRS_REDIS="redis://127.0.0.1:$redis_port" PGCQRS_REDIS_USER=pgcqrs-sidecar \
PGCQRS_REDIS_PASSWORD_FILE=$run_dir/redis-password PGCQRS_HTTP=127.0.0.1:$http_port \
PGCQRS_HEARTBEAT_INTERVAL=1 "$build/sidecar/pgcqrs-sidecar" run >"$run_dir/sidecar.log" 2>&1 &
sidecar=$!

# The application writes as itself (here the superuser); the sidecar projects.
psql -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}]');
SQL
token=$(psql -qAt -c "SELECT write_token()")
psql -qAt -c "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"Hello\"}')" >/dev/null
psql -qAt -c "UPDATE users SET name = 'Ada L' WHERE id = 1" >/dev/null
psql -qAt -c "UPDATE products SET name = 'Fountain pen' WHERE id = 1" >/dev/null
token2=$(psql -qAt -c "SELECT write_token()")

export PGCQRS_REDIS="redis://127.0.0.1:$redis_port" PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=$reader_pw
query() { "$build/sidecar/pgcqrs-query" "$@"; }
check "the reader reads a user's orders after the writer's token" query user-orders 1 --after "$token" --timeout 20000
check "the rename reached the read model (sidecar applied as its ACL user)" \
  bash -c "'$build/sidecar/pgcqrs-query' order 1 --after '$token2' --timeout 20000 --json | grep -q '\"user_name\":\"Ada L\"'"
check "the product rename reached the order's items (its fan-out reads product_orders)" \
  bash -c "'$build/sidecar/pgcqrs-query' order 1 --json | grep -q '\"product_name\":\"Fountain pen\"'"
check "the reader reads top products" query top-products
check "past user_latest's 10 orders the reader falls back to its read-only script" \
  bash -c "'$build/sidecar/pgcqrs-query' user-orders 1 --limit 20 --json | grep -q '\"user_name\":\"Ada L\"'"
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
check "status works with the sidecar's credentials" env PGPASSWORD=$sidecar_pg_pw \
  PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=pgcqrs_sidecar dbname=postgres" \
  PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD_FILE=$run_dir/redis-password \
  "$build/sidecar/pgcqrs-sidecar" status

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
refused "the reader cannot write a read model" "NOPERM" reader HSET order_details:1 total 0
refused "the reader cannot delete" "NOPERM" reader DEL user:1
refused "the reader cannot run write scripts" "NOPERM" reader EVAL "return redis.call('DEL', 'user:1')" 0
refused "the reader cannot write from a read-only script" "can't run this command|Write commands are not allowed|NOPERM" \
  reader EVAL_RO "return redis.call('DEL', 'user:1')" 0
refused "the reader cannot read auxiliary keys" "NOPERM" reader ZRANGE product_orders:1 0 -1
refused "anonymous access is refused" "NOAUTH|NOPERM|WRONGPASS|noauth" rc GET pgcqrs:checkpoint

# Secrets never reach argv or logs.
check "no password on the sidecar's command line" \
  bash -c "! tr '\0' ' ' </proc/$sidecar/cmdline | grep -qE '$sidecar_pg_pw|$sidecar_redis_pw'"
check "no password in the sidecar's log" bash -c "! grep -qE '$sidecar_pg_pw|$sidecar_redis_pw' '$run_dir/sidecar.log'"
check "the sidecar listens on loopback only" bash -c "! ss -ltnp | grep 'pid=$sidecar,' | grep -v '127.0.0.1:'"

echo "least privilege: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
