#!/usr/bin/env bash
# The sidecar on a real Redis Cluster of three masters (`--redis` names one node): the initial
# copy cut by slot, then a random workload streamed through the cluster sink, each time with the
# oracle (verify, which reads the cluster) at 0 differences, a fence in every bucket's slot and
# no intent left behind; then kill -9 of the sidecar while a backlog drains, and a restart that
# finishes whatever batch the kill left between its slots, again at 0 differences; status and
# a rebuild asked for on the cluster; and a fence planted past the checkpoint, which the next
# start takes for a lost intent and rebuilds; TRUNCATE, its walk over the masters cut by a kill -9.
# The sidecar runs as docs/security.md's Redis user, made
# on every node.
#   tests/e2e/cluster_sidecar.sh BUILD_DIR
BUILD=$(cd "${1:?usage: cluster_sidecar.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

start_servers ""
pgcqrs_redis_cluster_start "$WORK/cluster" 3 0
trap 'code=$?; set +e; stop_writer; pgcqrs_redis_cluster_stop "$WORK/cluster"; (exit $code); fault_cleanup' EXIT
source "$ROOT/scripts/lib/documented_roles.sh"
for port in $PGCQRS_REDIS_CLUSTER_PORTS; do
  (cd "$ROOT" && pgcqrs_documented_acl pgcqrs-sidecar sidecar-pw redis-cli -p "$port" &&
     pgcqrs_documented_acl pgcqrs-reader reader-pw redis-cli -p "$port") ||
    fail "the documented ACL users on node $port"
done
source "$(dirname "$0")/query_checks.sh"
# pgcqrs-query as the documented reader, from the cluster.
reader() { PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=reader-pw "$@"; }
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED" PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD=sidecar-pw
rc() { redis-cli -c -p "$PGCQRS_REDIS_CLUSTER_SEED" "$@"; }  # follows the cluster's redirects

source "$(dirname "$0")/cluster_lib.sh"

step "the initial copy into the cluster"
seed_write_model 100 80 300
start_sidecar
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after the copy"
[ "$(rc HGET pgcqrs:checkpoint layout)" = 4 ] || fail "the checkpoint does not record layout 4"

step "a random workload streamed through the cluster sink"
off=$(log_size)
start_sidecar
# One user with more orders than her page holds, for pgcqrs-query below.
sql "SELECT place_order(7, jsonb_build_array(jsonb_build_object('product_id', 1 + g % 80, 'quantity', g)))
     FROM generate_series(1, 25) g" >/dev/null
random_workload 600 16
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after the workload"
log_clean_since "$off" "the streamed workload"

step "pgcqrs-query reads the cluster as the documented reader"
busiest=$(sql "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1")
[ "$(sql "SELECT count(*) FROM orders WHERE user_id = $busiest")" -gt 10 ] || fail "no user has more than 10 orders"
reader same_orders "$busiest" 10 || fail "the busiest user's page (user_latest)"
reader same_orders "$busiest" 40 || fail "the busiest user's orders past her page"
reader same_top 100 || fail "the ranking of every product, merged from the buckets"
reader same_top 3 || fail "the best 3 products"
order=$(sql "SELECT max(id) FROM orders")
got=$(reader "$QUERY" order "$order" --json | jq -r '"\(.order_id) \(.total)"')
want=$(sql "SELECT $order || ' ' || coalesce(sum(quantity * unit_price), 0)::numeric(20,2) FROM order_items WHERE order_id = $order")
[ "$got" = "$want" ] || fail "order $order: pgcqrs-query says '$got', the write model '$want'"

step "kill -9 while a backlog drains, six times, and restarts that finish the batch left between slots"
random_workload 3000 99
# A writer that goes on through the kills: a sidecar that drains the backlog before the poll
# below sees an intent still finds batches to cut (a fast machine drains 3,000 in a second).
start_writer 100
for kill in 1 2 3 4 5 6; do
  off=$(log_size)
  start_sidecar
  wait_log "$off" 'streaming slot pgcqrs' 30  # the start-up finished what the last kill left
  # Then the moment a batch has written its intent: the kill falls between it and its finish,
  # unless the batch finishes first.
  deadline=$((SECONDS + 30))
  until [ "$(intents)" = 1 ]; do
    [ $SECONDS -lt $deadline ] || fail "no batch wrote its intent within 30 s (kill $kill)"
    sidecar_alive
  done
  kill -9 "$SC_PID"
  wait "$SC_PID" 2>/dev/null || true
  SC_PID=
  left=$((${left:-0} + $(intents)))
done
echo "kills that left a batch between its intent and its finish: $left of 6"
stop_writer || fail "the writer beside the kills failed"
start_sidecar
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after kill -9"
finished=$(grep -cE 'finished batch [0-9]+, which a stop left between its slots' "$LOG" || true)
[ "$finished" = "$left" ] || fail "$left kills left a batch unfinished, and $finished starts finished one"

step "TRUNCATE on the cluster: the walk over the masters, in batches of 10 orders, kill -9 halfway"
off=$(log_size)
start_sidecar --fanout-budget 10
sql "TRUNCATE order_items"
random_workload 200 31
wait_caught_up 120
verify_clean
stop_sidecar
sql "TRUNCATE orders CASCADE"
random_workload 100 32
start_sidecar --fanout-budget 10
# Halfway: the checkpoint holds the walk's cursor (the orders' phase, the buckets done and held, a
# master, its cursor).
deadline=$((SECONDS + 60))
until rc HGET pgcqrs:checkpoint partial_cursor | grep -qE '^orders:w[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]*\.[0-9]+$'; do
  [ $SECONDS -lt $deadline ] || fail "no walk cursor in the checkpoint within 60 s"
  sidecar_alive
  sleep 0.01
done
kill -9 "$SC_PID"
wait "$SC_PID" 2>/dev/null || true
SC_PID=
start_sidecar --fanout-budget 10
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after TRUNCATE"
log_clean_since "$off" "TRUNCATE"

step "status and a rebuild asked for on the cluster"
start_sidecar
"$SIDECAR" status >"$WORK/status.txt" 2>&1 || { cat "$WORK/status.txt"; fail "status failed on the cluster"; }
grep -q '^checkpoint:  [0-9A-F]*/[0-9A-F]* (slot pgcqrs' "$WORK/status.txt" || { cat "$WORK/status.txt"; fail "status shows no checkpoint"; }
off=$(log_size)
"$SIDECAR" rebuild >/dev/null
wait_log "$off" 'rebuilding the read models \(asked for\) into generation 1; readers keep generation 0' 30
wait_log "$off" 'deleted generation 0 of the read models, which readers left' 120
wait_caught_up 120
verify_clean
[ "$(rc HGET pgcqrs:checkpoint generation)" = 1 ] || fail "the rebuild did not switch readers to generation 1"
stop_sidecar

step "a fence past the checkpoint (a batch whose intent a failover lost): the start rebuilds"
rc HSET 'pgcqrs:fence:{5}' batch 999999999 >/dev/null
off=$(log_size)
start_sidecar
wait_log "$off" 'holds batch 999999999, past the checkpoint.s [0-9]+: a batch was applied whose intent is lost' 30
wait_log "$off" 'rebuilding the read models' 30
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after the rebuild"
echo "cluster sidecar: OK"
