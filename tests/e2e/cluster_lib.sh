# Shared by the tests of the sidecar on a cluster (cluster_sidecar.sh, cluster_reshard.sh):
# the intent key, the cluster's own keys once the sidecar has stopped, and
# who serves a slot. Source it after fault_lib.sh, with rc() following the cluster's redirects.

# The intent's key: pgcqrs:intent:{N}, N the smallest number whose tag puts it in the
# checkpoint's slot (docs/scale-out.md), found by asking the cluster.
checkpoint_slot=$(rc CLUSTER KEYSLOT pgcqrs:checkpoint)
intent_key=$(seq 0 400000 | sed 's/.*/CLUSTER KEYSLOT {&}/' | rc |
             awk -v s="$checkpoint_slot" '$1 == s { print "pgcqrs:intent:{" NR - 1 "}"; exit }')
[ -n "$intent_key" ] || fail "no tag found for slot $checkpoint_slot"
intents() { rc EXISTS "$intent_key"; }  # 1 while a batch is between its intent and its finish

# The cluster's own keys once the sidecar has stopped: a fence in each of the 64 buckets'
# slots, each at most the checkpoint's batch number, and no intent.
cluster_settled() {
  local batch fences f n=0
  batch=$(rc HGET pgcqrs:checkpoint batch)
  [ -n "$batch" ] || fail "the checkpoint has no batch number"
  [ "$(intents)" = 0 ] || fail "an intent is left: $1"
  fences=$(for p in $PGCQRS_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" --scan --pattern 'pgcqrs:fence:*'; done | sort)
  for f in $fences; do
    n=$((n + 1))
    [ "$(rc HGET "$f" batch)" -le "$batch" ] || fail "$f is past the checkpoint's batch $batch: $1"
  done
  [ $n -eq 64 ] || fail "$n fences, not one per bucket: $1"
}

# cluster_slot_owner SLOT: the id of the master that serves SLOT, as the seed sees the cluster.
cluster_slot_owner() {
  redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES |
    awk -v slot="$1" '$3 ~ /master/ { for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; n = split($i, r, "-");
      if (slot >= r[1] && slot <= (n > 1 ? r[2] : r[1])) print $1 } }'
}

# cluster_node_port ID: the port of the node ID.
cluster_node_port() {
  redis-cli -p "$PGCQRS_REDIS_CLUSTER_SEED" CLUSTER NODES | awk -v id="$1" '$1 == id { split($2, a, "[:@]"); print a[2] }'
}

# start_writer SEED: random workloads of 20 statements, seeds SEED, SEED + 1, ..., one after the
# other in the background until stop_writer, which fails if a statement did.
WRITER_PID=
start_writer() {
  rm -f "$WORK/writer.stop"
  (seed=$1; until [ -e "$WORK/writer.stop" ]; do random_workload 20 $((seed++)); done) &
  WRITER_PID=$!
}
stop_writer() {
  [ -n "$WRITER_PID" ] || return 0
  local pid=$WRITER_PID
  WRITER_PID=
  touch "$WORK/writer.stop"
  wait "$pid"
}
