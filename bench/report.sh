#!/usr/bin/env bash
# Writes docs/benchmarks.md and docs/bench-*.png from the results bench/run.sh left in
# bench/out (and the variables it exports). The hand-written analysis (profiles, what was
# changed or is recommended) comes from bench/notes.md and is appended as is.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
doc=docs/benchmarks.md
# Run alone, it reads the figures of the last bench/run.sh.
[ -n "${suite_secs:-}" ] || source "$out/vars.sh"

f1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
f0() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
passfail() { if awk "BEGIN { exit !($1) }"; then echo "**pass**"; else echo "**fail**"; fi; }

# --- decode and stream ---
changes=$(cat "$out/decode.tsv.changes")
dec() { awk -F'\t' -v n="$1" -v m="$2" -v f="$3" '$1 == n && $2 == m { print $f }' "$out/decode.tsv"; }
decode_table() {
  echo "| plugin | mode | seconds, median (min-max) | row changes/s | MB out | pgcqrs speed vs this |"
  echo "|---|---|---|---|---|---|"
  local mode name ours
  for mode in peek stream; do
    ours=$(dec pgcqrs $mode 3)
    while IFS=$'\t' read -r name m med lo hi cps bytes; do
      [ "$m" = "$mode" ] || continue
      awk -v n="$name" -v m="$mode" -v med="$med" -v lo="$lo" -v hi="$hi" -v cps="$cps" -v by="$bytes" -v ours="$ours" 'BEGIN {
        printf "| %s | %s | %.3f (%.3f-%.3f) | %.0f | %.1f | %.2fx |\n", n,
          (m == "peek" ? "peek (SQL)" : "stream (pg_recvlogical)"), med, lo, hi, cps, by / 1048576, med / ours }'
    done <"$out/decode.tsv"
  done
}
{
  for name in pgcqrs pgcqrs-msg wal2json-1 wal2json-2 pgoutput test_decoding; do
    echo "$name $(dec $name peek 6) $(dec $name stream 6)"
  done
} >"$out/decode.dat"
stream_ours=$(dec pgcqrs stream 3)
stream_w1=$(dec wal2json-1 stream 3)
stream_w2=$(dec wal2json-2 stream 3)
stream_pgo=$(dec pgoutput stream 3)
stream_best_peer=$(printf '%s\n' "$stream_w1" "$stream_w2" "$stream_pgo" | sort -g | head -1)

# --- write cost ---
wc_get() { awk -F'\t' -v c="$1" -v s="$2" -v f="$3" '$1 == c && $2 == s { print $f }' "$out/write.tsv"; }
write_table() {
  echo "| writer configuration | plain SQL TPS, median (min-max) | vs no slot | place_order TPS, median (min-max) | vs no slot |"
  echo "|---|---|---|---|---|"
  local config
  for config in "no slot" "pipeline running" "sync trigger"; do
    printf "| %s | %s (%s-%s) | %s | %s (%s-%s) | %s |\n" "$config" \
      "$(f0 "$(wc_get "$config" plain 3)")" "$(f0 "$(wc_get "$config" plain 4)")" "$(f0 "$(wc_get "$config" plain 5)")" \
      "$(ratio "$(wc_get "$config" plain 3)" "$(wc_get "no slot" plain 3)")" \
      "$(f0 "$(wc_get "$config" place_order 3)")" "$(f0 "$(wc_get "$config" place_order 4)")" "$(f0 "$(wc_get "$config" place_order 5)")" \
      "$(ratio "$(wc_get "$config" place_order 3)" "$(wc_get "no slot" place_order 3)")"
  done
}
{
  for config in "no slot" "pipeline running" "sync trigger"; do
    echo "\"$config\" $(wc_get "$config" plain 3) $(wc_get "$config" place_order 3)"
  done
} >"$out/write.dat"

# --- end to end ---
e2e_stat() {  # level column -> "median min max"
  local vals
  mapfile -t vals < <(awk -F'\t' -v l="$1" -v c="$2" '$1 == l { print $c }' "$out/e2e_runs.tsv")
  source bench/lib.sh
  bench_stats "${vals[@]}"
}
fmt3() { awk '{ printf "%.1f (%.1f-%.1f)", $1, $2, $3 }'; }
e2e_table() {
  echo "| load | target TPS | achieved TPS | latency p50 ms | latency p99 ms | latency max ms | sidecar CPU % | Redis CPU % | lag at end of load, bytes |"
  echo "|---|---|---|---|---|---|---|---|---|"
  local level
  for level in 50 100; do
    printf "| %s%% of ceiling | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$level" \
      "$(awk -F'\t' -v l="$level" '$1 == l { print $3; exit }' "$out/e2e_runs.tsv")" \
      "$(e2e_stat $level 4 | awk '{ printf "%.0f (%.0f-%.0f)", $1, $2, $3 }')" \
      "$(e2e_stat $level 6 | fmt3)" "$(e2e_stat $level 7 | fmt3)" "$(e2e_stat $level 8 | fmt3)" \
      "$(e2e_stat $level 10 | fmt3)" "$(e2e_stat $level 12 | fmt3)" "$(e2e_stat $level 11 | awk '{ printf "%.0f (%.0f-%.0f)", $1, $2, $3 }')"
  done
}
{
  for level in 50 100; do
    echo "\"${level}% load\" $(e2e_stat $level 6 | cut -d' ' -f1) $(e2e_stat $level 7 | cut -d' ' -f1) $(e2e_stat $level 8 | cut -d' ' -f1)"
  done
} >"$out/e2e.dat"
max_latency_100=$(e2e_stat 100 8 | cut -d' ' -f3)
timeouts=$(awk -F'\t' '{ s += $9 } END { print s + 0 }' "$out/e2e_runs.tsv")

# --- drain ---
source bench/lib.sh
# shellcheck disable=SC2086
read -r recv_med recv_min recv_max <<<"$(bench_stats $recv_times_list)"
drain_orders_s=$(awk -v n="$backlog_orders" -v s="$drain_secs" 'BEGIN { printf "%.0f", n / s }')
drain_events_s=$(awk -v n="$backlog_events" -v s="$drain_secs" 'BEGIN { printf "%.0f", n / s }')
# The initial copy, from the sidecar's start to its checkpoint (the new slot and the copy).
copy_orders_s=$(awk -v n="$orders_now" -v s="$snapshot_secs" 'BEGIN { printf "%.0f", n / s }')
recv_events_s=$(awk -v n="$backlog_events" -v s="$recv_med" 'BEGIN { printf "%.0f", n / s }')
recv_orders_s=$(awk -v n="$backlog_orders" -v s="$recv_med" 'BEGIN { printf "%.0f", n / s }')
{
  echo "\"write ceiling\" $ceiling"
  echo "\"sidecar drain\" $drain_orders_s"
  echo "\"pg\\\\_recvlogical\" $recv_orders_s"
} >"$out/drain.dat"

# --- reads ---
rd() { awk -F'\t' -v m="$1" -v t="$2" -v f="$3" '$1 == m && $2 == t { print $f }' "$out/reads.tsv"; }
reads_table() {
  echo "| source | clients | queries/s, median (min-max) | p50 ms | p99 ms, median (min-max) | rows per page |"
  echo "|---|---|---|---|---|---|"
  local t m b label
  for t in 1 "$clients"; do
    for m in redis-latest redis-lua redis sql redis-latest@unix sql@unix; do
      case $m in
        redis-latest@unix) label="Redis over a Unix socket: LRANGE user_latest" ;;
        sql@unix) label="SQL JOIN (prepared) over a Unix socket" ;;
        redis-latest) label="Redis: LRANGE user_latest, what pgcqrs-query sends for up to 10 orders (1 command)" ;;
        redis) label="Redis: ZREVRANGE, then 10 HGETALL pipelined, the reads pgcqrs-query sends past 10 orders (2 round trips)" ;;
        redis-lua) label="Redis: the same reads in a read-only script, which pgcqrs-query does not send (1 round trip)" ;;
        sql) label="SQL JOIN (prepared)" ;;
      esac
      printf "| %s | %s | %.0f (%.0f-%.0f) | %.3f | %.3f (%.3f-%.3f) | %s |\n" "$label" "$t" \
        "$(rd $m "$t" 3)" "$(rd $m "$t" 4)" "$(rd $m "$t" 5)" "$(rd $m "$t" 6)" "$(rd $m "$t" 9)" "$(rd $m "$t" 10)" "$(rd $m "$t" 11)" "$(rd $m "$t" 12)"
    done
    # In bold: the path pgcqrs-query takes, the one the reads bar is measured on.
    for m in redis-latest redis-lua redis; do
      b=
      case $m in
        redis-latest) label="ratio Redis (user_latest, pgcqrs-query) / SQL" b="**" ;;
        redis) label="ratio Redis (2 round trips) / SQL" ;;
        redis-lua) label="ratio Redis (script) / SQL" ;;
      esac
      printf "| %s%s%s | %s | %s%s%s throughput | | %s%s%s lower p99 | |\n" "$b" "$label" "$b" "$t" \
        "$b" "$(ratio "$(rd $m "$t" 3)" "$(rd sql "$t" 3)")" "$b" "$b" "$(ratio "$(rd sql "$t" 9)" "$(rd $m "$t" 9)")" "$b"
    done
    printf "| **ratio Redis (user_latest) / SQL, both over Unix sockets** | %s | **%s** throughput | | **%s** lower p99 | |\n" "$t" \
      "$(ratio "$(rd redis-latest@unix "$t" 3)" "$(rd sql@unix "$t" 3)")" "$(ratio "$(rd sql@unix "$t" 9)" "$(rd redis-latest@unix "$t" 9)")"
  done
}
# The round trip alone over each transport (1 client): what no read can go below.
floor_table() {
  echo "| round trip alone, 1 client | p50 ms | p99 ms, median (min-max) |"
  echo "|---|---|---|"
  local m
  for m in redis-ping sql-ping redis-ping@unix sql-ping@unix; do
    printf "| %s | %.3f | %.3f (%.3f-%.3f) |\n" "$(sed 's/redis-ping/Redis PING/; s/sql-ping/PostgreSQL prepared SELECT 1/; s/@unix/, Unix socket/' <<<"$m")" \
      "$(rd $m 1 6)" "$(rd $m 1 9)" "$(rd $m 1 10)" "$(rd $m 1 11)"
  done
}
{
  for t in 1 "$clients"; do
    echo "\"$t client(s)\" $(rd redis-latest "$t" 3) $(rd redis-lua "$t" 3) $(rd redis "$t" 3) $(rd sql "$t" 3)"
  done
} >"$out/reads.dat"
# The reads bar is measured on redis-latest: the path pgcqrs-query takes for the 10-latest page.
read_q_ratio=$(awk -v a="$(rd redis-latest "$clients" 3)" -v b="$(rd sql "$clients" 3)" 'BEGIN { printf "%.2f", a / b }')
read_p99_ratio=$(awk -v a="$(rd sql 1 9)" -v b="$(rd redis-latest 1 9)" 'BEGIN { printf "%.2f", a / b }')
read_q_ratio1=$(awk -v a="$(rd redis-latest 1 3)" -v b="$(rd sql 1 3)" 'BEGIN { printf "%.2f", a / b }')
read_p99_ratio_n=$(awk -v a="$(rd sql "$clients" 9)" -v b="$(rd redis-latest "$clients" 9)" 'BEGIN { printf "%.2f", a / b }')
read_q_ratio_unix=$(awk -v a="$(rd redis-latest@unix "$clients" 3)" -v b="$(rd sql@unix "$clients" 3)" 'BEGIN { printf "%.2f", a / b }')
read_p99_ratio_unix=$(awk -v a="$(rd sql@unix 1 9)" -v b="$(rd redis-latest@unix 1 9)" 'BEGIN { printf "%.2f", a / b }')
ping_p99_tcp=$(rd redis-ping 1 9)

# --- plots ---
plots=""
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF

set terminal pngcairo size 900,480 noenhanced font ",10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top right
set yrange [0:*]

set output "docs/bench-decode.png"
set title "Decode and stream: row changes per second (higher is better; median of $decode_runs runs)"
set ylabel "row changes / s"
plot "$out/decode.dat" using 2:xtic(1) title "peek (SQL)", "" using 3 title "stream (pg_recvlogical)"

set output "docs/bench-write.png"
set title "Write cost: order-placing TPS, $clients clients (higher is better; median of $runs runs)"
set ylabel "transactions / s"
plot "$out/write.dat" using 2:xtic(1) title "plain SQL", "" using 3 title "place_order()"

set output "docs/bench-drain.png"
set title "Backlog of $backlog_events events: orders per second"
set ylabel "orders / s"
plot "$out/drain.dat" using 2:xtic(1) title "orders/s"

set logscale y
set yrange [0.1:*]
set output "docs/bench-e2e.png"
set title "Commit-to-visible-in-Redis latency (log scale; median of $runs runs)"
set ylabel "ms"
plot "$out/e2e.dat" using 2:xtic(1) title "p50", "" using 3 title "p99", "" using 4 title "max"

set yrange [100:*]
set output "docs/bench-reads.png"
set title "10 latest orders with items and names: queries per second (log scale)"
set ylabel "queries / s"
plot "$out/reads.dat" using 2:xtic(1) title "Redis, user_latest (pgcqrs-query)", "" using 3 title "Redis, script", \
  "" using 4 title "Redis, 2 round trips", "" using 5 title "SQL JOIN"
EOF
  plots=yes
fi

# --- bars ---
bar_lag=$(passfail "$max_latency_100 < 5000 && $timeouts == 0")
bar_drain3=$(passfail "$drain_orders_s >= 3 * $ceiling")
bar_copy2=$(passfail "$copy_orders_s >= 2 * $drain_orders_s")
bar_drain_recv=$(passfail "$drain_events_s >= 0.9 * $recv_events_s")
bar_stream=$(passfail "$stream_ours <= $stream_best_peer")
bar_reads=$(passfail "$read_q_ratio >= 5 && $read_p99_ratio >= 10")
bar_reads_unix=$(passfail "$read_q_ratio_unix >= 5 && $read_p99_ratio_unix >= 10")

# The commit the suite ran on (a report rerun alone, after editing notes, keeps it).
commit=${bench_commit:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gb=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
pg_version=$(psql --version 2>/dev/null | awk '{ print $3 }')
redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')

{
cat <<EOF
# Benchmarks

Generated by \`bash bench/run.sh$([ "$quick" = 1 ] && echo " --quick")\` on $(date -u +%Y-%m-%d) at commit \`$commit\`; the suite took
$((suite_secs / 60)) min $((suite_secs % 60)) s.$([ "$quick" = 1 ] && echo " **Quick run: small sizes, not figures to publish.**")
Benchmarks print figures; they are not tests and never fail on speed.$([ "${bench_dirty:-0}" = 1 ] && echo "
The working tree had uncommitted changes under extension/, sql/ or sidecar/ when the suite built it; the figures are of that tree.")

**Noise.** The machine has 2 cores that PostgreSQL, Redis, the sidecar and the load generators
share, and other work (compilers, other test runs) may run at the same time. Every figure is the median of
$runs runs (decode: $decode_runs) with min and max beside it; compare ratios measured in the same
run rather than absolute numbers across runs.

## Machine and setup

| | |
|---|---|
| CPU | $cpu_model, $(nproc) cores |
| memory | $mem_gb GB |
| kernel | $(uname -r) |
| PostgreSQL | $pg_version (\`fsync = off\`, \`shared_buffers = 1GB\`, \`wal_level = logical\`) |
| Redis | $redis_version (no persistence, \`hash-max-listpack-value $listpack_value\` as [operations.md](operations.md) recommends, other encodings default) |
| servers | throwaway, on loopback (\`scripts/lib/servers.sh\`), started by the suite |

## How to run

<!-- test: by-hand -->
\`\`\`sh
bash scripts/install-deps.sh        # as root: adds gnuplot-nox and postgresql-15-wal2json
bash bench/run.sh                   # builds, installs the extension (as root), runs everything,
                                    # writes docs/benchmarks.md and docs/bench-*.png (~20-30 min)
bash bench/run.sh --quick           # the same at small sizes (a few minutes)
bash bench/decode_stream.sh 20000 3 # the decode/stream comparison alone
bash bench/drain.sh 60000           # the backlog drain alone: CPU per process, Redis commands
bash bench/copy.sh 1000000 50000    # the copy alone at the full profile's scale (orders, users)
bash bench/redis_floor.sh 60000     # Redis's cost of the same writes: plain, by a script, in MULTI/EXEC, per group (one Redis, a cluster)
bash bench/token_wait.sh 200        # a reader's wait for write_token() beside an open transaction
\`\`\`

Raw results stay in \`bench/out/\` (not committed).

## The bars

| bar | measured | |
|---|---|---|
| sidecar never falls behind at the write ceiling | at 100% load ($ceiling TPS target): max commit-to-visible latency $(f1 "$max_latency_100") ms (worst run), $timeouts probes timed out | $bar_lag |
| drain ≥ 3× the write ceiling (orders/s) | $drain_orders_s orders/s drained vs ceiling $ceiling TPS: $(ratio "$drain_orders_s" "$ceiling") | $bar_drain3 |
| initial copy ≥ 2× the drain (orders/s) | $copy_orders_s orders/s copied ($orders_now orders in $snapshot_secs s, from the sidecar's start to its checkpoint) vs $drain_orders_s drained: $(ratio "$copy_orders_s" "$drain_orders_s") | $bar_copy2 |
| drain within 10% of receiving the stream | sidecar $drain_events_s events/s vs \`pg_recvlogical\` to /dev/null $recv_events_s events/s: $(ratio "$drain_events_s" "$recv_events_s") | $bar_drain_recv |
| plugin streams at least as fast as wal2json and pgoutput | stream seconds: pgcqrs $(f1 "$(awk -v v="$stream_ours" 'BEGIN{print v*1000}')") ms vs fastest of wal2json-1/2, pgoutput $(f1 "$(awk -v v="$stream_best_peer" 'BEGIN{print v*1000}')") ms ($(ratio "$stream_best_peer" "$stream_ours") speed) | $bar_stream |
| reads ≥ 5× JOIN throughput and 10× lower p99 (\`LRANGE user_latest\`, what pgcqrs-query sends) | loopback TCP: throughput $read_q_ratio× ($clients clients), $read_q_ratio1× (1 client); p99 $read_p99_ratio× lower (1 client), $read_p99_ratio_n× ($clients clients); a bare \`PING\` has a p99 of $ping_p99_tcp ms here. Both over Unix sockets: throughput $read_q_ratio_unix× ($clients clients), p99 $read_p99_ratio_unix× lower (1 client) | TCP $bar_reads, Unix sockets $bar_reads_unix |
| Redis memory per order stated and small | $bytes_per_order bytes per order (all read models); order hash encoding \`$order_encoding\` | stated |

## Decode and stream

The same recorded workload ($decode_orders orders of 3 items through \`place_order\`, a status change
every 10 orders, a user rename every 100: $changes row changes) decoded by each plugin from a
slot created before it, through \`pg_logical_slot_peek_changes\` (inside the backend) and streamed
to \`pg_recvlogical\` over a TCP replication connection (a fresh copy of the slot per run).
\`pgcqrs\` is the plugin with \`framing 'transaction'\`, as the sidecar reads it: one replication
message per transaction, its events one per line; \`pgcqrs-msg\` is the default framing, one
message per \`begin\`, event and \`commit\` (the same lines). "pgcqrs speed vs this" above 1
means pgcqrs (transaction framing) is faster.

$(decode_table)

$([ -n "$plots" ] && echo "![decode and stream](bench-decode.png)")

## Write cost

\`pgbench\`, $clients clients, $pgbench_secs s per run, on the $orders-order dataset: one order of 3 items per
transaction, as plain SQL (\`INSERT\` order, \`INSERT\` 3 items) or one \`place_order()\` call.
"no slot": nothing decodes; "pipeline running": the sidecar streams the slot into Redis on the
same 2 cores; "sync trigger": row triggers maintain a denormalized \`order_read\` table (user
name and email, items JSON with product names, total) in the writer's transaction.

$(write_table)

The write ceiling used below is the median \`place_order\` TPS with the pipeline running:
**$ceiling TPS**.

$([ -n "$plots" ] && echo "![write cost](bench-write.png)")

## End to end

\`pgbench -R\` at 50% and 100% of the write ceiling for $e2e_secs s per run, with the sidecar following,
while a probe places $probe_rate orders/s of its own, takes \`write_token()\` after each commit and
waits for \`pgcqrs:applied\` to publish a checkpoint at or past it (the token can be a little past
the probe's own commit when other writers commit meanwhile, so latencies are upper bounds).
Sidecar CPU is its user+system time over the run (100% = one core). "Lag at end" is the
WAL between the server's position and the Redis checkpoint the moment the load stops.

$(e2e_table)

Sidecar peak memory (VmHWM) over the initial copy, the reads and the end-to-end runs:
$((e2e_peak_kb / 1024)) MB.

$([ -n "$plots" ] && echo "![end to end latency](bench-e2e.png)")

## Backlog drain

With the sidecar stopped, two writers committed $backlog_orders orders of 3 items, one per transaction,
and a status change for every 10th ($backlog_events events in as many transactions,
$((backlog_wal / 1048576)) MB of WAL). Then the same backlog was received from a copy of the slot by
\`pg_recvlogical\` to /dev/null ($runs runs), and finally drained by a fresh sidecar, timed from its
start until the Redis checkpoint reached the end of the backlog.

| consumer | seconds | events/s | orders/s |
|---|---|---|---|
| \`pg_recvlogical\` to /dev/null (receive only), median (min-max) | $(f1 "$recv_med") ($(f1 "$recv_min")-$(f1 "$recv_max")) | $recv_events_s | $recv_orders_s |
| pgcqrs-sidecar into Redis | $(f1 "$drain_secs") | $drain_events_s | $drain_orders_s |
| ratio sidecar / receive only | | $(ratio "$drain_events_s" "$recv_events_s") | |
| ratio drain / write ceiling ($ceiling TPS) | | | $(ratio "$drain_orders_s" "$ceiling") |

Sidecar peak memory during the drain (VmHWM of the fresh process): $((drain_peak_kb / 1024)) MB.
CPU during the drain (100% = one core): sidecar $drain_sidecar_cpu%, Redis $drain_redis_cpu%.

$([ -n "$plots" ] && echo "![drain](bench-drain.png)")

## Reads

"This user's 10 latest orders with items and names", for random users of $users (about
$((orders_now / users)) orders each) with $orders_now orders in PostgreSQL and in Redis. Redis,
as \`pgcqrs-query user-orders\` reads it: one \`LRANGE user_latest:{b}:ID 0 9\` (b: the user's
bucket, id mod 64), the page read model the projection keeps (a list of the JSON of the user's
10 newest orders, $page_bytes bytes for user 1). Past the first 10 orders pgcqrs-query sends
\`WATCH pgcqrs:checkpoint\` and \`ZREVRANGE user_orders:{b}:ID\`, then an \`HGETALL
order_details:{b}:ID\` per order, each under its order's bucket, in one \`MULTI\`/\`EXEC\`, read
again if the sidecar wrote in between (2 round trips): the plain \`ZREVRANGE\` then 10
\`HGETALL\` pipelined, measured here, are those reads without the \`WATCH\` and the transaction.
Up to layout 3, whose keys had no bucket, it sent a reader allowed \`SORT\`'s \`GET\` one \`SORT_RO
user_orders:ID BY nosort LIMIT ... DESC\` with a \`GET order_details:*->field\` per field instead
(one command), which reports of earlier runs measured; a \`GET\` pattern puts the id in place of
one \`*\` and cannot name the hashes of layout 4, whose keys carry the bucket too. The same
reads in one read-only script (\`EVAL_RO\`: \`ZREVRANGE\` and an \`HGETALL\` per order, 1 round
trip), which pgcqrs-query does not send, are measured too. SQL: one prepared statement joining
the user's 10 latest orders (index \`orders (user_id, created_at)\`) with \`users\`,
\`order_items\` and \`products\` (one row per item). The reads bar above is measured on
\`user_latest\`.
$read_secs s per run; each client is a thread with its own connection, over loopback TCP unless the
row says Unix socket (then both servers are read over their Unix sockets: an application on
the same host as Redis and PostgreSQL).

$(reads_table)

The same connections doing nothing but a round trip (\`PING\`; a prepared \`SELECT 1\`): the
floor under every read above, on this machine.

$(floor_table)

$([ -n "$plots" ] && echo "![reads](bench-reads.png)")

## Memory

| | |
|---|---|
| orders / items in the read models | $orders_now / $items_now ($users users, $products products) |
| Redis \`used_memory\` before / after the initial copy | $((redis_empty / 1048576)) MB / $((redis_full / 1048576)) MB ($redis_keys keys) |
| **Redis bytes per order** (all read models: order hash, \`user_orders\`, reverse indexes, users, products) | **$bytes_per_order** |
| one \`order_details\` hash (3 items, items JSON $items_len bytes) | $order_usage bytes, encoding \`$order_encoding\` (\`hash-max-listpack-value\` $listpack_value) |
| the same hash under Redis's default \`hash-max-listpack-value 64\` | $default_hash_usage bytes, encoding \`$default_hash_encoding\` |
| bytes per order with the default limit (estimate: the difference above per order) | $((bytes_per_order - order_usage + default_hash_usage)) |
| per order, sampled with \`MEMORY USAGE\`: \`order_details\` / \`user_orders\` / \`user_latest\` (10 per user) / \`product_orders\` (auxiliary) / users | $mem_order_details / $mem_user_orders / $mem_user_latest / $mem_product_orders / $mem_users bytes |
| \`user_orders\` / \`user\` encodings | \`$zset_encoding\` / \`$user_encoding\` |
| dataset load (bulk SQL) / sidecar initial copy | $load_secs s / $snapshot_secs s (sidecar peak $((snapshot_peak_kb / 1024)) MB) |

EOF
if [ -f bench/notes.md ]; then
  echo
  cat bench/notes.md
fi
} >"$doc"
echo "wrote $doc" >&2
