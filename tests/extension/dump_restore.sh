#!/usr/bin/env bash
# The write model's rows are user data: pg_dump keeps them (pg_extension_config_dump), and a
# restore as docs/write-model.md describes it (session_replication_role = replica, so that
# insert-time rules do not reject history such as items of shipped orders) gives the same
# rows, the same identity positions, working rules and the guard on the model's shape.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh

run_dir=$(mktemp -d /tmp/pgcqrs-dump.XXXXXX)
cleanup() { pgcqrs_pg_remove "$run_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT
pgcqrs_pg_start "$run_dir"

psql -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE DATABASE source;
\c source
CREATE EXTENSION pgcqrs;
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Bob', 'bob@example.com');
INSERT INTO products (name, price) VALUES ('Widget', 9.99), ('Gadget', 5.00);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]');
SELECT place_order(2, '[{"product_id": 2, "quantity": 5}]');
UPDATE orders SET status = 'paid' WHERE id = 2;
UPDATE users SET is_active = false WHERE id = 2;
CREATE DATABASE restored;
SQL
"$PGCQRS_PG_BIN/pg_dump" -d source -f "$run_dir/source.sql"
PGOPTIONS='-c session_replication_role=replica' \
  psql -qAt -v ON_ERROR_STOP=1 -d restored -f "$run_dir/source.sql" >/dev/null

snapshot() {
  psql -qAt -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'users', id, name, email, is_active FROM users ORDER BY id;
SELECT 'products', id, name, price, is_active FROM products ORDER BY id;
SELECT 'orders', id, user_id, status, created_at, updated_at FROM orders ORDER BY id;
SELECT 'items', order_id, product_id, quantity, unit_price FROM order_items ORDER BY 2, 3;
SQL
}
fail=0
if ! diff <(snapshot source) <(snapshot restored); then
  echo "FAIL: the restored write model differs from the source"; fail=1
fi
rows=$(snapshot restored | wc -l)
[ "$rows" -eq 9 ] || { echo "FAIL: expected 9 rows restored, got $rows"; fail=1; }

# The restored database keeps its identity positions and its rules.
next=$(psql -qAt -d restored -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}]')")
[ "$next" = 3 ] || { echo "FAIL: the next order id after restore is '$next', expected 3"; fail=1; }
rule=$(psql -qAt -d restored -c "UPDATE orders SET status = 'delivered' WHERE id = 1" 2>&1 || true)
case $rule in
  *"order 1 cannot move from pending to delivered"*) ;;
  *) echo "FAIL: the status rule is missing after restore: $rule"; fail=1 ;;
esac
# ...and the guard against DDL that would make the events lie (CREATE EXTENSION made it).
guard=$(psql -qAt -d restored -c "ALTER TABLE users REPLICA IDENTITY DEFAULT" 2>&1 || true)
case $guard in
  *"table public.users must keep REPLICA IDENTITY FULL"*) ;;
  *) echo "FAIL: the model guard is missing after restore: $guard"; fail=1 ;;
esac
[ $fail -eq 0 ] && echo "pg_dump kept $rows rows, the identity positions, the rules and the model guard"
exit $fail
