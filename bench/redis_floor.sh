#!/usr/bin/env bash
# What Redis itself spends per order on the read-model writes, with nothing else in the way:
# the writes of ORDERS new orders of 3 items (the order hash, three product_orders members and
# product counters, the user_orders entry, the user_latest push and trim, the user counters:
# 11 commands, every value already rendered) sent as plain pipelined commands by
# `redis-cli --pipe` to a throwaway Redis, RUNS times. No projection script, no reads, no
# checkpoint: the floor under any projection design on this machine, to set beside the drain
# (Redis CPU per order in bench/drain.sh). Then the same commands again, passed to a script
# that only runs them (`redis.call` for each, 90 orders per call), and in MULTI/EXEC blocks of
# 90 orders: what a projection that renders everything outside Redis would cost Redis if it
# kept one script for atomicity, or used transactions instead. Last, for Redis Cluster (issue
# "Redis Cluster"), where a transaction holds the keys of one slot only: the same 90-order
# blocks split into one MULTI/EXEC per group of keys, each with a fence (an HSET of the group's
# position), for keys grouped by their entity's id modulo B, for each B in BUCKETS (default
# "16 64 256"), and by entity (each order, user and product its own group); each key carries
# its group as its hash tag (`order_details:{5}:42`, where the plain writes carry the bucket of
# layout 4, the id modulo 64, as the projection does). The groups of ids modulo B are then sent to
# a real Redis Cluster of CLUSTER_MASTERS masters (default 3; 0: none), each group's
# transactions to the master of its slot, all masters at once: the masters' CPU per order
# summed, and the busiest master's.
# Prints Redis CPU per order and orders/s per run of each.
# Usage: bench/redis_floor.sh [ORDERS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

orders=${1:-60000}
runs=${2:-3}
read -r -a buckets <<<"${BUCKETS:-16 64 256}"
masters=${CLUSTER_MASTERS:-3}
buckets+=(0)  # 0: every entity its own group
users=5000 products=1000
run_dir=$(mktemp -d /tmp/pgcqrs-bench-floor.XXXXXX)
redis_dir=
cleanup() {
  [ -n "$redis_dir" ] && pgcqrs_redis_stop "$redis_dir"
  pgcqrs_redis_cluster_stop "$run_dir/cluster"
  rm -rf "$run_dir"
}
trap cleanup EXIT

# cluster_ranges: the running cluster's slot ranges, "first last port" by first slot. CLUSTER
# SLOTS prints one range per 5 lines without replicas (first, last, ip, port, id) and an empty
# line for each node's metadata.
cluster_ranges() {
  redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER SLOTS | grep -v '^$' | paste - - - - - |
    awk '{ print $1, $2, $4 }' | sort -n
}

# With a cluster: which master serves each group's tag, for each B ("B g master" lines; the
# masters numbered by their slot ranges, the same in every cluster this script creates).
: >"$run_dir/tag-ports"
if [ "$masters" -gt 0 ]; then
  pgcqrs_redis_cluster_start "$run_dir/cluster" "$masters" 0 >/dev/null
  cluster_ranges >"$run_dir/ranges"
  for b in "${buckets[@]}"; do
    [ "$b" = 0 ] && continue
    for ((g = 0; g < b; g++)); do echo "CLUSTER KEYSLOT {$g}"; done |
      redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" |
      awk -v b="$b" 'NR == FNR { first[NR] = $1; last[NR] = $2; port[NR] = $3; n = NR; next }
        { for (i = 1; i <= n; i++) if ($1 >= first[i] && $1 <= last[i]) print b, FNR - 1, i }' \
        "$run_dir/ranges" - >>"$run_dir/tag-ports"
  done
  pgcqrs_redis_cluster_stop "$run_dir/cluster"
  rm -rf "$run_dir/cluster"
fi

# The commands in RESP: the keys, shapes and sizes the projection writes for bench/drain.sh's
# backlog, with stand-in values (product ids from the order id, counters not summed).
# The script of the second measurement: each command as its arity and its words.
runner='local A, i = ARGV, 1
while i <= #A do
  local n = tonumber(A[i])
  redis.call(unpack(A, i + 1, i + n))
  i = i + n + 1
end
return 0'
awk -v n="$orders" -v users="$users" -v products="$products" -v plain="$run_dir/commands.resp" \
    -v scripted="$run_dir/scripted.resp" -v transactions="$run_dir/multi.resp" -v script="$runner" \
    -v bucket_list="${buckets[*]}" -v grouped="$run_dir/groups" -v tag_ports="$run_dir/tag-ports" '
function bulk(x) { return "$" length(x) "\r\n" x "\r\n" }
# Writes one command to the plain stream, adds it to the current MULTI block and to the
# block of its group for each B (entity kind and id: "o" 7), and appends it (its arity, then its
# words) to the arguments of the current script call. a[2] is the family of the key
# (order_details:), completed here with the tag and the id.
function cmd(nargs, a, kind, id,   s, i, b, g, rest) {
  rest = ""
  for (i = 3; i <= nargs; i++) rest = rest bulk(a[i])
  s = "*" nargs "\r\n" bulk(a[1]) bulk(a[2] "{" (id % 64) "}:" id) rest
  printf "%s", s > plain
  multi = multi s
  multi_cmds++
  for (b = 1; b <= nb; b++) {
    g = B[b] ? id % B[b] : kind id
    if (!((b, g) in group)) { group[b, g] = ""; group_cmds[b, g] = 0; names[b] = names[b] SUBSEP g }
    group[b, g] = group[b, g] "*" nargs "\r\n" bulk(a[1]) bulk(a[2] "{" g "}:" id) rest
    group_cmds[b, g]++
  }
  call = call bulk(nargs) substr(s, index(s, "\n") + 1)
  call_args += nargs + 1
}
function flush_call(lsn,   b, k, m, list, g, tx) {
  if (call_args == 0) return
  printf "*%d\r\n%s%s%s%s", call_args + 3, bulk("EVAL"), bulk(script), bulk("0"), call > scripted
  printf "*1\r\n%s%s*1\r\n%s", bulk("MULTI"), multi, bulk("EXEC") > transactions
  replies += multi_cmds + 2
  for (b = 1; b <= nb; b++) {
    m = split(substr(names[b], 2), list, SUBSEP)
    for (k = 1; k <= m; k++) {
      g = list[k]
      tx = "*1\r\n" bulk("MULTI") group[b, g] "*4\r\n" bulk("HSET") bulk("pgcqrs:fence:{" g "}") bulk("lsn") \
        bulk(lsn) "*1\r\n" bulk("EXEC")
      printf "%s", tx > (grouped "." B[b] ".resp")
      group_replies[b] += group_cmds[b, g] + 3
      if ((B[b], g) in port_of) {
        printf "%s", tx > (grouped "." B[b] "." port_of[B[b], g] ".resp")
        port_replies[B[b], port_of[B[b], g]] += group_cmds[b, g] + 3
      }
      delete group[b, g]; delete group_cmds[b, g]
    }
    names[b] = ""
  }
  call = ""; call_args = 0; calls++
  multi = ""; multi_cmds = 0
}
BEGIN {
  nb = split(bucket_list, B, " ")
  while ((getline line < tag_ports) > 0) { split(line, f, " "); port_of[f[1], f[2]] = f[3] }
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
    split("HSET|order_details:|order_id|" o "|user_id|" u "|user_name|user " u "|user_email|user" u "@example.com|status|pending|created_at|" ts "|updated_at|" ts "|item_count|3|total|42.00|items|" items "|lsn|" lsn, a, "|")
    cmd(24, a, "o", o)
    for (k = 0; k < 3; k++) {
      split("SADD|product_orders:|" o, a, "|"); cmd(3, a, "p", p[k])
      split("HSET|product:|units_sold|" o "|revenue|" o ".00|lsn|" lsn, a, "|"); cmd(8, a, "p", p[k])
    }
    split("ZADD|user_orders:|" (1767225600000 + o) "|" o, a, "|"); cmd(4, a, "u", u)
    entry = sprintf("{\"order_id\":%d,\"user_id\":%d,\"user_name\":\"user %d\",\"user_email\":\"user%d@example.com\",\"status\":\"pending\",\"created_at\":\"%s\",\"updated_at\":\"%s\",\"item_count\":3,\"total\":\"42.00\",\"items\":%s,\"lsn\":\"%s\"}", o, u, u, u, ts, ts, items, lsn)
    split("LPUSH|user_latest:|" entry, a, "|"); cmd(3, a, "u", u)
    split("LTRIM|user_latest:|0|9", a, "|"); cmd(4, a, "u", u)
    split("HSET|user:|order_count|" o "|lifetime_value|" o ".00|lsn|" lsn, a, "|"); cmd(8, a, "u", u)
    if (o % 90 == 0) flush_call(lsn)
  }
  flush_call(lsn)
  print calls > (scripted ".replies")
  print replies > (transactions ".replies")
  for (b = 1; b <= nb; b++) print group_replies[b] > (grouped "." B[b] ".resp.replies")
  for (k in port_replies) { split(k, f, SUBSEP); print port_replies[k] > (grouped "." f[1] "." f[2] ".resp.replies") }
}'

# measure LABEL FILE REPLIES: sends FILE to a fresh Redis and prints its cost per order.
measure() {
  local label=$1 file=$2 replies=$3 c0 c1 t0 t1
  redis_dir=$run_dir/r
  pgcqrs_redis_start "$redis_dir"
  c0=$(bench_redis_cpu "$PGCQRS_REDIS_PORT")
  t0=$(date +%s.%N)
  redis-cli -p "$PGCQRS_REDIS_PORT" --pipe <"$file" | grep -q "errors: 0, replies: $replies$" ||
    { echo "redis-floor: Redis did not take all $replies $label" >&2; exit 1; }
  t1=$(date +%s.%N)
  c1=$(bench_redis_cpu "$PGCQRS_REDIS_PORT")
  awk -v l="$label" -v n="$orders" -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN {
    printf "%s: %.2f s (%.0f orders/s); Redis CPU %.1f us per order\n", l, e - s, n / (e - s), 1e6 * (b - a) / n }'
  pgcqrs_redis_stop "$redis_dir"
  redis_dir=
  rm -rf "$run_dir/r"
}
# measure_cluster B: the groups of ids modulo B sent to a fresh cluster, each master its own
# file, all at once.
measure_cluster() {
  local b=$1 i port file c0=() c1=() t0 t1 pids=() ports=()
  pgcqrs_redis_cluster_start "$run_dir/cluster" "$masters" 0 >/dev/null
  read -r -a ports <<<"$(cluster_ranges | awk '{ printf "%s ", $3 }')"
  for i in "${!ports[@]}"; do c0[i]=$(bench_redis_cpu "${ports[i]}"); done
  t0=$(date +%s.%N)
  for i in "${!ports[@]}"; do
    port=${ports[i]}
    file=$run_dir/groups.$b.$((i + 1)).resp
    [ -f "$file" ] || continue
    { redis-cli -p "$port" --pipe <"$file" | grep -q "errors: 0, replies: $(cat "$file.replies")$" ||
        { echo "redis-floor: the master on $port did not take all of $file" >&2; exit 1; }; } &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || exit 1; done
  t1=$(date +%s.%N)
  for i in "${!ports[@]}"; do c1[i]=$(bench_redis_cpu "${ports[i]}"); done
  pgcqrs_redis_cluster_stop "$run_dir/cluster"
  rm -rf "$run_dir/cluster"
  awk -v l="same per-group transactions of ids modulo $b on a cluster of $masters masters" -v n="$orders" \
      -v a="${c0[*]}" -v b="${c1[*]}" -v s="$t0" -v e="$t1" 'BEGIN {
    k = split(a, x, " "); split(b, y, " ")
    for (i = 1; i <= k; i++) { d = y[i] - x[i]; sum += d; if (d > most) most = d }
    printf "%s: %.2f s (%.0f orders/s); masters CPU %.1f us per order summed, the busiest %.1f\n",
      l, e - s, n / (e - s), 1e6 * sum / n, 1e6 * most / n }'
}
for r in $(seq 1 "$runs"); do
  measure "plain pipelined writes" "$run_dir/commands.resp" $((orders * 11))
  measure "same writes run by a script" "$run_dir/scripted.resp" "$(cat "$run_dir/scripted.resp.replies")"
  measure "same writes in MULTI/EXEC" "$run_dir/multi.resp" "$(cat "$run_dir/multi.resp.replies")"
  for b in "${buckets[@]}"; do
    label="same writes in a MULTI/EXEC and a fence per group of ids modulo $b"
    [ "$b" = 0 ] && label="same writes in a MULTI/EXEC and a fence per entity"
    measure "$label" "$run_dir/groups.$b.resp" "$(cat "$run_dir/groups.$b.resp.replies")"
  done
  if [ "$masters" -gt 0 ]; then
    for b in "${buckets[@]}"; do [ "$b" = 0 ] || measure_cluster "$b"; done
  fi
done
