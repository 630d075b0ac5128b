# Shared helpers for the benchmarks: statistics over repeated runs and a results table.
# Source after scripts/lib/servers.sh.

# stats V1 V2 ...: prints "median min max" of the numbers.
bench_stats() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
    printf "%.4f %.4f %.4f\n", m, v[1], v[NR] }'
}

# bench_run_dir NAME: sets run_dir to a fresh directory for the run's servers; at exit the
# sidecar in sidecar_pid (if any) is stopped and the servers and directory are removed.
bench_run_dir() {
  run_dir=$(mktemp -d "/tmp/pgcqrs-bench-$1.XXXXXX")
  sidecar_pid=
  trap bench_cleanup EXIT
}
bench_cleanup() {
  [ -n "${sidecar_pid:-}" ] && kill "$sidecar_pid" 2>/dev/null
  wait 2>/dev/null || true
  pgcqrs_redis_cluster_stop "$run_dir/cluster"  # if a bench started one
  pgcqrs_servers_remove "$run_dir"
}

# bench_ticks PID: CPU (user + system) the process has used so far, in 1/100 s (0 once gone).
bench_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# bench_redis_cpu PORT [REDIS-CLI OPTION...]: seconds of CPU (user + system) the Redis on
# PORT has used so far (options: the TLS ones of a TLS-only Redis).
bench_redis_cpu() {
  redis-cli "${@:2}" -p "$1" INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'
}

# bench_time COMMAND...: runs the command, prints its wall time in seconds.
bench_time() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}

# bench_write_backlog ORDERS USERS PRODUCTS [REPRICE_EVERY] [STATUS_LAG]: the drain benchmarks'
# backlog. Two writers commit ORDERS orders of 3 items, one per transaction, and a status
# change for every 10th order, right after it; with REPRICE_EVERY=N also a product repriced
# after every Nth order of each writer (an event that is not an order placement, mixed into
# the orders' batches); with STATUS_LAG=N (a multiple of 10) the status change goes instead to
# the writer's order placed N orders earlier (as when orders are paid later, in other batches).
bench_write_backlog() {
  local half=$(($1 / 2)) users=$2 products=$3 reprice=${4:-0} lag=${5:-0} w
  for w in 0 1; do
    psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL &
SET synchronous_commit = off;
DO \$\$
DECLARE oid bigint; p bigint; n int := GREATEST($lag, 1); ring bigint[] := array_fill(0::bigint, ARRAY[n]); target bigint;
BEGIN
  FOR i IN 1..$half LOOP
    p := 1 + (i * 2 + $w) % $products;
    INSERT INTO orders (user_id) VALUES (1 + (i * 2 + $w) % $users) RETURNING id INTO oid;
    INSERT INTO order_items (order_id, product_id, quantity)
      VALUES (oid, p, 1), (oid, 1 + p % $products, 2), (oid, 1 + (p + 1) % $products, 3);
    COMMIT;
    target := oid;
    IF $lag > 0 THEN  -- ring: the order of iteration i - lag, replaced by this one
      target := ring[i % n + 1];
      ring[i % n + 1] := oid;
    END IF;
    IF i % 10 = 0 AND target > 0 THEN
      UPDATE orders SET status = 'paid' WHERE id = target;
      COMMIT;
    END IF;
    IF $reprice > 0 AND i % GREATEST($reprice, 1) = 0 THEN
      UPDATE products SET price = price + 0.01 WHERE id = p;
      COMMIT;
    END IF;
  END LOOP;
END \$\$;
SQL
  done
  wait
}

# bench_load_bulk USERS PRODUCTS ORDERS: CREATE EXTENSION pgcqrs and the dataset of bench/run.sh
# in bulk SQL (PG* variables): users, products, and ORDERS orders of 3 items, user 1 + id % USERS.
bench_load_bulk() {
  psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION pgcqrs;
-- Bulk rows are valid by construction (active users and products, items at the product's
-- price, updated_at = created_at), so the row triggers are skipped while loading.
SET session_replication_role = replica;
INSERT INTO users (id, name, email)
  SELECT g, 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, $1) g;
INSERT INTO products (id, name, price)
  SELECT g, 'product ' || g, (g % 100) + 0.99 FROM generate_series(1, $2) g;
INSERT INTO orders (id, user_id, status, created_at, updated_at)
  SELECT g, 1 + g % $1, CASE WHEN g % 10 = 0 THEN 'paid' ELSE 'pending' END,
         now() - ($3 - g) * interval '10 ms', now() - ($3 - g) * interval '10 ms'
    FROM generate_series(1, $3) g;
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
  SELECT o, p, k, (p % 100) + 0.99
    FROM generate_series(1, $3) o, generate_series(1, 3) k,
         LATERAL (SELECT 1 + (o * 7 + k) % $2 AS p) x;
SELECT setval(pg_get_serial_sequence('users', 'id'), $1);
SELECT setval(pg_get_serial_sequence('products', 'id'), $2);
SELECT setval(pg_get_serial_sequence('orders', 'id'), $3);
RESET session_replication_role;
VACUUM ANALYZE users, products, orders, order_items;
CHECKPOINT;
SQL
}
