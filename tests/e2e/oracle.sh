#!/usr/bin/env bash
# The oracle (pgcqrs-sidecar verify) and what it cannot see: infinite timestamps end to end
# (copied and streamed), each hash's `lsn` exactly (the commit LSNs a second slot decodes,
# docs/read-models.md), and verify reporting a checkpoint that does not vouch for the read
# models (dirty, partial_*, another layout), a hash ahead of the checkpoint, a wrong score.
#   tests/e2e/oracle.sh BUILD_DIR
BUILD=$(cd "${1:?usage: oracle.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

start_servers ""
step "a write model with orders created at -infinity and infinity, copied by the initial snapshot"
seed_write_model 4 4 6
sql "INSERT INTO orders (user_id, created_at) VALUES (1, '-infinity'), (1, 'infinity'), (2, '-infinity')"
sql "INSERT INTO order_items (order_id, product_id, quantity) SELECT id, 2, 1 FROM orders WHERE NOT isfinite(created_at)"
start_sidecar
wait_caught_up
minus=$(sql "SELECT min(id) FROM orders WHERE created_at = '-infinity'")
plus=$(sql "SELECT min(id) FROM orders WHERE created_at = 'infinity'")
[ "$(rc ZSCORE "user_orders:{1}:1" "$minus")" == -inf ] || fail "order $minus scores $(rc ZSCORE "user_orders:{1}:1" "$minus"), not -inf"
[ "$(rc ZSCORE "user_orders:{1}:1" "$plus")" == inf ] || fail "order $plus scores $(rc ZSCORE "user_orders:{1}:1" "$plus"), not inf"
[ "$(rc HGET "order_details:{$((minus % 64))}:$minus" created_at)" == -infinity ] || fail "created_at of order $minus"
verify_clean

step "the same streamed: an order created at -infinity after the copy"
sql "BEGIN; INSERT INTO orders (user_id, created_at) VALUES (3, '-infinity');
     INSERT INTO order_items (order_id, product_id, quantity) VALUES (currval(pg_get_serial_sequence('orders', 'id')), 3, 2); COMMIT"
wait_caught_up
streamed=$(sql "SELECT max(id) FROM orders")
[ "$(rc ZSCORE "user_orders:{3}:3" "$streamed")" == -inf ] || fail "streamed order $streamed scores $(rc ZSCORE "user_orders:{3}:3" "$streamed")"
[ "$(rc LINDEX "user_latest:{3}:3" -1 | grep -o '"order_id":[0-9]*')" == "\"order_id\":$streamed" ] ||
  fail "the -infinity order is not last on user_latest:{3}:3: $(rc LRANGE "user_latest:{3}:3" 0 -1)"
verify_clean

step "each hash's lsn is the commit LSN of the last transaction that changed it, or the copy's consistent point"
cp_copy=$(grep -oE 'created slot pgcqrs at consistent point [0-9A-F]+/[0-9A-F]+' "$LOG" | tail -1 | awk '{print $NF}')
[ -n "$cp_copy" ] || fail "no consistent point in the log"
sql "SELECT 'shadow' FROM pg_create_logical_replication_slot('shadow', 'pgcqrs')" >/dev/null
order=$(sql "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 2}]')")   # T1
sql "UPDATE orders SET status = 'paid' WHERE id = $order"                         # T2
sql "UPDATE products SET name = 'renamed product 2' WHERE id = 2"                # T3
sql "UPDATE users SET name = 'renamed user 1' WHERE id = 1"                      # T4
sql "UPDATE users SET name = name WHERE id = 4"                                  # no event: no change
mapfile -t commits < <(sql "SELECT data::jsonb->>'lsn' FROM pg_logical_slot_peek_changes('shadow', NULL, NULL)
                            WHERE data::jsonb->>'type' = 'commit'")
sql "SELECT pg_drop_replication_slot('shadow')" >/dev/null
[ ${#commits[@]} -eq 4 ] || fail "the shadow slot decoded ${#commits[@]} transactions, not 4: ${commits[*]}"
wait_caught_up
expect_lsn() {  # expect_lsn KEY LSN WHY
  local got
  got=$(rc HGET "$1" lsn)
  [ "$got" == "$2" ] || fail "$1 lsn is '$got', expected $2 ($3)"
}
expect_lsn "order_details:{$((order % 64))}:$order" "${commits[3]}" "T4 renamed its user"
expect_lsn "user:{1}:1" "${commits[3]}" "T4 renamed it"
expect_lsn "product:{1}:1" "${commits[0]}" "T1 sold it; nothing later changed it"
expect_lsn "product:{2}:2" "${commits[2]}" "T3 renamed it"
expect_lsn "product:{4}:4" "$cp_copy" "copied; no transaction changed it since"
expect_lsn "user:{4}:4" "$cp_copy" "copied; the no-op update emitted no event"
entry_lsn=$(rc LRANGE "user_latest:{1}:1" 0 -1 | grep "\"order_id\":$order," | grep -oE '"lsn":"[0-9A-F/]+"')
[ "$entry_lsn" == "\"lsn\":\"${commits[3]}\"" ] || fail "user_latest:{1}:1 entry of order $order: $entry_lsn"
verify_clean

step "verify reports a checkpoint that does not vouch for the read models, and wrong values"
stop_sidecar
expect_verify_fails() {  # expect_verify_fails WHAT REGEX: exit 1 with a line matching REGEX
  local code=0
  "$SIDECAR" verify --verify-timeout 2 >"$WORK/verify.txt" 2>&1 || code=$?
  [ $code -eq 1 ] || { cat "$WORK/verify.txt"; fail "verify exited $code for $1, not 1"; }
  grep -qE "$2" "$WORK/verify.txt" || { cat "$WORK/verify.txt"; fail "verify did not report $1 (/$2/)"; }
}
# With the sidecar stopped PostgreSQL still writes WAL of its own (standby snapshots): a
# checkpoint moved 1 GB ahead keeps verify past its wait, so each case shows its difference.
cp_real=$(checkpoint)
cp_now=$(sql "SELECT pg_current_wal_lsn() + 1073741824")
rc HSET pgcqrs:checkpoint lsn "$cp_now" >/dev/null
rc HSET pgcqrs:checkpoint dirty "$cp_now" >/dev/null
expect_verify_fails "a dirty checkpoint" "has not caught up .*marked dirty at $cp_now"
rc HDEL pgcqrs:checkpoint dirty >/dev/null
rc HSET pgcqrs:checkpoint partial_lsn "$cp_now" partial_seq 3 >/dev/null
expect_verify_fails "a half-applied transaction" "has not caught up .*call series is under way \(partial_lsn"
rc HDEL pgcqrs:checkpoint partial_lsn partial_seq >/dev/null
rc HSET pgcqrs:checkpoint layout 2 >/dev/null
expect_verify_fails "another layout" '^pgcqrs:checkpoint field layout: expected "4", found "2"$'
rc HSET pgcqrs:checkpoint layout 4 >/dev/null
rc HSET pgcqrs:checkpoint slot other >/dev/null
expect_verify_fails "another slot" '^pgcqrs:checkpoint field slot: "other" is not a pgcqrs slot of this database$'
rc HSET pgcqrs:checkpoint slot pgcqrs >/dev/null
rc HSET pgcqrs:checkpoint owner someone >/dev/null
expect_verify_fails "an undocumented checkpoint field" '^pgcqrs:checkpoint field owner: should not exist'
rc HDEL pgcqrs:checkpoint owner >/dev/null
rc HSET "user:{3}:3" lsn FFFFFFFF/0 >/dev/null
expect_verify_fails "a hash ahead of the checkpoint" "^user:\{3\}:3 field lsn: FFFFFFFF/0 is past the checkpoint $cp_now$"
rc HSET "user:{3}:3" lsn "$cp_copy" >/dev/null
rc ZADD "user_orders:{1}:1" inf "$minus" >/dev/null
expect_verify_fails "a -infinity order scored inf" "^user_orders:\{1\}:1 member $minus: expected score -inf, found inf$"
rc ZADD "user_orders:{1}:1" -inf "$minus" >/dev/null
rc HSET pgcqrs:checkpoint lsn "$cp_real" >/dev/null
start_sidecar
wait_caught_up
verify_clean

echo "e2e_oracle: all checks passed"
