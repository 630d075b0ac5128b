#!/usr/bin/env bash
# Failovers on a real cluster of three masters with a replica each. A CLUSTER FAILOVER while
# orders stream loses nothing: the sidecar goes on (at most a new session), no rebuild. A
# failover that loses writes the sidecar saw acknowledged: a master's replica is stopped (SIGSTOP) and its link cut while the
# sidecar streams orders into its master, which acknowledges them; the master is killed (kill -9), the replica resumed
# and promoted (CLUSTER FAILOVER TAKEOVER) without those writes. The sidecar's next session
# sees that replica's fences behind what was acknowledged, marks the read models dirty and
# rebuilds them: verify at 0 differences, never the lost writes served as if they were there.
#   tests/e2e/cluster_failover.sh BUILD_DIR
BUILD=$(cd "${1:?usage: cluster_failover.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

start_servers ""
pgcqrs_redis_cluster_start "$WORK/cluster" 3 1
trap 'code=$?; set +e; for f in "$WORK"/cluster/node*/redis/redis.pid; do kill -CONT "$(cat "$f")" 2>/dev/null || true; done
      pgcqrs_redis_cluster_stop "$WORK/cluster"; (exit $code); fault_cleanup' EXIT
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_CLUSTER_SEED"
rc() { redis-cli -c -p "$PGCQRS_REDIS_CLUSTER_SEED" "$@"; }
pid_of_port() { local c; c=$(grep -l "^port $1\$" "$WORK"/cluster/node*/redis/redis.conf | head -1); [ -n "$c" ] && cat "$(dirname "$c")/redis.pid"; }

step "the sidecar streams into three masters with a replica each"
seed_write_model 64 64 200
start_sidecar
wait_caught_up 120
verify_clean

step "a CLUSTER FAILOVER that loses nothing, while orders stream: no rebuild"
# The master that is neither the seed nor the checkpoint's, and its replica, which takes over
# once it has every write (a manual failover waits for that).
seed_id=$(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER MYID)
checkpoint_slot=$(rc CLUSTER KEYSLOT pgcqrs:checkpoint)
checkpoint_id=$(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
  awk -v slot="$checkpoint_slot" '$3 ~ /master/ { for (i = 9; i <= NF; i++) { n = split($i, r, "-");
    if (slot >= r[1] && slot <= (n > 1 ? r[2] : r[1])) print $1 } }')
other_id=$(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
  awk -v a="$seed_id" -v b="$checkpoint_id" '$3 ~ /master/ && $1 != a && $1 != b { print $1; exit }')
other_replica=$(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
  awk -v m="$other_id" '$4 == m { split($2, a, "[:@]"); print a[2]; exit }')
[ -n "$other_replica" ] || fail "no third master with a replica"
off=$(log_size)
place_orders 400 &
writer=$!
redis-cli -p "$other_replica" CLUSTER FAILOVER >/dev/null
deadline=$((SECONDS + 30))
until [ "$(redis-cli -p "$other_replica" ROLE | head -1)" = master ]; do
  [ $SECONDS -lt $deadline ] || fail "the replica $other_replica did not take over within 30 s"
  sleep 0.1
done
wait "$writer"
wait_caught_up 120
verify_clean
if log_since "$off" | grep -qE 'rebuilding the read models|lost batches'; then
  fail "a failover that lost nothing made the sidecar rebuild: $(log_since "$off" | grep -E 'rebuilding|lost' | head -2)"
fi
echo "sessions started during the failover: $(log_since "$off" | grep -c 'streaming slot pgcqrs' || true)"

# The master of the checkpoint's slot, which also holds a third of the buckets, if it is not
# the seed (the next session reaches the cluster through the seed); else another master.
read -r master_id master_port < <(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
  awk -v seed="$seed_id" -v slot="$checkpoint_slot" '$3 ~ /master/ && $1 != seed {
    split($2, a, "[:@]"); owns = 0
    for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (slot >= r[1] && slot <= (n > 1 ? r[2] : r[1])) owns = 1 }
    if (owns) { print $1, a[2]; found = 1; exit }
    if (!other) other = $1 " " a[2] }
  END { if (!found) print other }')
replica_port=$(redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
  awk -v m="$master_id" '$4 == m { split($2, a, "[:@]"); print a[2]; exit }')
[ -n "$master_port" ] && [ -n "$replica_port" ] || fail "no master with a replica besides the seed"
[ "$(redis-cli -p "$master_port" EXISTS pgcqrs:checkpoint)" = 1 ] ||
  fail "master $master_port does not serve the checkpoint's slot $checkpoint_slot"
master_pid=$(pid_of_port "$master_port") replica_pid=$(pid_of_port "$replica_port")
[ -n "$master_pid" ] && [ -n "$replica_pid" ] || fail "no pid for node $master_port or $replica_port"

step "writes acknowledged by master $master_port while its replica $replica_port is stopped"
# Stopped, then cut off: the master sends it nothing more (a stopped process still takes what
# reaches its socket, which it would apply once resumed).
kill -STOP "$replica_pid"
redis-cli -p "$master_port" CLIENT KILL TYPE replica >/dev/null
place_orders 300
wait_caught_up 120
off=$(log_size)

step "the master killed, the replica resumed and promoted without those writes"
kill -9 "$master_pid"
kill -CONT "$replica_pid"
redis-cli -p "$replica_port" CLUSTER FAILOVER TAKEOVER >/dev/null
deadline=$((SECONDS + 30))
until [ "$(redis-cli -p "$replica_port" ROLE | head -1)" = master ] &&
      redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER INFO | grep -q '^cluster_state:ok'; do
  [ $SECONDS -lt $deadline ] || fail "the replica did not take over within 30 s"
  sleep 0.1
done

step "the next session sees the lost batches and rebuilds"
# The checkpoint's slot behind what it acknowledged, or the other masters' fences past it:
# either names the loss.
wait_log "$off" 'lost batches its master had acknowledged: a failover promoted a replica|a batch was applied whose intent is lost' 60
wait_log "$off" 'rebuilding the read models \(a projection call stopped midway\)' 60
wait_caught_up 120
verify_clean
stop_sidecar
echo "cluster failover: OK"
