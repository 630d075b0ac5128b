#!/usr/bin/env bash
# The built-in order model declared as read models (docs/read-models.md, "Models over the
# write model"): three views over pgcqrs's own tables (orders with their user looked up and
# their items nested, users with their order count, products), registered, kept by the
# sidecar beside the built-in projection from the same stream, and compared key for key with
# order_details, user and product hashes, after random writes, kill -9, TRUNCATE; verify
# compares both with the write model. The sidecar runs as docs/security.md's role and user.
#   tests/e2e/declared_model.sh BUILD_DIR [SEED]
BUILD=$(cd "${1:?usage: declared_model.sh BUILD_DIR [SEED]}" && pwd)
seed=${2:-20261208}
source "$(dirname "$0")/fault_lib.sh"

start_servers ""
seed_write_model 12 8 150
# The views and registrations of docs/read-models.md, "Models over the write model": the
# block after its "test: declared-model" mark, so that the docs show what this test runs.
awk '/<!-- test: declared-model -->/ { mark = 1; next } mark && /^```sql/ { on = 1; next }
     on && /^```/ { exit } on' "$ROOT/docs/read-models.md" >"$WORK/declared.sql"
grep -q "register_read_model('declared_orders'" "$WORK/declared.sql" || fail "no declared model in docs/read-models.md"
psql -qAtX -v ON_ERROR_STOP=1 -f "$WORK/declared.sql" >/dev/null
# The sidecar and verify run as docs/security.md's role and Redis user, with the grants and
# key patterns it says a model needs.
source "$ROOT/scripts/lib/documented_roles.sh"
(cd "$ROOT" && pgcqrs_documented_sql "CREATE ROLE pgcqrs_sidecar" sidecar-pw &&
  pgcqrs_documented_acl pgcqrs-sidecar sidecar-pw redis-cli -p "$PGCQRS_REDIS_PORT")
sql "GRANT SELECT ON declared_orders, declared_users, declared_products TO pgcqrs_sidecar"
rc ACL SETUSER pgcqrs-sidecar '~declared_order:*' '~declared_user:*' '~declared_product:*' >/dev/null
export PGCQRS_PG="host=127.0.0.1 port=$PGPORT dbname=$(sql "SELECT current_database()") user=pgcqrs_sidecar"
export PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD=sidecar-pw

# hash_lines STEM FIELD...: "ID field value" for each hash STEM{b}:ID of the generation
# readers read, the fields named only; booleans as PostgreSQL prints them (the built-in
# hashes say true/false, a model's t/f), items as a second file compares them.
hash_lines() {
  local stem=$1 key id
  shift
  local scope
  scope=$(model_key "")
  redis-cli -p "$PGCQRS_REDIS_PORT" --scan --pattern "$scope$stem{*}:*" | while read -r key; do
    id=${key##*:}
    for f in "$@"; do
      printf '%s %s %s\n' "$id" "$f" "$(rc HGET "$key" "$f")"
    done
  done | sed -e 's/ true$/ t/' -e 's/ false$/ f/' | LC_ALL=C sort
}
# hash_values STEM FIELD: "ID<tab>value" of one field of each hash, sorted by ID as join wants.
hash_values() {
  local key
  redis-cli -p "$PGCQRS_REDIS_PORT" --scan --pattern "$(model_key "")$1{*}:*" | while read -r key; do
    printf '%s\t%s\n' "${key##*:}" "$(rc HGET "$key" "$2")"
  done | LC_ALL=C sort -t $'\t' -k1,1
}
# same_as_built_in WHAT: every declared hash equals its built-in twin in the fields both hold.
same_as_built_in() {
  local n
  # total: an order without items has 0.00 built in, and no field declared (sum() of no rows).
  hash_lines order_details: order_id user_id user_name user_email status created_at updated_at item_count total |
    sed 's/ total 0\.00$/ total /' >"$WORK/builtin.txt"
  hash_lines declared_order: order_id user_id user_name user_email status created_at updated_at item_count total \
    >"$WORK/declared.txt"
  hash_lines user: user_id name email is_active order_count >>"$WORK/builtin.txt"
  hash_lines declared_user: user_id name email is_active order_count >>"$WORK/declared.txt"
  hash_lines product: product_id name price is_active >>"$WORK/builtin.txt"
  hash_lines declared_product: product_id name price is_active >>"$WORK/declared.txt"
  diff "$WORK/builtin.txt" "$WORK/declared.txt" >"$WORK/diff.txt" ||
    fail "$1: the declared models differ from the built-in ones: $(head -6 "$WORK/diff.txt")"
  n=$(wc -l <"$WORK/builtin.txt")
  [ "$n" -gt 250 ] || fail "$1: only $n fields compared"
  # items: the built-in lines carry the product's name besides; the rest is equal, numbers
  # compared as numbers (the built-in unit_price and line_total are decimal strings).
  hash_values order_details: items >"$WORK/builtin_items.txt"
  hash_values declared_order: items >"$WORK/declared_items.txt"
  n=$(LC_ALL=C join -t $'\t' "$WORK/builtin_items.txt" "$WORK/declared_items.txt" |
    psql -qAtX -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE pairs (id bigint, builtin jsonb, declared jsonb)" \
      -c "COPY pairs FROM STDIN WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')" \
      -c "SELECT count(*) FILTER (WHERE (SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', e->'product_id',
                   'quantity', e->'quantity', 'unit_price', (e->>'unit_price')::numeric,
                   'line_total', (e->>'line_total')::numeric)), '[]')
                   FROM jsonb_array_elements(builtin) e) IS DISTINCT FROM declared) || ' ' || count(*) FROM pairs")
  [ "$n" = "0 $(wc -l <"$WORK/builtin_items.txt")" ] || fail "$1: items differ (differing, compared): $n"
  echo "$1: $(wc -l <"$WORK/builtin.txt") fields and $(wc -l <"$WORK/builtin_items.txt") item lists equal"
}

step "copied: the declared models equal the built-in ones"
start_sidecar
wait_caught_up
same_as_built_in "copied"
verify_clean

step "an order's rows stream beside its OrderPlaced, which still carries its items"
sql "SELECT 'shadow' FROM pg_create_logical_replication_slot('shadow', 'pgcqrs')" >/dev/null
sql "SELECT place_order(1, '[{\"product_id\": 2, \"quantity\": 1}, {\"product_id\": 1, \"quantity\": 2}]')" >/dev/null
got=$(sql "SELECT string_agg(concat_ws(':', e->>'type', e->>'table', jsonb_array_length(e->'items')), ' ' ORDER BY n)
             FROM (SELECT row_number() OVER () AS n, data::jsonb AS e
                     FROM pg_logical_slot_get_changes('shadow', NULL, NULL)) c")
sql "SELECT pg_drop_replication_slot('shadow')" >/dev/null
want="begin RowInserted:public.orders OrderPlaced:2 RowInserted:public.order_items RowInserted:public.order_items commit"
[ "$got" = "$want" ] || fail "place_order streamed: $got"

step "random writes, renames and email changes fanned out, kill -9 halfway"
more_writes() {  # what random_workload leaves out: emails, deactivations, items removed
  local i a
  RANDOM=$1
  for i in $(seq 1 40); do
    case $((RANDOM % 3)) in
      0) echo "UPDATE users SET email = 'mail$i.$RANDOM@example.com' WHERE id = $((RANDOM % 12 + 1));" ;;
      1) a=$((RANDOM % 12 + 1))  # back at once: orders need an active user
         echo "UPDATE users SET is_active = false WHERE id = $a; UPDATE users SET is_active = true WHERE id = $a;" ;;
      2) echo "DELETE FROM order_items WHERE (order_id, product_id) = (SELECT i.order_id, i.product_id FROM order_items i
                 JOIN orders o ON o.id = i.order_id WHERE o.status = 'pending' ORDER BY random() LIMIT 1);" ;;
    esac
  done | psql -qAtX -v ON_ERROR_STOP=1 >/dev/null
}
random_workload 300 "$seed"
more_writes "$seed"
random_workload 200 $((seed + 1)) &
writer=$!
sleep 0.3
kill -9 "$SC_PID"
wait "$SC_PID" 2>/dev/null || true
wait "$writer"
start_sidecar
more_writes $((seed + 2))
wait_caught_up
same_as_built_in "streamed, through kill -9"
verify_clean

step "TRUNCATE of the items, then of the orders, and orders again"
sql "TRUNCATE order_items"
random_workload 50 $((seed + 3))
wait_caught_up
same_as_built_in "after TRUNCATE order_items"
sql "TRUNCATE orders CASCADE"
random_workload 150 $((seed + 4))
sql "UPDATE users SET is_active = false WHERE id IN (3, 5)"
wait_caught_up
same_as_built_in "after TRUNCATE orders"
verify_clean
stop_sidecar
echo "declared model: the built-in order model and its declaration agree"
