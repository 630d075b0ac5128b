#!/usr/bin/env bash
# The demo command (README): installs what it needs, builds, starts a throwaway PostgreSQL on
# loopback under ./run/demo, installs the extension, writes orders with plain SQL and shows
# the domain events the pgcqrs plugin decodes from the WAL. Stops everything it started, on
# success or on Ctrl-C, and can be run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh >/dev/null
echo "== building and installing the extension"
make -s -f Makefile.pgxs -j "$(nproc)" >/dev/null
make -s -f Makefile.pgxs install >/dev/null

source scripts/lib/servers.sh
run_dir=$root/run/demo
pgcqrs_pg_remove "$run_dir" 2>/dev/null || true
rm -rf "$run_dir"
mkdir -p "$run_dir"
cleanup() { pgcqrs_pg_stop "$run_dir" fast; }
trap cleanup EXIT INT TERM

pgcqrs_pg_start "$run_dir"
echo "== PostgreSQL on 127.0.0.1:$PGPORT (data in run/demo)"

sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
sql <<'SQL'
CREATE EXTENSION pgcqrs;
SELECT 'slot created' AS pgcqrs FROM pg_create_logical_replication_slot('demo', 'pgcqrs');
INSERT INTO users (name, email) VALUES ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com');
INSERT INTO products (name, price) VALUES ('Analytical Engine', 1999.99), ('Punch cards', 0.25);
SQL

echo "== writes: plain SQL and the place_order command handler"
sql -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}, {\"product_id\": 2, \"quantity\": 400}]') AS order_id"
sql -c "UPDATE orders SET status = 'paid' WHERE id = 1"
sql -c "UPDATE users SET name = 'Ada King' WHERE id = 1"
sql -c "UPDATE products SET price = 1899.99 WHERE id = 1"

echo "== a business rule at work (items change only while the order is pending):"
sql -c "INSERT INTO order_items (order_id, product_id, quantity) VALUES (1, 2, 1)" 2>&1 | sed 's/^/   /' || true

echo "== the domain events decoded from the WAL, in commit order:"
sql -At -c "SELECT data FROM pg_logical_slot_get_changes('demo', NULL, NULL)"
echo "== done; stopping PostgreSQL"
