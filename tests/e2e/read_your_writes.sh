#!/usr/bin/env bash
# Read-your-writes under kill -9 (docs/consistency.md): a reader that waits for a writer's
# write_token() and exits 0 must show that write, never an older state, whatever happened to
# the sidecar in between. Three parts:
#   1. a token taken while another session's open transaction holds WAL written after the
#      commit is reached without waiting for that transaction or for a heartbeat;
#   2. the lost update: an order applied but not yet confirmed, the sidecar killed, its status
#      changed, the sidecar restarted: the status must reach Redis;
#   3. a seeded storm: writers place orders and move their status, each read with --after,
#      the sidecar killed every 1-3 s; then the oracle.
# Usage: read_your_writes.sh BUILD_DIR [--seed N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/sidecar_log.sh
build=$(cd "$1" && pwd)
shift
seed=1 seconds=40
while [ $# -gt 0 ]; do
  case $1 in
    --seed) seed=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: read_your_writes.sh BUILD_DIR [--seed N] [--seconds S]" >&2; exit 2 ;;
  esac
done
RANDOM=$seed  # the storm's choices and kill intervals follow the seed
sidecar_bin=$build/sidecar/pgcqrs-sidecar
query_bin=$build/sidecar/pgcqrs-query

run_dir=$(mktemp -d /tmp/pgcqrs-ryw.XXXXXX)
sidecar= open_psql= writers=()
cleanup() {
  local rc=$?
  for p in "${writers[@]}" $open_psql $sidecar; do kill -9 "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ] && [ -f "$run_dir/sidecar.log" ]; then
    echo "---- sidecar log (last 40 lines)"; tail -40 "$run_dir/sidecar.log"
  fi
  pgcqrs_servers_remove "$run_dir"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
sql() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

pgcqrs_pg_start "$run_dir"
# everysec: the sidecar holds its confirmation about a second after Redis has a write, the
# window in which a kill -9 makes the stream replay what Redis already holds.
pgcqrs_redis_start "$run_dir" "appendonly yes" "appendfsync everysec"
export PGCQRS_REDIS="redis://127.0.0.1:$PGCQRS_REDIS_PORT" PGCQRS_PG=""
# No heartbeat within the test: a token must be reached without one.
export PGCQRS_HEARTBEAT_INTERVAL=0

sql "CREATE EXTENSION pgcqrs; CREATE TABLE scratch (x int)" >/dev/null
sql "INSERT INTO users (name, email) SELECT 'w' || i, 'w' || i || '@example.com' FROM generate_series(1, 4) i;
     INSERT INTO products (name, price) VALUES ('Pen', 1.50), ('Ink', 4.25)" >/dev/null

start_sidecar() {
  "$sidecar_bin" run >>"$run_dir/sidecar.log" 2>&1 &
  sidecar=$!
}
lsn_num() {  # X/Y -> one number
  local hi=${1%/*} lo=${1#*/}
  echo $(((16#$hi << 32) + 16#$lo))
}
checkpoint() { redis-cli -p "$PGCQRS_REDIS_PORT" HGET pgcqrs:checkpoint lsn; }
wait_checkpoint() {  # wait_checkpoint LSN: until Redis's checkpoint is at or past LSN
  local want cp deadline=$((SECONDS + 60))
  want=$(lsn_num "$1")
  while :; do
    cp=$(checkpoint)
    [ -n "$cp" ] && [ "$(lsn_num "$cp")" -ge "$want" ] && return 0
    [ $SECONDS -lt $deadline ] || fail "the checkpoint ($cp) did not reach $1 within 60 s"
    kill -0 "$sidecar" 2>/dev/null || fail "the sidecar exited"
    sleep 0.05
  done
}
order_status() {  # order_status ID TOKEN: the status a reader sees after TOKEN; exit 3 on timeout
  local out
  out=$("$query_bin" order "$1" --after "$2" --timeout "${3:-5000}" --json) || return $?
  sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' <<<"$out"
}

pgcqrs_log_begin "$run_dir/sidecar.log"
start_sidecar
wait_checkpoint "$(sql "SELECT write_token()")"
# The first start copies the write model; every later start must resume.
pgcqrs_log_check "$run_dir/sidecar.log" 'rebuilding the read models \(slot pgcqrs does not exist\)' ||
  fail "the first start"

step "a token past another session's open transaction is reached at once"
mkfifo "$run_dir/open.sql"
psql -qAtX -v ON_ERROR_STOP=1 <"$run_dir/open.sql" >"$run_dir/open.out" 2>&1 &
open_psql=$!
exec 5>"$run_dir/open.sql"
echo "BEGIN; INSERT INTO scratch VALUES (1);" >&5
order=$(sql "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}]')")
# The open transaction writes WAL after the order's commit, then idles, holding it unflushed.
echo "INSERT INTO scratch SELECT generate_series(1, 100); SELECT 'wrote';" >&5
deadline=$((SECONDS + 30))
until grep -q '^wrote$' "$run_dir/open.out"; do
  [ $SECONDS -lt $deadline ] || fail "the open transaction did not write: $(cat "$run_dir/open.out")"
  sleep 0.05
done
token=$(sql "SELECT write_token()")
status=$(order_status "$order" "$token" 5000) ||
  fail "pgcqrs-query --after $token --timeout 5000 exited $? beside an open transaction (documented timeout)"
[ "$status" = pending ] || fail "order $order: expected pending, read '$status'"
echo "COMMIT;" >&5
exec 5>&-
wait "$open_psql"
open_psql=

step "a status change after an applied, unconfirmed placement survives kill -9"
# The placement must be in Redis and not yet confirmed to the slot when the sidecar dies, so
# that the restart replays it together with the status change.
replayed=0
for attempt in 1 2 3 4 5; do
  order=$(sql "SELECT place_order(2, '[{\"product_id\": 2, \"quantity\": 3}]')")
  token=$(sql "SELECT write_token()")
  wait_checkpoint "$token"
  kill -9 "$sidecar"
  wait "$sidecar" 2>/dev/null || true
  confirmed=$(sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
  sql "UPDATE orders SET status = 'paid' WHERE id = $order" >/dev/null
  token=$(sql "SELECT write_token()")
  start_sidecar
  status=$(order_status "$order" "$token" 30000) || fail "the restarted sidecar did not reach $token (exit $?)"
  [ "$status" = paid ] || fail "order $order is paid in PostgreSQL, the reader saw '$status' (attempt $attempt)"
  if [ "$(lsn_num "$confirmed")" -lt "$(lsn_num "$token")" ]; then replayed=$((replayed + 1)); fi
done
# Each attempt killed the sidecar before it confirmed: the restart replayed the placement.
[ "$replayed" -eq 5 ] || fail "only $replayed of 5 kills landed before the confirmation"

step "seeded storm: writers read their own writes while the sidecar is killed (seed $seed, ${seconds} s)"
next_status() {  # the order's next status on its way (pending paid shipped delivered; or cancelled)
  case $1 in
    pending) if [ $((RANDOM % 4)) -eq 0 ]; then echo cancelled; else echo paid; fi ;;
    paid) if [ $((RANDOM % 5)) -eq 0 ]; then echo cancelled; else echo shipped; fi ;;
    shipped) echo delivered ;;
  esac
}
writer() {  # writer USER SEED END: one writer; prints "ok", "timeout" or "stale ..." per read
  local user=$1 end=$3 order to token got rc out
  local -a orders=() statuses=()
  RANDOM=$2
  while [ $SECONDS -lt "$end" ]; do
    local n=${#orders[@]} k=-1 i
    # Move the oldest order that can still move, or place one.
    for ((i = 0; i < n; i++)); do
      case ${statuses[i]} in pending|paid|shipped) k=$i; break ;; esac
    done
    if [ $k -lt 0 ] || [ $((RANDOM % 3)) -eq 0 ]; then
      # The write and its token in one session, as an application does.
      out=$(psql -qAtX -v ON_ERROR_STOP=1 \
              -c "SELECT place_order($user, '[{\"product_id\": $((1 + RANDOM % 2)), \"quantity\": $((1 + RANDOM % 5))}]')" \
              -c "SELECT write_token()")
      order=${out%%$'\n'*} token=${out##*$'\n'}
      orders+=("$order"); statuses+=(pending); k=$n; to=pending
    else
      order=${orders[k]}
      to=$(next_status "${statuses[k]}")
      token=$(psql -qAtX -v ON_ERROR_STOP=1 -c "UPDATE orders SET status = '$to' WHERE id = $order" \
                   -c "SELECT write_token()")
      statuses[k]=$to
    fi
    got=$(order_status "$order" "$token" 10000) && rc=0 || rc=$?
    case $rc in
      0) if [ "$got" = "$to" ]; then echo ok; else echo "stale order $order: wrote $to, read '$got' after $token"; fi ;;
      3) echo timeout ;;
      *) echo "error order $order: pgcqrs-query exited $rc" ;;
    esac
  done
}
end=$((SECONDS + seconds))
for user in 1 2 3; do
  writer "$user" "$((seed * 10 + user))" "$end" >"$run_dir/writer-$user.out" 2>"$run_dir/writer-$user.err" &
  writers+=($!)
done
kills=0
while [ $SECONDS -lt "$end" ]; do
  # 1.0 to 3.0 s between kills, from the seed; the wait is the fault's schedule, not a sync.
  sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
  [ $SECONDS -lt "$end" ] || break
  kill -0 "$sidecar" 2>/dev/null || fail "the sidecar exited on its own"
  kill -9 "$sidecar"
  wait "$sidecar" 2>/dev/null || true
  kills=$((kills + 1))
  start_sidecar
done
for p in "${writers[@]}"; do wait "$p" || fail "a writer failed: $(cat "$run_dir"/writer-*.err)"; done
writers=()
cat "$run_dir"/writer-*.out >"$run_dir/reads"
ok=$(grep -c '^ok$' "$run_dir/reads" || true)
timeouts=$(grep -c '^timeout$' "$run_dir/reads" || true)
bad=$(grep -v '^ok$\|^timeout$' "$run_dir/reads" || true)
echo "reads: $ok showed the write, $timeouts timed out, $(grep -c . <<<"$bad" || true) wrong; $kills kills"
[ -z "$bad" ] || fail "readers saw stale or failed reads:
$(head -10 <<<"$bad")"
[ "$kills" -ge $((seconds / 4)) ] || fail "only $kills kills in ${seconds} s"
# Timeouts are allowed only while a restart catches up; most reads must have waited and seen.
[ "$ok" -ge "$seconds" ] && [ "$timeouts" -le $((ok / 10)) ] ||
  fail "too few reads saw their write ($ok ok, $timeouts timeouts): the test proves nothing"

step "the oracle: Redis equals the write model"
wait_checkpoint "$(sql "SELECT write_token()")"
"$sidecar_bin" verify --pg "" --redis "$PGCQRS_REDIS" >"$run_dir/verify.log" 2>&1 ||
  fail "verify found differences: $(head -20 "$run_dir/verify.log")"
# Every restart resumed from the checkpoint: nothing after the first start rebuilt or failed.
pgcqrs_log_check "$run_dir/sidecar.log" || fail "the sidecar log shows what no step expected"
echo "PASS read_your_writes (seed $seed): $ok reads saw their write under $kills kills"
