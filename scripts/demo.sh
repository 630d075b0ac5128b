#!/usr/bin/env bash
# The demo command (README): installs what it needs, builds, starts a throwaway PostgreSQL
# (wal_level=logical) and Redis on loopback under ./run/demo, installs the extension, starts
# pgcqrs-sidecar, writes orders with plain SQL through psql, renames a user, and shows the
# read models changing in Redis with the lag. Stops everything it started when done or
# interrupted, and can be run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh >/dev/null
echo "== building (extension, sidecar, query client)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target pgcqrs-sidecar pgcqrs-query >/dev/null
make -s -f Makefile.pgxs -j "$(nproc)" >/dev/null
make -s -f Makefile.pgxs install >/dev/null

source scripts/lib/servers.sh
run_dir=$root/run/demo
pgcqrs_redis_stop "$run_dir" 2>/dev/null || true
pgcqrs_pg_remove "$run_dir" 2>/dev/null || true
rm -rf "$run_dir"
mkdir -p "$run_dir"
sidecar=
cleanup() {
  trap - EXIT INT TERM
  [ -n "$sidecar" ] && kill "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null
  pgcqrs_redis_stop "$run_dir"
  pgcqrs_pg_stop "$run_dir" fast
  echo "== stopped PostgreSQL, Redis and the sidecar (logs in run/demo)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir" "appendonly yes" "appendfsync everysec"
export PGCQRS_PG="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_PORT"
echo "== PostgreSQL on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$PGCQRS_REDIS_PORT (data under run/demo)"

sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
query() { build/sidecar/pgcqrs-query "$@"; }
sql -c "CREATE EXTENSION pgcqrs"
build/sidecar/pgcqrs-sidecar run >"$run_dir/sidecar.log" 2>&1 &
sidecar=$!
echo "== pgcqrs-sidecar started (log: run/demo/sidecar.log)"

echo "== writes: plain SQL and the place_order command handler"
sql <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com');
INSERT INTO products (name, price) VALUES ('Analytical Engine', 1999.99), ('Punch cards', 0.25), ('Bombe', 450.00);
SELECT place_order(1, '[{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 400}]') AS first_order;
SELECT place_order(1, '[{"product_id": 3, "quantity": 2}]') AS second_order;
SELECT place_order(2, '[{"product_id": 3, "quantity": 1}]') AS third_order;
UPDATE orders SET status = 'paid' WHERE id = 1;
SQL
token=$(sql -At -c "SELECT write_token()")
echo "== read models in Redis, read after the writer's token $token (no JOINs):"
query user-orders 1 --after "$token" --timeout 10000
echo
query order 1

echo
echo "== a business rule at work (items change only while the order is pending):"
sql -c "INSERT INTO order_items (order_id, product_id, quantity) VALUES (1, 2, 1)" 2>&1 | sed 's/^/   /' || true

echo
echo "== rename a user: every order that shows her name changes"
sql -c "UPDATE users SET name = 'Ada, Countess of Lovelace' WHERE id = 1"
token=$(sql -At -c "SELECT write_token()")
query user-orders 1 --after "$token" --timeout 10000 --json | head -c 600; echo
echo "   user_name of order 2 in Redis: $(redis-cli -p "$PGCQRS_REDIS_PORT" HGET "order_details:{2}:2" user_name)"

echo
echo "== top products by revenue"
query top-products --limit 3

echo
echo "== your own tables: a view registered as a read model, kept in Redis (docs/read-models.md)"
sql <<'SQL'
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE tickets (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, status text NOT NULL,
                      title text);
CREATE VIEW ticket_cards AS
  SELECT t.id, t.status, t.title, c.name AS customer
    FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
   WHERE t.status <> 'spam';
SELECT name, key FROM register_read_model('ticket_cards', 'ticket_cards');
INSERT INTO customers VALUES (1, 'Grace Hopper');
INSERT INTO tickets VALUES (42, 1, 'open', 'Moth in relay 70'), (43, 1, 'spam', 'Cheap pens');
UPDATE customers SET name = 'Rear Admiral Grace Hopper' WHERE id = 1;
SQL
token=$(sql -At -c "SELECT write_token()")
query model ticket_cards 42 --after "$token" --timeout 10000 | sed 's/^/   /'
echo "   ticket 43 (spam) in Redis: $(redis-cli -p "$PGCQRS_REDIS_PORT" EXISTS "ticket_cards:{43}:43") key(s)"

echo
echo "== the pipeline: slot, checkpoint and lag"
build/sidecar/pgcqrs-sidecar status
