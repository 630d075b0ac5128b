#!/usr/bin/env bash
# What Redis itself spends per order on the read-model writes, with nothing else in the way:
# the writes of ORDERS new orders of 3 items (the order hash, three product_orders members and
# product counters, the user_orders entry, the user_latest push and trim, the user counters:
# 11 commands, every value already rendered) sent as plain pipelined commands by
# `redis-cli --pipe` to a throwaway Redis, RUNS times. No projection script, no reads, no
# checkpoint: the floor under any projection design on this machine, to set beside the drain
# (Redis CPU per order in bench/drain.sh). Prints Redis CPU per order and orders/s per run.
# Usage: bench/redis_floor.sh [ORDERS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

orders=${1:-60000}
runs=${2:-3}
users=5000 products=1000
run_dir=$(mktemp -d /tmp/pgcqrs-bench-floor.XXXXXX)
redis_dir=
cleanup() { [ -n "$redis_dir" ] && pgcqrs_redis_stop "$redis_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT

# The commands in RESP: the keys, shapes and sizes the projection writes for bench/drain.sh's
# backlog, with stand-in values (product ids from the order id, counters not summed).
awk -v n="$orders" -v users="$users" -v products="$products" '
function cmd(nargs, a,   s, i) {
  s = "*" nargs "\r\n"
  for (i = 1; i <= nargs; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
  printf "%s", s
}
BEGIN {
  ts = "2026-01-01T00:00:00.000000Z"
  for (o = 1; o <= n; o++) {
    u = 1 + o % users
    lsn = sprintf("0/%X", o * 1000)
    items = "["
    for (k = 0; k < 3; k++) {
      p[k] = 1 + (o * 7 + k * 331) % products
      items = items (k ? "," : "") sprintf("{\"product_id\":%d,\"product_name\":\"product %d\",\"quantity\":%d,\"unit_price\":\"%d.99\",\"line_total\":\"%d.97\"}", p[k], p[k], k + 1, p[k] % 100, p[k] % 100)
    }
    items = items "]"
    split("HSET|order_details:" o "|order_id|" o "|user_id|" u "|user_name|user " u "|user_email|user" u "@example.com|status|pending|created_at|" ts "|updated_at|" ts "|item_count|3|total|42.00|items|" items "|lsn|" lsn, a, "|")
    cmd(24, a)
    for (k = 0; k < 3; k++) {
      split("SADD|product_orders:" p[k] "|" o, a, "|"); cmd(3, a)
      split("HSET|product:" p[k] "|units_sold|" o "|revenue|" o ".00|lsn|" lsn, a, "|"); cmd(8, a)
    }
    split("ZADD|user_orders:" u "|" (1767225600000 + o) "|" o, a, "|"); cmd(4, a)
    entry = sprintf("{\"order_id\":%d,\"user_id\":%d,\"user_name\":\"user %d\",\"user_email\":\"user%d@example.com\",\"status\":\"pending\",\"created_at\":\"%s\",\"updated_at\":\"%s\",\"item_count\":3,\"total\":\"42.00\",\"items\":%s,\"lsn\":\"%s\"}", o, u, u, u, ts, ts, items, lsn)
    split("LPUSH|user_latest:" u "|" entry, a, "|"); cmd(3, a)
    split("LTRIM|user_latest:" u "|0|9", a, "|"); cmd(4, a)
    split("HSET|user:" u "|order_count|" o "|lifetime_value|" o ".00|lsn|" lsn, a, "|"); cmd(8, a)
  }
}' >"$run_dir/commands.resp"

for r in $(seq 1 "$runs"); do
  redis_dir=$run_dir/r$r
  pgcqrs_redis_start "$redis_dir"
  c0=$(bench_redis_cpu "$PGCQRS_REDIS_PORT")
  t0=$(date +%s.%N)
  redis-cli -p "$PGCQRS_REDIS_PORT" --pipe <"$run_dir/commands.resp" | grep -q "errors: 0, replies: $((orders * 11))$" ||
    { echo "redis-floor: Redis did not take all $((orders * 11)) commands" >&2; exit 1; }
  t1=$(date +%s.%N)
  c1=$(bench_redis_cpu "$PGCQRS_REDIS_PORT")
  awk -v n="$orders" -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN {
    printf "plain pipelined writes: %.2f s (%.0f orders/s); Redis CPU %.1f us per order\n", e - s, n / (e - s), 1e6 * (b - a) / n }'
  pgcqrs_redis_stop "$redis_dir"
  redis_dir=
done
