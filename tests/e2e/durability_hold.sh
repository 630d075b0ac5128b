#!/usr/bin/env bash
# The durability hold, end to end (docs/sidecar.md, "Confirmations"; docs/consistency.md,
# "Nothing lost"): for each Redis persistence setting the slot's confirmed_flush_lsn reaches
# a transaction's commit LSN exactly when the docs say, never before Redis holds it:
#   appendfsync always, and no append-only file: as soon as Redis acknowledges;
#   appendfsync everysec: 2 s after; appendfsync no: 35 s after.
# Throughout, the confirmed position is never past the checkpoint.
#   tests/e2e/durability_hold.sh BUILD_DIR
BUILD=$(cd "${1:?usage: durability_hold.sh BUILD_DIR}" && pwd)
source "$(dirname "$0")/fault_lib.sh"

export PGCQRS_HEARTBEAT_INTERVAL=0   # no WAL of our own: the commit LSNs below are the writes'
start_servers "" "appendonly yes" "appendfsync always"
seed_write_model 5 5 0
start_sidecar
wait_caught_up

# phase NAME HOLD_MS LOG_REGEX: Redis set to NAME, the sidecar restarted (it reads the
# settings at start and logs what it decided), one order placed; then when it is confirmed.
phase() {
  local name=$1 hold=$2 regex=$3 offset t0 t_applied t_conf order lsn confirmed deadline held=0
  step "persistence $name: confirmed ${hold} ms after Redis acknowledges"
  case $name in
    aof-off) rc CONFIG SET appendonly no >/dev/null ;;
    *) rc CONFIG SET appendonly yes >/dev/null; rc CONFIG SET appendfsync "$name" >/dev/null ;;
  esac
  stop_sidecar
  offset=$(log_size)
  start_sidecar
  wait_log "$offset" "$regex" 30
  wait_log "$offset" "streaming slot pgcqrs" 30
  t0=$(now_ms)
  order=$(sql "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}]')")
  deadline=$((SECONDS + 30))
  until lsn=$(rc HGET "order_details:{$((order % 64))}:$order" lsn) && [ -n "$lsn" ]; do
    [ $SECONDS -lt $deadline ] || fail "order $order never reached Redis"
    sleep 0.02
  done
  t_applied=$(now_ms)
  deadline=$((SECONDS + hold / 1000 + 30))
  while :; do
    assert_not_confirmed_ahead
    confirmed=$(slot_confirmed)
    lsn_ge "$confirmed" "$lsn" && break
    held=$((held + 1))
    [ $SECONDS -lt $deadline ] || fail "the slot never confirmed $lsn (at $confirmed)"
    sleep 0.05
  done
  t_conf=$(now_ms)
  echo "   commit $lsn applied $((t_applied - t0)) ms after the write, confirmed $((t_conf - t0)) ms after it"
  if [ "$hold" -gt 0 ]; then
    # Redis acknowledged after the write began, so the hold cannot end before t0 + hold.
    [ $((t_conf - t0)) -ge "$hold" ] || fail "$name: confirmed $((t_conf - t0)) ms after the write, before the ${hold} ms hold"
    [ "$held" -gt 0 ] || fail "$name: never saw the slot behind the checkpoint"
  fi
  # ... and not much later: one status interval (100 ms) and the polling, with room for load.
  [ $((t_conf - t_applied)) -le $((hold + 2000)) ] ||
    fail "$name: confirmed $((t_conf - t_applied)) ms after Redis had it, hold ${hold} ms"
  log_clean_since "$offset" "$name"
}

phase always 0 "Redis appendfsync always: confirming positions once Redis acknowledges"
phase aof-off 0 "warn.* Redis has no append-only file: a Redis restart loses data and forces a full rebuild"
phase everysec 2000 "Redis appendfsync everysec: confirming positions 2000 ms after Redis acknowledges"
phase no 35000 "warn.* Redis appendfsync no: the OS decides when data reaches disk; holding confirmations 35000 ms"
verify_clean
echo "e2e_durability_hold: all checks passed"
