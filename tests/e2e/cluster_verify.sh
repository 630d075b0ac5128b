#!/usr/bin/env bash
# The oracle on a Redis Cluster: read models that the sidecar wrote into one Redis, copied into a
# real cluster of three masters by `redis-cli --cluster import`, are checked by `verify` given
# the cluster (it reads every master, each key from the master of its slot): no difference,
# also while a slot is migrating and its key answers ASK; then one order's total changed
# on the cluster and one order hash deleted, and verify names both, and the deleted order's
# entry on its user's page. The sidecar does not write to a cluster yet; this is the reading side.
#   tests/e2e/cluster_verify.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/checks.sh
build=$(cd "${1:-build}" && pwd)
sidecar_bin=$build/sidecar/pgcqrs-sidecar

run_dir=$(mktemp -d /tmp/pgcqrs-cluster-verify.XXXXXX)
sidecar=
trap '[ -z "$sidecar" ] || { kill "$sidecar" 2>/dev/null; wait "$sidecar" 2>/dev/null; }
      pgcqrs_redis_cluster_stop "$run_dir/cluster"; pgcqrs_servers_remove "$run_dir"' EXIT

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir"
single=$PGCQRS_REDIS_PORT
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcqrs" >/dev/null
conninfo="host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres"

"$sidecar_bin" run --pg "$conninfo" --redis "redis://127.0.0.1:$single" >"$run_dir/sidecar.log" 2>&1 &
sidecar=$!
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO users (name, email) SELECT 'user ' || i, 'user' || i || '@example.com' FROM generate_series(1, 50) i;
INSERT INTO products (name, price) SELECT 'product ' || i, 1.25 * i FROM generate_series(1, 20) i;
SELECT place_order(1 + i % 50, json_build_array(json_build_object('product_id', 1 + i % 20, 'quantity', 1 + i % 3),
                                                json_build_object('product_id', 1 + (i + 7) % 20, 'quantity', 2))::jsonb)
FROM generate_series(1, 300) i;
UPDATE orders SET status = 'paid' WHERE id % 3 = 0;
UPDATE orders SET status = 'cancelled' WHERE id % 10 = 1;
UPDATE users SET name = 'renamed ' || id WHERE id % 7 = 0;
SQL
if out=$("$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$single" --verify-timeout 60 2>&1); then
  ok
else
  fail "verify of the single Redis: $out"
fi
kill "$sidecar" && wait "$sidecar" || true
sidecar=

pgcqrs_redis_cluster_start "$run_dir/cluster" 3 0
seed=$PGCQRS_REDIS_CLUSTER_SEED
if redis-cli --cluster import "127.0.0.1:$seed" --cluster-from "127.0.0.1:$single" --cluster-copy \
     >"$run_dir/import.log" 2>&1; then ok; else fail "redis-cli --cluster import: $(tail -3 "$run_dir/import.log")"; fi
cc() { redis-cli -c -p "$seed" "$@"; }
# Nothing writes to the cluster: its checkpoint is moved past any WAL the idle server writes
# before verify compares, so that verify does not wait for a sidecar.
cc HSET pgcqrs:checkpoint lsn FFFFFFFF/0 >/dev/null
keys=0
for port in $PGCQRS_REDIS_CLUSTER_PORTS; do
  n=$(redis-cli -p "$port" DBSIZE)
  if [ "$n" -gt 0 ]; then ok; else fail "master $port holds no key"; fi
  keys=$((keys + n))
done
single_keys=$(redis-cli -p "$single" DBSIZE)
if [ "$keys" = "$single_keys" ]; then ok; else fail "the cluster holds $keys keys, the single Redis $single_keys"; fi

if out=$("$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$seed" --verify-timeout 10 2>&1); then
  ok
else
  fail "verify of the cluster: $out"
fi
if grep -q ' 0 differences ' <<<"$out"; then ok; else fail "verify did not say 0 differences: $out"; fi

# A slot migrating, its key moved but the slot not handed over yet (redis-cli --cluster
# reshard's steps, stopped before the last): the old master answers ASK for the key, and verify
# follows it. (The slot is bucket 1's, its hash tag's: the other keys of the bucket, user 1's,
# product 1's, order 65's, top_products:{1}, ..., stay on the old master, which answers for them.)
slot=$(cc CLUSTER KEYSLOT "order_details:{1}:1")
owner_of() {  # the port of the master serving slot $1
  redis-cli -p "$seed" CLUSTER SLOTS | grep -v '^$' | paste - - - - - |
    awk -v s="$1" '$1 <= s && s <= $2 { print $4 }'
}
from=$(owner_of "$slot")
to=
for port in $PGCQRS_REDIS_CLUSTER_PORTS; do [ "$port" = "$from" ] || { to=$port; break; }; done
redis-cli -p "$to" CLUSTER SETSLOT "$slot" IMPORTING "$(redis-cli -p "$from" CLUSTER MYID)" >/dev/null
redis-cli -p "$from" CLUSTER SETSLOT "$slot" MIGRATING "$(redis-cli -p "$to" CLUSTER MYID)" >/dev/null
if [ "$(redis-cli -p "$from" MIGRATE 127.0.0.1 "$to" "order_details:{1}:1" 0 5000)" = OK ]; then ok; else
  fail "MIGRATE of order_details:{1}:1 from $from to $to failed"
fi
if [ "$(redis-cli -p "$from" EXISTS "order_details:{1}:1")" = "ASK $slot 127.0.0.1:$to" ]; then ok; else
  fail "the old master does not answer ASK for order_details:{1}:1: $(redis-cli -p "$from" EXISTS "order_details:{1}:1")"
fi
if out=$("$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$seed" --verify-timeout 10 2>&1) &&
   grep -q ' 0 differences ' <<<"$out"; then
  ok
else
  fail "verify of the cluster with slot $slot migrating: $out"
fi

cc HSET "order_details:{5}:5" total 0.00 >/dev/null
cc DEL "order_details:{6}:6" >/dev/null
code=0
out=$("$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$seed" --verify-timeout 10 2>&1) || code=$?
if [ "$code" = 1 ]; then ok; else fail "verify exited $code after the changes (expected 1): $out"; fi
if grep -q '^order_details:{5}:5 field total: ' <<<"$out"; then ok; else fail "verify did not name order_details:{5}:5's total: $out"; fi
if grep -q '^order_details:{6}:6' <<<"$out"; then ok; else fail "verify did not name the deleted order_details:{6}:6: $out"; fi
# Order 6 is user 7's (place_order above): its page entry no longer has an order to match.
if grep -q '^user_latest:{7}:7 entry ' <<<"$out"; then ok; else fail "verify did not name user 7's page: $out"; fi
if grep -q ' 3 differences ' <<<"$out"; then ok; else fail "verify did not count 3 differences: $out"; fi

checks_done cluster_verify
