#!/usr/bin/env bash
# The benchmark suite of issue 5 in one command: starts its own PostgreSQL and Redis on
# loopback, runs every benchmark (decode and stream, write cost, end to end, drain, reads,
# memory) and writes docs/benchmarks.md with PNG plots docs/bench-*.png.
# Usage: bash bench/run.sh [--quick]
#   --quick: a small, fast version (about 3 minutes) for developing the suite; its figures are
#   not the ones to publish. Benchmarks print figures; they never fail on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

quick=0
[ "${1:-}" = --quick ] && quick=1

if [ $quick = 1 ]; then
  decode_orders=5000 decode_runs=3
  orders=50000 users=5000 products=1000
  runs=3 pgbench_secs=3 e2e_secs=6 read_secs=2 drain_events=30000
else
  decode_orders=50000 decode_runs=5
  orders=1000000 users=50000 products=1000
  runs=3 pgbench_secs=10 e2e_secs=15 read_secs=8 drain_events=1000000
fi
clients=4 probe_rate=20

out=bench/out
mkdir -p "$out"
rm -f "$out"/*.tsv "$out"/*.dat
log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }
suite_start=$SECONDS

# --- build and install ----------------------------------------------------------------------
log "building"
# What is built now is what gets measured: the commit, and whether the tree differed from it.
bench_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
bench_dirty=$(git status --porcelain -- extension sql sidecar 2>/dev/null | grep -q . && echo 1 || echo 0)
cmake -S . -B build >/dev/null
cmake --build build -j2 >/dev/null
if [ "$(id -u)" -eq 0 ]; then
  make -f Makefile.pgxs install >/dev/null 2>&1 || make -f Makefile.pgxs install
fi
sidecar_bin=build/sidecar/pgcqrs-sidecar
probe_bin=build/bench/pgcqrs-bench-latency-probe
read_bin=build/bench/pgcqrs-bench-read-bench

# --- 1. decode and stream (its own cluster) --------------------------------------------------
log "decode and stream: $decode_orders orders, $decode_runs runs per plugin and mode"
BENCH_TSV=$out/decode.tsv bash bench/decode_stream.sh "$decode_orders" "$decode_runs" >"$out/decode.md"

# --- servers for everything else --------------------------------------------------------------
run_dir=$(mktemp -d /tmp/pgcqrs-bench.XXXXXX)
sidecar_pid=
pgcqrs_remove_at_exit "$run_dir" sidecar_pid
pgcqrs_pg_start "$run_dir" "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
  "wal_sender_timeout = 0" "max_connections = 50"
# Redis as docs/operations.md recommends deploying it: hash-max-listpack-value 1024 keeps an
# order hash (its items JSON is longer than the default 64 bytes) in the compact listpack
# encoding, so memory and read figures are those of the recommended setup.
pgcqrs_redis_start "$run_dir" "hash-max-listpack-value 1024" "unixsocket $run_dir/redis.sock" "unixsocketperm 700"
redis_port=$PGCQRS_REDIS_PORT
pg_conn="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
rcli() { redis-cli -p "$redis_port" "$@"; }
sql() { psql -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# LSN "X/Y" as a number.
lsn_num() { local l=${1:-0/0}; echo $(( (16#${l%/*} << 32) | 16#${l#*/} )); }
checkpoint_lsn() { rcli HGET pgcqrs:checkpoint lsn; }
# wait_applied LSN SECONDS: until the Redis checkpoint reaches LSN.
wait_applied() {
  local target deadline=$((SECONDS + $2)) ck
  target=$(lsn_num "$1")
  while [ $SECONDS -lt $deadline ]; do
    ck=$(checkpoint_lsn)
    [ -n "$ck" ] && [ "$(lsn_num "$ck")" -ge "$target" ] && return 0
    sleep 0.05
  done
  echo "bench: Redis checkpoint did not reach $1 within $2 s" >&2
  return 1
}
sidecar_start() {
  "$sidecar_bin" run --pg "$pg_conn" --redis "redis://127.0.0.1:$redis_port" --heartbeat-interval 1 \
    >>"$out/sidecar.log" 2>&1 &
  sidecar_pid=$!
}
sidecar_stop() {
  kill -TERM "$sidecar_pid"
  wait "$sidecar_pid" || true
  sidecar_pid=
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# --- the dataset: users, products and a million orders of 3 items, bulk SQL ------------------
log "loading $orders orders of 3 items for $users users (bulk SQL)"
t0=$(date +%s.%N)
bench_load_bulk "$users" "$products" "$orders"
t1=$(date +%s.%N)
load_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "loaded in ${load_secs}s"

# --- 2. write cost: pgbench, plain SQL and place_order ------------------------------------------
cat >"$out/plain.sql" <<'EOF'
\set uid random(1, :users)
\set p1 random(1, :products)
\set p2 (:p1 % :products) + 1
\set p3 (:p2 % :products) + 1
BEGIN;
INSERT INTO orders (user_id) VALUES (:uid) RETURNING id AS oid \gset
INSERT INTO order_items (order_id, product_id, quantity) VALUES (:oid, :p1, 1), (:oid, :p2, 2), (:oid, :p3, 3);
END;
EOF
cat >"$out/place_order.sql" <<'EOF'
\set uid random(1, :users)
\set p1 random(1, :products)
\set p2 (:p1 % :products) + 1
\set p3 (:p2 % :products) + 1
SELECT place_order(:uid, format('[{"product_id":%s,"quantity":1},{"product_id":%s,"quantity":2},{"product_id":%s,"quantity":3}]', :p1, :p2, :p3)::jsonb);
EOF
# pgbench_tps SCRIPT SECONDS [extra pgbench options]: prints TPS.
pgbench_tps() {
  local script=$1 secs=$2; shift 2
  "$PGCQRS_PG_BIN/pgbench" -n -c $clients -j 2 -T "$secs" -D users=$users -D products=$products \
    -f "$out/$script.sql" "$@" >"$out/pgbench.log" 2>&1 || { cat "$out/pgbench.log" >&2; return 1; }
  awk '/^tps = / {print $3}' "$out/pgbench.log"
}
# write_cost CONFIG: RUNS runs of each script; appends "config script median min max" lines.
write_cost() {
  local config=$1 script tps
  for script in plain place_order; do
    local vals=()
    for _ in $(seq 1 $runs); do
      tps=$(pgbench_tps $script $pgbench_secs)
      vals+=("$tps")
    done
    echo -e "$config\t$script\t$(bench_stats "${vals[@]}" | tr ' ' '\t')" >>"$out/write.tsv"
    log "write cost $config $script: ${vals[*]} TPS"
  done
}
log "write cost: no slot"
write_cost "no slot"

log "write cost: trigger maintaining a denormalized read table"
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE order_read (
  order_id bigint PRIMARY KEY, user_id bigint NOT NULL, user_name text, user_email text,
  status text NOT NULL, created_at timestamptz NOT NULL, item_count int NOT NULL,
  total numeric(14,2) NOT NULL, items jsonb NOT NULL);
CREATE FUNCTION order_read_order() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  INSERT INTO order_read
    SELECT NEW.id, NEW.user_id, u.name, u.email, NEW.status, NEW.created_at, 0, 0, '[]'
      FROM users u WHERE u.id = NEW.user_id;
  RETURN NULL;
END $$;
CREATE FUNCTION order_read_item() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  UPDATE order_read r
     SET item_count = r.item_count + 1, total = r.total + NEW.quantity * NEW.unit_price,
         items = r.items || jsonb_build_object('product_id', NEW.product_id,
                   'product_name', (SELECT p.name FROM products p WHERE p.id = NEW.product_id),
                   'quantity', NEW.quantity, 'unit_price', NEW.unit_price)
   WHERE r.order_id = NEW.order_id;
  RETURN NULL;
END $$;
CREATE TRIGGER order_read_order AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION order_read_order();
CREATE TRIGGER order_read_item AFTER INSERT ON order_items FOR EACH ROW EXECUTE FUNCTION order_read_item();
SQL
write_cost "sync trigger"
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DROP TRIGGER order_read_order ON orders;
DROP TRIGGER order_read_item ON order_items;
DROP TABLE order_read;
DROP FUNCTION order_read_order(), order_read_item();
SQL

# --- 3. the pipeline: the sidecar's initial copy of the whole dataset -------------------------
redis_empty=$(rcli INFO memory | awk -F: '/^used_memory:/ { sub(/\r/, "", $2); print $2 }')
orders_now=$(sql "SELECT count(*) FROM orders")
items_now=$(sql "SELECT count(*) FROM order_items")
log "starting the sidecar: initial copy of $orders_now orders"
t0=$(date +%s.%N)
sidecar_start
target=$(sql "SELECT pg_current_wal_lsn()")
wait_applied "$target" 1800
t1=$(date +%s.%N)
snapshot_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
snapshot_peak_kb=$(peak_kb "$sidecar_pid")
log "initial copy done in ${snapshot_secs}s"

# --- 4. memory: Redis bytes per order ----------------------------------------------------------
redis_full=$(rcli INFO memory | awk -F: '/^used_memory:/ { sub(/\r/, "", $2); print $2 }')
redis_keys=$(rcli DBSIZE)
bytes_per_order=$(( (redis_full - redis_empty) / orders_now ))
sample_order=$((orders_now / 2))
sample_key="order_details:{$((sample_order % 64))}:$sample_order"
order_encoding=$(rcli OBJECT ENCODING "$sample_key")
order_usage=$(rcli MEMORY USAGE "$sample_key")
items_len=$(rcli HSTRLEN "$sample_key" items)
zset_encoding=$(rcli OBJECT ENCODING "user_orders:{1}:1")
user_encoding=$(rcli OBJECT ENCODING "user:{1}:1")
listpack_value=$(rcli CONFIG GET hash-max-listpack-value | tail -1)
# Per-order breakdown from samples (layout 2: one hash per order, its lines in `items`):
# MEMORY USAGE of 100 order hashes, all users' and products' index keys scaled from samples,
# the user hashes and id sets.
mem_avg() {  # PATTERN_PREFIX COUNT MAXID: average MEMORY USAGE of COUNT random PREFIX{b}:id
  local prefix=$1 count=$2 maxid=$3 i id cmds=""
  for i in $(seq 1 "$count"); do
    id=$((1 + (RANDOM * 32768 + RANDOM) % maxid))
    cmds+="MEMORY USAGE $prefix{$((id % 64))}:$id"$'\n'
  done
  rcli <<<"$cmds" | awk '{ s += $1; n++ } END { printf "%.0f", s / n }'
}
mem_buckets() {  # PREFIX: the MEMORY USAGE of PREFIX{0} to PREFIX{63} together
  local b cmds=""
  for b in $(seq 0 63); do cmds+="MEMORY USAGE $1{$b}"$'\n'; done
  rcli <<<"$cmds" | awk '{ s += $1 } END { printf "%.0f", s }'
}
mem_order_details=$(mem_avg order_details: 100 "$orders")
mem_user_orders=$(( $(mem_avg user_orders: 100 "$users") * users / orders_now ))
mem_user_latest=$(( $(mem_avg user_latest: 100 "$users") * users / orders_now ))
mem_product_orders=$(( $(mem_avg product_orders: 50 "$products") * products / orders_now ))
mem_users=$(( ($(mem_avg user: 100 "$users") * users + $(mem_buckets pgcqrs:users:)) / orders_now ))
# What the recommended setting saves: the same order hash under Redis's default
# hash-max-listpack-value (64 bytes, shorter than the items JSON of one line).
rcli CONFIG SET hash-max-listpack-value 64 >/dev/null
rcli DEL bench:order_copy >/dev/null
mapfile -t kv < <(rcli HGETALL "$sample_key")
rcli HSET bench:order_copy "${kv[@]}" >/dev/null
default_hash_usage=$(rcli MEMORY USAGE bench:order_copy)
default_hash_encoding=$(rcli OBJECT ENCODING bench:order_copy)
rcli DEL bench:order_copy >/dev/null
rcli CONFIG SET hash-max-listpack-value "$listpack_value" >/dev/null
log "Redis: $bytes_per_order bytes per order; order hash $order_encoding, $order_usage bytes ($default_hash_usage as $default_hash_encoding with the default limit)"

# --- 5. reads: Redis versus the SQL JOIN --------------------------------------------------------
# The size of one page of the user_latest read model (the JSON of 10 orders).
page_bytes=$(rcli EVAL "local n = 0 for _, e in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do n = n + #e end return n" 1 "user_latest:{1}:1")
# Over loopback TCP every read path; over Unix sockets (both servers) the page and the JOIN.
# The pings (1 client) are each connection's round trip alone: the floor of its reads.
pg_unix="host=$PGCQRS_PG_SOCKET_DIR port=$PGPORT user=postgres dbname=postgres"
read_run() {  # NAME THREADS read-bench-args...: median (min-max) of $runs runs into reads.tsv
  local name=$1 threads=$2 q=() p99=() p50=() a b c rows; shift 2
  for _ in $(seq 1 $runs); do
    read -r a b c rows < <("$read_bin" "$@" --users $users --threads $threads --duration $read_secs)
    q+=("$a"); p50+=("$b"); p99+=("$c")
  done
  echo -e "$name\t$threads\t$(bench_stats "${q[@]}" | tr ' ' '\t')\t$(bench_stats "${p50[@]}" | tr ' ' '\t')\t$(bench_stats "${p99[@]}" | tr ' ' '\t')\t$rows" >>"$out/reads.tsv"
  log "reads $name x$threads: ${q[*]} q/s, p99 ${p99[*]} ms, $rows rows per page"
}
for threads in 1 $clients; do
  for mode in redis-latest redis-lua redis sql; do
    read_run "$mode" "$threads" --mode $mode --pg "$pg_conn" --redis-port "$redis_port"
  done
  for mode in redis-latest sql; do
    read_run "$mode@unix" "$threads" --mode $mode --pg "$pg_unix" --redis-socket "$run_dir/redis.sock"
  done
done
for mode in redis-ping sql-ping; do
  read_run "$mode" 1 --mode $mode --pg "$pg_conn" --redis-port "$redis_port"
  read_run "$mode@unix" 1 --mode $mode --pg "$pg_unix" --redis-socket "$run_dir/redis.sock"
done


# --- 6. write cost with the pipeline running; the write ceiling ------------------------------
log "write cost: pipeline running"
write_cost "pipeline running"
ceiling=$(awk -F'\t' '$1 == "pipeline running" && $2 == "place_order" {printf "%.0f", $3}' "$out/write.tsv")
wait_applied "$(sql "SELECT pg_current_wal_lsn()")" 600

# --- 7. end to end at 50% and 100% of the write ceiling -------------------------------------
for level in 50 100; do
  rate=$((ceiling * level / 100))
  for r in $(seq 1 $runs); do
    c0=$(cpu_ticks "$sidecar_pid")
    rc0=$(bench_redis_cpu "$redis_port")
    s0=$(date +%s.%N)
    "$probe_bin" --pg "$pg_conn" --redis-port "$redis_port" --rate $probe_rate --duration "$e2e_secs" \
      --users $users --products $products --out "$out/latency_${level}_$r.txt" >"$out/probe.out" &
    probe=$!
    tps=$(pgbench_tps place_order "$e2e_secs" -R "$rate")
    lag_end=$(sql "SELECT pg_current_wal_lsn()")
    ck=$(checkpoint_lsn)
    lag_bytes=$(( $(lsn_num "$lag_end") - $(lsn_num "$ck") ))
    wait "$probe"
    c1=$(cpu_ticks "$sidecar_pid")
    rc1=$(bench_redis_cpu "$redis_port")
    s1=$(date +%s.%N)
    rcpu=$(awk -v a="$rc0" -v b="$rc1" -v s="$s0" -v e="$s1" 'BEGIN { printf "%.1f", 100 * (b - a) / (e - s) }')
    cpu=$(awk -v a="$c0" -v b="$c1" -v s="$s0" -v e="$s1" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "%.1f", 100 * (b - a) / hz / (e - s) }')
    read -r n p50 p99 max timeouts <"$out/probe.out"
    echo -e "$level\t$r\t$rate\t$tps\t$n\t$p50\t$p99\t$max\t$timeouts\t$cpu\t$lag_bytes\t$rcpu" >>"$out/e2e_runs.tsv"
    log "e2e ${level}%: target $rate TPS, got $tps; latency p50 $p50 p99 $p99 max $max ms; sidecar CPU $cpu%, Redis CPU $rcpu%; lag at end $lag_bytes bytes"
    wait_applied "$lag_end" 600
  done
done
e2e_peak_kb=$(peak_kb "$sidecar_pid")

# --- 8. drain: a backlog after the sidecar was stopped -----------------------------------------
sidecar_stop
drain_orders=$((drain_events * 10 / 11))   # plus a status change for every 10th order
log "drain: writing a backlog of $drain_orders orders + $((drain_orders / 10)) status changes with the sidecar stopped"
start_order=$(sql "SELECT max(id) FROM orders")
half=$((drain_orders / 2))
bench_write_backlog "$drain_orders" "$users" "$products"
backlog_end=$(sql "SELECT pg_current_wal_lsn()")
backlog_orders=$(( $(sql "SELECT max(id) FROM orders") - start_order ))
backlog_events=$((backlog_orders + 2 * (half / 10)))
backlog_txns=$backlog_events
backlog_wal=$(sql "SELECT pg_wal_lsn_diff('$backlog_end', confirmed_flush_lsn) FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
log "backlog: $backlog_orders orders, $backlog_events events, $((backlog_wal / 1048576)) MB of WAL"

# Receive only: the same stream from a copy of the slot to /dev/null.
recv_times=()
for r in $(seq 1 $runs); do
  sql "SELECT 1 FROM pg_copy_logical_replication_slot('pgcqrs', 'bench_recv_$r')" >/dev/null
  recv_times+=("$(bench_time "$PGCQRS_PG_BIN/pg_recvlogical" -d "$pg_conn" --slot "bench_recv_$r" --start \
    --endpos "$backlog_end" -o format-version=1 -o framing=transaction -f /dev/null -s 10 -F 0)")
  sql "SELECT pg_drop_replication_slot('bench_recv_$r')" >/dev/null
done
log "pg_recvlogical to /dev/null: ${recv_times[*]} s"

# Drain: start the sidecar and time it until the checkpoint reaches the end of the backlog.
rc0=$(bench_redis_cpu "$redis_port")
t0=$(date +%s.%N)
sidecar_start
wait_applied "$backlog_end" 3600
t1=$(date +%s.%N)
rc1=$(bench_redis_cpu "$redis_port")
drain_sidecar_cpu=$(awk -v t="$(cpu_ticks "$sidecar_pid")" -v hz="$(getconf CLK_TCK)" -v s="$t0" -v e="$t1" \
  'BEGIN { printf "%.1f", 100 * t / hz / (e - s) }')
drain_redis_cpu=$(awk -v a="$rc0" -v b="$rc1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", 100 * (b - a) / (e - s) }')
drain_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
drain_peak_kb=$(peak_kb "$sidecar_pid")
log "drain: ${drain_secs}s, sidecar peak ${drain_peak_kb} kB, CPU sidecar $drain_sidecar_cpu%, Redis $drain_redis_cpu%"
sidecar_stop

suite_secs=$((SECONDS - suite_start))
echo "$suite_secs" >"$out/suite_secs"

# --- report -------------------------------------------------------------------------------------
export quick decode_orders decode_runs orders users products runs pgbench_secs e2e_secs read_secs \
  clients probe_rate load_secs snapshot_secs snapshot_peak_kb orders_now items_now redis_empty \
  redis_full redis_keys bytes_per_order order_encoding order_usage items_len zset_encoding \
  user_encoding listpack_value default_hash_usage default_hash_encoding mem_order_details mem_user_orders mem_user_latest \
  mem_product_orders mem_users page_bytes ceiling e2e_peak_kb backlog_orders \
  backlog_events backlog_txns backlog_wal drain_secs drain_peak_kb suite_secs drain_sidecar_cpu drain_redis_cpu bench_commit bench_dirty
export recv_times_list="${recv_times[*]}"
# Kept so that bench/report.sh can be rerun alone (e.g. after editing bench/notes.md).
export -p | grep -E '^declare -x (quick|decode_[a-z_]+|orders|users|products|runs|pgbench_secs|e2e_secs|read_secs|clients|probe_rate|load_secs|snapshot_[a-z_]+|items_now|redis_[a-z_]+|bytes_per_order|order_[a-z_]+|orders_now|items_len|page_bytes|zset_encoding|user_encoding|listpack_value|default_hash_[a-z_]+|mem_[a-z_]+|ceiling|e2e_peak_kb|backlog_[a-z_]+|drain_[a-z_]+|suite_secs|bench_commit|bench_dirty|recv_times_list)=' \
  >"$out/vars.sh"
bash bench/report.sh
