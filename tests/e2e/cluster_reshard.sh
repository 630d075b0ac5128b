#!/usr/bin/env bash
# The sidecar while the cluster's slots move under it, each time with a backlog draining and a
# writer adding to it, and the oracle at 0 differences after:
# - `redis-cli --cluster reshard` between the three masters: the sidecar follows MOVED and ASK
#   within its session (no new session);
# - a fourth master, `add-node` and `rebalance`: a redirect to a node the session did not start
#   with ends it, and the next one writes to four masters;
# - a bucket's slot held MIGRATING by hand, its keys moved one MIGRATE at a time, and the
#   sidecar killed (kill -9) halfway and started again while the slot is split.
# The sidecar and the ACL users are docs/security.md's, on every node.
#   tests/e2e/cluster_reshard.sh BUILD_DIR
BUILD=$(cd "${1:?usage: cluster_reshard.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

start_servers ""
pgcqrs_redis_cluster_start "$WORK/cluster" 3 0
trap 'code=$?; set +e; stop_writer; pgcqrs_redis_cluster_stop "$WORK/cluster"; (exit $code); fault_cleanup' EXIT
source "$ROOT/scripts/lib/documented_roles.sh"
acl_users() {  # acl_users PORT: the documented sidecar user on the node
  (cd "$ROOT" && pgcqrs_documented_acl pgcqrs-sidecar sidecar-pw redis-cli -p "$1") || fail "the documented ACL user on node $1"
}
for port in $PGCQRS_REDIS_CLUSTER_PORTS; do acl_users "$port"; done
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED" PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD=sidecar-pw
rc() { redis-cli -c -p "$PGCQRS_REDIS_CLUSTER_SEED" "$@"; }  # follows the cluster's redirects
source "$(dirname "$0")/cluster_lib.sh"
masters() { redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES | awk '$3 ~ /master/ { print $1 }' | sort; }
sessions_since() { log_since "$1" | grep -c 'reconnecting in' || true; }

step "the initial copy into three masters"
seed_write_model 100 80 300
start_sidecar
wait_caught_up 120
verify_clean

step "redis-cli --cluster reshard between the masters while a backlog drains: no new session"
stop_sidecar
random_workload 1500 21
off=$(log_size)
start_sidecar
wait_log "$off" 'streaming slot pgcqrs' 30
start_writer 200
mapfile -t ids < <(masters)
from=${ids[0]} to=${ids[1]}
# 4,000 slots hold about 16 of the 64 buckets' slots.
redis-cli --cluster reshard "127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED" --cluster-from "$from" --cluster-to "$to" \
  --cluster-slots 4000 --cluster-yes >"$WORK/reshard.log" 2>&1 || { tail -20 "$WORK/reshard.log"; fail "reshard"; }
random_workload 100 22  # after the reshard: the session's map is stale for every slot that moved
stop_writer || fail "the writer beside the reshard failed"
wait_caught_up 120
verify_clean
[ "$(sessions_since "$off")" = 0 ] || { log_since "$off" | grep 'reconnecting in'; fail "the reshard cost a new session"; }
log_since "$off" | grep -qE 'Redis Cluster moved slot [0-9]+ from .* to ' || fail "the sidecar never followed a MOVED"
resends() { metric "pgcqrs_redis_cluster_resends_total{reason=\"$1\"}"; }
[ "$(resends moved)" -gt 0 ] || fail "no resend after MOVED counted"
log_clean_since "$off" "the reshard"

step "add-node and rebalance onto a fourth master while a backlog drains"
stop_sidecar
random_workload 1500 23
off=$(log_size)
start_sidecar
wait_log "$off" 'streaming slot pgcqrs' 30
start_writer 300
pgcqrs_redis_launch port "$WORK/cluster/node4" "cluster-enabled yes" "cluster-config-file nodes.conf" \
  "cluster-node-timeout 2000" "repl-diskless-sync-delay 0" || fail "the fourth node"
port4=$pgcqrs_redis_launched_port
acl_users "$port4"
redis-cli --cluster add-node "127.0.0.1:$port4" "127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED" >"$WORK/add-node.log" 2>&1 ||
  { cat "$WORK/add-node.log"; fail "add-node"; }
PGCQRS_REDIS_CLUSTER_PORTS="$PGCQRS_REDIS_CLUSTER_PORTS $port4"
deadline=$((SECONDS + 30))
until why=$(pgcqrs_redis_cluster_unready 4 0 $PGCQRS_REDIS_CLUSTER_PORTS); do
  [ $SECONDS -lt $deadline ] || fail "the fourth node did not join within 30 s: $why"
  sleep 0.1
done
redis-cli --cluster rebalance "127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED" --cluster-use-empty-masters \
  >"$WORK/rebalance.log" 2>&1 || { tail -20 "$WORK/rebalance.log"; fail "rebalance"; }
random_workload 100 24
stop_writer || fail "the writer beside the rebalance failed"
wait_caught_up 120
verify_clean
[ -n "$(redis-cli -p "$port4" --scan --pattern 'order_details:*' | head -1)" ] || fail "no order moved to the fourth master"
# The session that started before the node existed ended at its first redirect there; the next
# one read the map with four masters.
log_since "$off" | grep 'reconnecting in' | grep -q ":$port4" || fail "no session ended at a redirect to node $port4"

step "a bucket's slot MIGRATING by hand, its keys moved one at a time, kill -9 of the sidecar halfway"
slot=$(rc CLUSTER KEYSLOT '{7}')
src=$(cluster_slot_owner "$slot")
dst=$(masters | grep -vx "$src" | head -1)
src_port=$(cluster_node_port "$src") dst_port=$(cluster_node_port "$dst")
[ -n "$src_port" ] && [ -n "$dst_port" ] || fail "no owner for slot $slot"
redis-cli -p "$dst_port" CLUSTER SETSLOT "$slot" IMPORTING "$src" >/dev/null
redis-cli -p "$src_port" CLUSTER SETSLOT "$slot" MIGRATING "$dst" >/dev/null
start_writer 400
keys=$(redis-cli -p "$src_port" CLUSTER COUNTKEYSINSLOT "$slot")
[ "$keys" -gt 10 ] || fail "slot $slot holds only $keys keys"
moved=0 killed=no
while [ "$(redis-cli -p "$src_port" CLUSTER COUNTKEYSINSLOT "$slot")" -gt 0 ]; do
  key=$(redis-cli -p "$src_port" CLUSTER GETKEYSINSLOT "$slot" 1)
  [ -z "$key" ] || redis-cli -p "$src_port" MIGRATE 127.0.0.1 "$dst_port" "" 0 5000 KEYS "$key" >/dev/null
  moved=$((moved + 1))
  if [ $killed = no ] && [ $moved -ge $((keys / 2)) ]; then
    # Before the kill, the sink met the split slot: ASK for the keys moved, TRYAGAIN for a
    # transaction with keys on both sides.
    deadline=$((SECONDS + 30))
    until [ $(( $(resends ask) + $(resends tryagain) )) -gt 0 ]; do
      [ $SECONDS -lt $deadline ] || fail "no write met slot $slot split within 30 s"
      sleep 0.05
    done
    kill -9 "$SC_PID"
    wait "$SC_PID" 2>/dev/null || true
    SC_PID=
    start_sidecar
    killed=yes
  fi
done
for port in $dst_port $src_port; do redis-cli -p "$port" CLUSTER SETSLOT "$slot" NODE "$dst" >/dev/null; done
for port in $PGCQRS_REDIS_CLUSTER_PORTS; do redis-cli -p "$port" CLUSTER SETSLOT "$slot" NODE "$dst" >/dev/null 2>&1 || true; done
echo "moved $moved keys of slot $slot one at a time, the sidecar killed after $((keys / 2))"
random_workload 100 25
stop_writer || fail "the writer beside the migration failed"
wait_caught_up 120
verify_clean
stop_sidecar
cluster_settled "after the migrations"
