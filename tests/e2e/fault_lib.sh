# Shared by the fault tests (durability_hold.sh, redis_faults.sh, stream_faults.sh,
# oracle.sh): throwaway servers, the sidecar under test, and waits on conditions with
# deadlines. Source it after setting BUILD (the CMake build directory); it sets WORK, starts
# nothing by itself, and cleans up on exit (the sidecar, Redis, PostgreSQL, WORK).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
SIDECAR=$BUILD/sidecar/pgcqrs-sidecar
QUERY=$BUILD/sidecar/pgcqrs-query
[ -x "$SIDECAR" ] || { echo "no sidecar at $SIDECAR" >&2; exit 2; }

WORK=$(mktemp -d /tmp/pgcqrs-fault.XXXXXX)
LOG=$WORK/sidecar.log
SC_PID=
: >"$LOG"
fault_cleanup() {
  local rc=$?
  if [ -n "$SC_PID" ] && kill -0 "$SC_PID" 2>/dev/null; then kill -9 "$SC_PID" 2>/dev/null || true; fi
  [ -f "$WORK/redis/redis.pid" ] && kill -CONT "$(cat "$WORK/redis/redis.pid")" 2>/dev/null
  if [ $rc -ne 0 ]; then echo "---- sidecar log (last 40 lines)"; tail -40 "$LOG"; fi
  pgcqrs_redis_stop "$WORK"
  pgcqrs_pg_remove "$WORK"
  rm -rf "$WORK"
  exit $rc
}
trap fault_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# A documented behaviour that is broken today and reported: said loudly on every run, not
# skipped. When it is fixed, the check that calls this becomes a fail.
known_broken() { echo "KNOWN BROKEN: $*"; }
step() { echo "== $*"; }
sql() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
rc() { redis-cli -p "$PGCQRS_REDIS_PORT" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
lsn_ge() { [ "$(sql "SELECT '$1'::pg_lsn >= '$2'::pg_lsn")" == t ]; }

# Servers: PostgreSQL and Redis on loopback; extra configuration lines as arguments.
start_servers() {  # start_servers "PG_CONF_LINE;..." REDIS_CONF_LINE...
  local pg_conf=$1; shift
  local -a pg_lines=()
  [ -n "$pg_conf" ] && IFS=';' read -r -a pg_lines <<<"$pg_conf"
  pgcqrs_pg_start "$WORK" "${pg_lines[@]}"
  pgcqrs_redis_start "$WORK" "$@"
  export PGCQRS_PG="" PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_PORT"
  export PGCQRS_STATUS_INTERVAL_MS=${PGCQRS_STATUS_INTERVAL_MS:-100}
  export PGCQRS_HEARTBEAT_INTERVAL=${PGCQRS_HEARTBEAT_INTERVAL:-1}
  HTTP_PORT=$(pgcqrs_free_port)
  export PGCQRS_HTTP="127.0.0.1:$HTTP_PORT"
  sql "CREATE EXTENSION pgcqrs"
}

start_sidecar() {
  "$SIDECAR" run "$@" >>"$LOG" 2>&1 &
  SC_PID=$!
}
stop_sidecar() {  # SIGTERM: must exit 0
  local code=0
  kill -TERM "$SC_PID"
  wait "$SC_PID" || code=$?
  SC_PID=
  [ $code -eq 0 ] || fail "the sidecar exited $code on SIGTERM"
}
sidecar_alive() { kill -0 "$SC_PID" 2>/dev/null || fail "the sidecar exited on its own"; }

http_get() {  # http_get PATH: the response, headers and body (bash's /dev/tcp: no curl needed)
  exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT" || return 0
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  timeout 5 cat <&3 || true
  exec 3<&-
}
healthz() {  # prints the HTTP status of /healthz, empty when nothing answers
  http_get /healthz 2>/dev/null | head -1 | awk '{ print $2 }'
}
metric() {  # metric NAME: its value on /metrics
  http_get /metrics | tr -d '\r' | awk -v n="$1" '$1 == n { print $2 }'
}

# The log from a byte offset on, and a wait for a line matching an extended regex there.
log_size() { stat -c %s "$LOG"; }
log_since() { tail -c +$(( $1 + 1 )) "$LOG"; }
wait_log() {  # wait_log OFFSET REGEX SECONDS
  local deadline=$((SECONDS + $3))
  until log_since "$1" | grep -qE "$2"; do
    [ $SECONDS -lt $deadline ] || fail "no log line /$2/ within $3 s"
    [ -z "$SC_PID" ] || sidecar_alive
    sleep 0.05
  done
}
# Lines since OFFSET that a run without faults never writes: a rebuild, a dirty mark, a
# refused or failed call, a reconnect. The shared log check replaces this when it exists.
log_clean_since() {  # log_clean_since OFFSET WHAT
  local bad
  bad=$(log_since "$1" | grep -E ' (warning|error|critical) ' | grep -vE 'hash-max-listpack-value|no append-only file|appendfsync no' || true)
  [ -z "$bad" ] || fail "$2: unexpected log lines: $(head -3 <<<"$bad")"
}

slot_confirmed() { sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgcqrs'"; }
checkpoint() { rc HGET pgcqrs:checkpoint lsn; }
# model_key NAME: NAME in the generation readers read now (g3:order_details:{7}:7 after rebuilds).
model_key() {
  local g
  g=$(rc HGET pgcqrs:checkpoint generation)
  if [ -z "$g" ] || [ "$g" = 0 ]; then echo "$1"; else echo "g$g:$1"; fi
}

# Nothing acknowledged that Redis does not hold: the slot's confirmed position, read first,
# is never past the checkpoint read after it (the checkpoint only moves forward).
assert_not_confirmed_ahead() {
  local confirmed cp
  confirmed=$(slot_confirmed)
  cp=$(checkpoint)
  [ -z "$confirmed" ] && return 0
  [ -n "$cp" ] || fail "the slot confirmed $confirmed but Redis has no checkpoint"
  lsn_ge "$cp" "$confirmed" || fail "the slot confirmed $confirmed, past the checkpoint $cp"
}

# Waits until the checkpoint reaches the server's WAL position taken now and vouches for the
# read models (no dirty mark, no call series under way).
wait_caught_up() {  # wait_caught_up [SECONDS]
  local target cp dirty partial deadline=$((SECONDS + ${1:-60}))
  target=$(sql "SELECT pg_current_wal_lsn()")
  while :; do
    { read -r cp; read -r dirty; read -r partial; } < <(rc HMGET pgcqrs:checkpoint lsn dirty partial_lsn)
    if [ -n "$cp" ] && [ -z "$dirty" ] && [ -z "$partial" ] && lsn_ge "$cp" "$target"; then return 0; fi
    [ $SECONDS -lt $deadline ] || fail "checkpoint '$cp' did not reach $target within ${1:-60} s"
    [ -z "$SC_PID" ] || sidecar_alive
    sleep 0.05
  done
}

# The oracle: exit 0 and "0 differences".
verify_clean() {
  "$SIDECAR" verify --verify-timeout 30 >"$WORK/verify.txt" 2>&1 || { cat "$WORK/verify.txt"; fail "verify found differences"; }
  grep -qE '^verify: [0-9]+ keys expected, 0 differences' "$WORK/verify.txt" || { cat "$WORK/verify.txt"; fail "verify output"; }
}

# A small write model to project: users, products and a few orders.
seed_write_model() {  # seed_write_model USERS PRODUCTS ORDERS
  sql "INSERT INTO users (name, email) SELECT 'user ' || g, 'u' || g || '@example.com' FROM generate_series(1, $1) g"
  sql "INSERT INTO products (name, price) SELECT 'product ' || g, g * 0.25 FROM generate_series(1, $2) g"
  [ "$3" -gt 0 ] || return 0
  psql -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT place_order(1 + g % $1, jsonb_build_array(jsonb_build_object('product_id', 1 + g % $2, 'quantity', 1 + g % 3),
                                                jsonb_build_object('product_id', 1 + (g + 1) % $2, 'quantity', 2)))
FROM generate_series(1, $3) g;
SQL
}
# random_workload N SEED: N statements of every kind the projection handles but TRUNCATE,
# over the ids present, in one session.
random_workload() {
  RANDOM=$2
  local i users products p q
  users=$(sql "SELECT max(id) FROM users") products=$(sql "SELECT max(id) FROM products")
  for i in $(seq 1 "$1"); do
    p=$(( 1 + RANDOM % products )) q=$(( 1 + (p + RANDOM % (products - 1)) % products ))  # two products
    case $(( RANDOM % 10 )) in
      0|1|2|3) echo "SELECT place_order((SELECT id FROM users ORDER BY abs(id - $(( 1 + RANDOM % users ))) LIMIT 1),
                  '[{\"product_id\": $p, \"quantity\": $(( 1 + RANDOM % 4 ))}, {\"product_id\": $q, \"quantity\": 1}]');" ;;
      4) echo "UPDATE orders SET status = 'paid' WHERE id = (SELECT id FROM orders WHERE status = 'pending' ORDER BY random() LIMIT 1);" ;;
      5) echo "UPDATE orders SET status = 'cancelled' WHERE id = (SELECT id FROM orders WHERE status IN ('pending', 'paid')
                                                                   ORDER BY random() LIMIT 1);" ;;
      6) echo "UPDATE users SET name = 'user $i' WHERE id = $(( 1 + RANDOM % users ));" ;;
      7) echo "UPDATE products SET name = 'product $i', price = price + 0.25 WHERE id = $(( 1 + RANDOM % products ));" ;;
      8) echo "UPDATE order_items SET quantity = quantity + 1 WHERE (order_id, product_id) =
                 (SELECT i.order_id, i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id
                  WHERE o.status = 'pending' ORDER BY random() LIMIT 1);" ;;
      9) echo "DELETE FROM orders WHERE id = (SELECT id FROM orders ORDER BY random() LIMIT 1);" ;;
    esac
  done | psql -qAtX -v ON_ERROR_STOP=1 >/dev/null
}

place_orders() {  # place_orders N: N orders, one transaction each, in one session
  local i
  for i in $(seq 1 "$1"); do
    echo "SELECT place_order(1 + $i % 5, '[{\"product_id\": $(( 1 + i % 5 )), \"quantity\": $i}]');"
  done | psql -qAtX -v ON_ERROR_STOP=1 >/dev/null
}
