#!/usr/bin/env bash
# Two pipelines in one Redis (docs/operations.md, "Sharing one Redis"): two sidecars follow
# two slots of one database, with the key prefixes a: and b:, beside keys of another
# application (some named like the read models). Each runs as a Redis user whose ACL is
# docs/security.md's with every key pattern and the channel under its prefix, so a key or a
# publish outside it would be refused. Both models equal the write model (verify with the
# prefix); pgcqrs-query reads and waits for a write token under a prefix; a rebuild of a:
# deletes and copies a:'s keys only, a rebuild of b: asked for while it runs switches b:'s
# readers to a new generation and leaves a:'s keys; every key in Redis is a:'s, b:'s or the other
# application's, which are unchanged; a prefix that needs escaping is refused.
#   tests/e2e/key_prefix.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/checks.sh
build=$(cd "${1:-build}" && pwd)
sidecar_bin=$build/sidecar/pgcqrs-sidecar
query_bin=$build/sidecar/pgcqrs-query

run_dir=$(mktemp -d /tmp/pgcqrs-key-prefix.XXXXXX)
sidecar_a= sidecar_b=
stop_sidecars() {
  local pid
  for pid in $sidecar_a $sidecar_b; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  return 0
}
trap 'stop_sidecars; pgcqrs_servers_remove "$run_dir"' EXIT

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir"
port=$PGCQRS_REDIS_PORT
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcqrs" >/dev/null
conninfo="host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres"
rc() { redis-cli -p "$port" --no-auth-warning "$@"; }
admin_pw=ad-$RANDOM$RANDOM
rc ACL SETUSER admin on ">$admin_pw" '~*' '&*' '+@all' >/dev/null
admin() { rc --user admin --pass "$admin_pw" "$@"; }

# The users of docs/security.md under a prefix: the prefix goes after every ~ and & .
acl_under() {  # acl_under USER PREFIX NEW_USER PASSWORD
  local line words
  line=$(awk -v user="$1" '/^```redis$/ { block = 1; next } /^```/ { block = 0 }
                            block && $1 == "ACL" && $2 == "SETUSER" && $3 == user' docs/security.md)
  line=${line//>PASSWORD/>$4}
  line=${line// ~/ ~$2}
  line=${line// &/ &$2}
  read -r -a words <<<"${line/SETUSER $1 /SETUSER $3 }"
  [ "$(admin "${words[@]}")" = OK ] || { echo "ACL of $3 refused: ${words[*]}"; exit 1; }
}
for p in a b; do
  acl_under pgcqrs-sidecar "$p:" "sidecar-$p" "pw-$p"
  acl_under pgcqrs-reader "$p:" "reader-$p" "rpw-$p"
done
admin ACL SETUSER default off >/dev/null

# Another application's keys, some with read-model names (of layout 4 and of older ones), and
# one under a longer prefix.
admin HSET user:1 name other-app >/dev/null
admin SET order_details:1 other-app >/dev/null
admin SET top_products other-app >/dev/null
admin HSET "user:{1}:1" name other-app >/dev/null
admin SET "top_products:{1}" other-app >/dev/null
admin SET pgcqrs:checkpoint other-app >/dev/null
admin SADD c:pgcqrs:users 99 >/dev/null
foreign() { admin --scan | grep -vE '^(a|b):' | sort | while read -r k; do echo "$k $(admin TYPE "$k")"; done; }
foreign_before=$(foreign)

http_a=$(pgcqrs_free_port)
start() {  # start PREFIX: the sidecar of the prefix, as its Redis user (a: serves /metrics)
  local http=()
  [ "$1" = a ] && http=(--http "127.0.0.1:$http_a")
  "$sidecar_bin" run --pg "$conninfo" --redis "redis://sidecar-$1:pw-$1@127.0.0.1:$port" --slot "slot_$1" \
    --key-prefix "$1:" --heartbeat-interval 1 --fanout-budget 3 "${http[@]}" >>"$run_dir/sidecar-$1.log" 2>&1 &
  printf -v "sidecar_$1" %s $!
}
# applied PREFIX: the prefix's checkpoint has reached the server's WAL position now, unmarked.
applied() {
  local target cp dirty
  target=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
  { read -r cp; read -r dirty; } < <(admin HMGET "$1:pgcqrs:checkpoint" lsn dirty)
  [ -n "$cp" ] && [ -z "$dirty" ] && [ "$(psql -qAt -c "SELECT '$cp'::pg_lsn >= '$target'::pg_lsn")" = t ]
}
verify() {  # verify PREFIX: the oracle, as the prefix's sidecar user
  "$sidecar_bin" verify --pg "$conninfo" --redis "redis://sidecar-$1:pw-$1@127.0.0.1:$port" --key-prefix "$1:" \
    >"$run_dir/verify-$1.out" 2>&1
}
both_equal() {  # both_equal WHAT
  local p
  for p in a b; do
    wait_for 60 "$1: $p: caught up" applied "$p" || continue
    if verify "$p"; then ok; else fail "$1: verify $p: $(tail -3 "$run_dir/verify-$p.out")"; fi
  done
}
query() {  # query PREFIX ARGS...: pgcqrs-query as the prefix's reader
  PGCQRS_REDIS_PASSWORD=rpw-$1 "$query_bin" "${@:2}" --redis "redis://127.0.0.1:$port" --redis-user "reader-$1" \
    --key-prefix "$1:"
}

psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Bob', 'bob@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50), ('Ink', 2.25);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]') FROM generate_series(1, 4);
SELECT place_order(2, '[{"product_id": 2, "quantity": 3}]');
SQL
start a
start b
both_equal "the copy"

# Changes of every kind, fan-outs past the budget included.
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
UPDATE orders SET status = 'cancelled' WHERE id = 2;
UPDATE users SET name = 'Ada L.' WHERE id = 1;
UPDATE products SET name = 'Fountain pen' WHERE id = 1;
DELETE FROM orders WHERE id = 5;
SELECT place_order(2, '[{"product_id": 1, "quantity": 1}]');
SQL
both_equal "the stream"
out=$(query a order 3 --json 2>&1 || true)
if [[ $out == *'"user_name":"Ada L."'* ]]; then ok; else fail "pgcqrs-query order 3 under a: printed: $out"; fi
if query c order 3 >/dev/null 2>&1; then fail "order 3 found under the prefix c:"; else ok; fi

# Read-your-writes under a prefix: the wait subscribes to a:'s channel, the only one reader-a may.
token=$(psql -qAt -c "SELECT place_order(1, '[{\"product_id\": 2, \"quantity\": 5}]')" -c "SELECT write_token()" | tail -1)
out=$(query a user-orders 1 --limit 1 --after "$token" --timeout 20000 --json 2>&1 || true)
if [[ $out == *'"quantity":5'* ]]; then ok; else fail "pgcqrs-query --after under a: printed: $out"; fi

# A rebuild of a: (its checkpoint deleted while it is stopped) deletes and copies a:'s keys only.
both_equal "before the rebuild"
# b:'s keys, each with its value (b:'s checkpoint moves on with the heartbeats: left out).
b_keys() { admin --scan --pattern 'b:*' | grep -vx 'b:pgcqrs:checkpoint' | sort | while read -r k; do
  admin DUMP "$k" | od -An -tx1 | tr -d ' \n'; echo " $k"; done; }
b_before=$(b_keys)
kill "$sidecar_a" && wait "$sidecar_a" 2>/dev/null || true
sidecar_a=
admin DEL a:pgcqrs:checkpoint >/dev/null
admin SET a:stale-not-ours x >/dev/null  # under the prefix but no read-model name: kept
start a
both_equal "after the rebuild"
if grep -q "rebuilding" "$run_dir/sidecar-a.log"; then ok; else fail "sidecar a: no rebuild in its log"; fi
# The rebuild's copy, on /metrics: done, every row of the snapshot copied (7 orders, one deleted).
metrics=$(curl -sf "http://127.0.0.1:$http_a/metrics" || true)
for want in 'pgcqrs_copy_running 0' 'pgcqrs_copy_rows{table="orders"} 6' 'pgcqrs_copy_rows_expected{table="orders"} 6' \
            'pgcqrs_copy_rows{table="users"} 2' 'pgcqrs_copy_seconds_left 0'; do
  if grep -qxF "$want" <<<"$metrics"; then ok; else fail "/metrics after the rebuild lacks: $want"; fi
done
b_after=$(b_keys)
if [ -n "$b_before" ] && [ "$b_before" = "$b_after" ]; then ok; else fail "b:'s keys changed during a:'s rebuild"; fi
if [ "$(admin GET a:stale-not-ours)" = x ]; then ok; else fail "the rebuild of a: deleted a:stale-not-ours"; fi
admin DEL a:stale-not-ours >/dev/null

# A rebuild of b: asked for while it runs (as b:'s sidecar user) writes b:'s next generation
# beside the one its readers read, switches them, deletes the old one, and leaves a:'s keys.
a_keys() { admin --scan --pattern 'a:*' | grep -vx 'a:pgcqrs:checkpoint' | sort | while read -r k; do
  admin DUMP "$k" | od -An -tx1 | tr -d ' \n'; echo " $k"; done; }
a_before=$(a_keys)
out=$(PGCQRS_REDIS_PASSWORD=pw-b "$sidecar_bin" rebuild --redis "redis://127.0.0.1:$port" --redis-user sidecar-b \
  --key-prefix b: 2>&1) || true
if [[ $out == "rebuild asked for at "* ]]; then ok; else fail "pgcqrs-sidecar rebuild --key-prefix b: printed: $out"; fi
switched_b() { [ "$(admin HMGET b:pgcqrs:checkpoint generation retired | tr '\n' ' ')" = "1  " ]; }
wait_for 60 "b: reads generation 1" switched_b && ok
both_equal "after the rebuild of b:"
if [ "$(a_keys)" = "$a_before" ]; then ok; else fail "a:'s keys changed during b:'s rebuild"; fi
if [ "$(admin --scan --pattern 'b:order_details:*' | wc -l)" = 0 ]; then ok; else fail "b:'s generation 0 is left"; fi
out=$(query b order 3 --json 2>&1 || true)
if [[ $out == *'"user_name":"Ada L."'* ]]; then ok; else fail "pgcqrs-query order 3 under b: generation 1 printed: $out"; fi

# Nothing was written outside the two prefixes, and the other application's keys are as they were.
if [ "$(foreign)" = "$foreign_before" ] && [ "$(admin HGET user:1 name)" = other-app ] &&
   [ "$(admin GET order_details:1)" = other-app ] && [ "$(admin GET pgcqrs:checkpoint)" = other-app ] &&
   [ "$(admin HGET "user:{1}:1" name)" = other-app ] && [ "$(admin GET "top_products:{1}")" = other-app ]; then ok
else fail "keys outside a: and b: changed: $(foreign | head -10)"; fi
if [ "$(admin --scan --pattern 'a:order_details:*' | wc -l)" = 6 ] && [ "$(admin --scan --pattern 'b:g1:order_details:*' | wc -l)" = 6 ]; then ok
else fail "expected 6 orders under each prefix"; fi

# A prefix that would need an escape in a SCAN or ACL pattern is refused at start.
out=$("$sidecar_bin" run --pg "$conninfo" --redis "redis://127.0.0.1:$port" --key-prefix 'a*' 2>&1) && rc_=0 || rc_=$?
if [ "$rc_" = 2 ] && [[ $out == *"--key-prefix \"a*\" holds '*'"* ]]; then ok; else fail "--key-prefix 'a*': exit $rc_: $out"; fi

checks_done key_prefix
