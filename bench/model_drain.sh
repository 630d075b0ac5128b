#!/usr/bin/env bash
# A declarative read model's drain beside the built-in model's, in the same run: ROWS rows of
# a table of the user's own (`tickets`, shaped like an order: a customer, a status, a title, a
# creation time, a total), each inserted in its own transaction, every 10th updated right
# after it (a status change), and every 500th followed by a rename of its customer (a
# fan-out over her tickets), written while the sidecar is stopped; the model is
# `tickets LEFT JOIN customers` (join), or the tickets' count and total per customer, ranked
# by the total (grouped), registered before. Then ROWS orders of 3 items through
# bench_write_backlog (a status change for every 10th), drained by a fresh sidecar. Prints,
# for each, the drain's time, the source transactions per second and the sidecar's and
# Redis's CPU per source transaction, and their ratios.
# declared: no table of the user's own; the same backlog of ROWS orders drained twice, by the
# built-in projection alone, then beside the built-in order model declared as read models
# (docs/read-models.md, "Models over the write model"): the difference is what the declared
# models cost, printed over what the built-in projection costs.
# Usage: bench/model_drain.sh [ROWS] [BUILD_DIR] [join|grouped|declared]   (needs the extension
# installed and a build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

rows=${1:-30000}
build=$(cd "${2:-build}" && pwd)
model=${3:-join}
case $model in
  join) view="SELECT t.id, t.customer_id, t.status, t.title, t.created_at, t.total, c.name AS customer, c.email
                FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
        register="SELECT register_read_model('ticket_cards', 'ticket_cards')"
        described="declared model (tickets LEFT JOIN customers)" sample='ticket_cards:{1}:1' ;;
  grouped) view="SELECT customer_id, count(*) AS tickets, count(title) AS titled, sum(total) AS total
                   FROM tickets WHERE customer_id IS NOT NULL GROUP BY customer_id"
           register="SELECT register_read_model('ticket_cards', 'ticket_cards', rank => 'total')"
           described="declared grouped model (count and sum per customer, ranked)" sample='ticket_cards:{1}:1' ;;
  declared) view="SELECT 1 AS id" register="SELECT 1" ;;  # no model over tickets
  *) echo "usage: bench/model_drain.sh [ROWS] [BUILD_DIR] [join|grouped|declared]" >&2; exit 2 ;;
esac
customers=5000
sidecar_bin=$build/sidecar/pgcqrs-sidecar

bench_run_dir model-drain
pgcqrs_pg_start "$run_dir" "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
  "wal_sender_timeout = 0" "fsync = off"
pgcqrs_redis_start "$run_dir"
redis_port=$PGCQRS_REDIS_PORT
redis_pid=$(cat "$run_dir/redis/redis.pid")
pg_conn="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
sql() { psql -qAt -v ON_ERROR_STOP=1 -c "$1"; }
lsn_num() { local l=${1:-0/0}; echo $(( (16#${l%/*} << 32) | 16#${l#*/} )); }

sql "CREATE EXTENSION pgcqrs" >/dev/null
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE tickets (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, status text NOT NULL,
                      title text, created_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2));
CREATE VIEW ticket_cards AS $view;
$register;
INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, $customers) g;
INSERT INTO users (name, email) SELECT 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, 5000) g;
INSERT INTO products (name, price) SELECT 'product ' || g, (g % 100) + 0.99 FROM generate_series(1, 1000) g;
CREATE PROCEDURE write_tickets(n int) LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO tickets (id, customer_id, status, title, total)
      VALUES (i, 1 + i % $customers, 'open', 'ticket ' || i, (i % 1000) / 10.0);
    COMMIT;
    IF i % 10 = 0 THEN UPDATE tickets SET status = 'closed' WHERE id = i; COMMIT; END IF;
    IF i % 500 = 0 THEN UPDATE customers SET name = 'renamed ' || i WHERE id = 1 + i % $customers; COMMIT; END IF;
  END LOOP;
END \$\$;
SQL

# drain NAME TRANSACTIONS: starts a sidecar on the backlog, waits for the checkpoint to reach
# the WAL's end, prints the figures, stops it.
start_sidecar() {
  "$sidecar_bin" run --pg "$pg_conn" --redis "redis://127.0.0.1:$redis_port" --slot bench \
    >>"$run_dir/sidecar.log" 2>&1 &
  sidecar_pid=$!
}
caught_up() {  # caught_up TARGET
  local cp
  cp=$(redis-cli -p "$redis_port" HGET pgcqrs:checkpoint lsn)
  [ -n "$cp" ] && [ "$(lsn_num "$cp")" -ge "$(lsn_num "$1")" ]
}
stop_sidecar() { kill "$sidecar_pid"; wait "$sidecar_pid" || true; sidecar_pid=; }
drain() {
  local target t0 t1 s0 s1 r0 r1
  target=$(sql "SELECT pg_current_wal_lsn()")
  r0=$(bench_ticks "$redis_pid")
  t0=$(date +%s.%N)
  start_sidecar
  until caught_up "$target"; do sleep 0.02; done
  t1=$(date +%s.%N)
  s1=$(bench_ticks "$sidecar_pid")
  r1=$(bench_ticks "$redis_pid")
  stop_sidecar
  awk -v name="$1" -v n="$2" -v t0="$t0" -v t1="$t1" -v s="$s1" -v r="$((r1 - r0))" 'BEGIN {
    d = t1 - t0
    printf "%s: %d source transactions in %.2f s (%.0f/s); CPU per transaction: sidecar %.1f us, Redis %.1f us\n",
           name, n, d, n / d, s * 10000 / n, r * 10000 / n }'
}

# cpu LINE WHO: the CPU per transaction of WHO (sidecar, Redis) in a line drain printed.
cpu() { sed -E "s/.* $2 ([0-9.]+) us.*/\1/" <<<"$1"; }

# The slot and the copy first (the model, empty), so that the backlog is streamed.
start_sidecar
until caught_up "$(sql "SELECT pg_current_wal_lsn()")"; do sleep 0.1; done
stop_sidecar

if [ "$model" = declared ]; then
  bench_write_backlog "$rows" 5000 1000 >/dev/null
  alone=$(drain "built-in model alone (orders of 3 items)" "$((rows + rows / 10))")
  echo "$alone"
  # The views of docs/read-models.md's block, registered; the rebuild their registration asks
  # for copies what is there, then the same backlog again.
  awk '/<!-- test: declared-model -->/ { mark = 1; next } mark && /^```sql/ { on = 1; next }
       on && /^```/ { exit } on' docs/read-models.md | psql -qAt -v ON_ERROR_STOP=1 >/dev/null
  start_sidecar
  until [ "$(redis-cli -p "$redis_port" HGET pgcqrs:checkpoint generation)" = 1 ] &&
        [ -z "$(redis-cli -p "$redis_port" HGET pgcqrs:checkpoint rebuild)" ]; do sleep 0.1; done
  until caught_up "$(sql "SELECT pg_current_wal_lsn()")"; do sleep 0.1; done
  stop_sidecar
  bench_write_backlog "$rows" 5000 1000 >/dev/null
  both=$(drain "built-in model and the declared one (orders, users, products)" "$((rows + rows / 10))")
  echo "$both"
  awk -v sa="$(cpu "$alone" sidecar)" -v sb="$(cpu "$both" sidecar)" -v ra="$(cpu "$alone" Redis)" \
      -v rb="$(cpu "$both" Redis)" 'BEGIN {
    printf "declared models alone (the difference): sidecar %.1f us, Redis %.1f us per transaction\n", sb - sa, rb - ra
    printf "declared / built-in, CPU per source transaction: sidecar %.2fx, Redis %.2fx\n", (sb - sa) / sa, (rb - ra) / ra }'
  redis-cli -p "$redis_port" HGETALL 'g1:declared_order:{1}:1' | paste -sd ' ' | sed 's/^/sample: declared_order:{1}:1 = /'
  exit 0
fi

sql "CALL write_tickets($rows)"
model_txns=$((rows + rows / 10 + rows / 500))
model_line=$(drain "$described" "$model_txns")
echo "$model_line"
if [ "$model" = join ]; then
  fanned=$(sql "SELECT count(*) FROM tickets WHERE customer_id IN (SELECT id FROM customers WHERE name LIKE 'renamed %')")
  echo "   ($((rows / 500)) renames rewrote $fanned tickets in all)"
fi
bench_write_backlog "$rows" 5000 1000 >/dev/null
builtin_line=$(drain "built-in model (orders of 3 items)" "$((rows + rows / 10))")
echo "$builtin_line"
# The ratios: the model's CPU per transaction over the built-in's.
awk -v sa="$(cpu "$model_line" sidecar)" -v sb="$(cpu "$builtin_line" sidecar)" -v ra="$(cpu "$model_line" Redis)" \
    -v rb="$(cpu "$builtin_line" Redis)" 'BEGIN {
  printf "model / built-in, CPU per source transaction: sidecar %.2fx, Redis %.2fx\n", sa / sb, ra / rb }'
redis-cli -p "$redis_port" HGETALL "$sample" | paste -sd ' ' | sed "s/^/sample: $sample = /"
