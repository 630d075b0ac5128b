#!/usr/bin/env bash
# Rebuilds without downtime (docs/consistency.md, "During a rebuild"): readers poll orders
# and users' pages throughout rebuilds under write load, as the documented reader user, and
# never see one missing or older than they saw before. The rebuilds: one asked for with
# `pgcqrs-sidecar rebuild`, one started by a layout change, and two stopped by kill -9, in
# the copy and after the switch, which the next start finishes. After each, the oracle
# finds 0 differences and no key of another generation is left.
#   tests/e2e/blue_green.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/fault_lib.sh"
source "$ROOT/scripts/lib/documented_roles.sh"
cd "$ROOT"  # the documented roles are read from docs/security.md

start_servers ""
seed_write_model 40 20 20000
watched_orders=(1 7 19 101 5003 19999)
watched_users=(1 2 3)
reader_pw=rd-$RANDOM$RANDOM
pgcqrs_documented_acl pgcqrs-reader "$reader_pw" redis-cli -p "$PGCQRS_REDIS_PORT"
printf '%s\n' "$reader_pw" >"$WORK/reader.pw"
chmod 600 "$WORK/reader.pw"
query() {  # query COMMAND ARGS...
  "$QUERY" "$@" --redis "redis://127.0.0.1:$PGCQRS_REDIS_PORT" --redis-user pgcqrs-reader \
    --redis-password-file "$WORK/reader.pw"
}
field() { grep -o "\"$1\": *\"[^\"]*\"" | head -1 | sed 's/.*: *"\(.*\)"/\1/'; }   # a string
number() { grep -o "\"$1\": *[0-9]*" | head -1 | sed 's/.*: *//'; }
generation() { rc HGET pgcqrs:checkpoint generation; }

start_sidecar
wait_caught_up 120
verify_clean
[ "$(generation)" = 0 ] || fail "the first copy wrote generation '$(generation)', not 0"

# Readers: each order's status only moves forward, each user's newest order id only grows,
# and nothing read is ever missing. Violations go to a file; the loop runs until told to stop.
reader() {
  local -A rank=([pending]=0 [paid]=1 [shipped]=2 [delivered]=3 [cancelled]=4)
  local -A seen_status seen_newest
  local o u out status newest reads=0
  while [ ! -e "$WORK/readers.stop" ]; do
    for o in "${watched_orders[@]}"; do
      out=$(query order "$o" --json 2>&1) || { echo "order $o: missing: $out" >>"$WORK/violations"; continue; }
      status=$(field status <<<"$out")
      if [ -n "${seen_status[$o]:-}" ] && [ "${rank[$status]}" -lt "${rank[${seen_status[$o]}]}" ]; then
        echo "order $o: status $status after ${seen_status[$o]}" >>"$WORK/violations"
      fi
      seen_status[$o]=$status
      reads=$((reads + 1))
    done
    for u in "${watched_users[@]}"; do
      out=$(query user-orders "$u" --json 2>&1) || { echo "user $u: page failed: $out" >>"$WORK/violations"; continue; }
      newest=$(number order_id <<<"$out")
      if [ -z "$newest" ]; then
        echo "user $u: empty page" >>"$WORK/violations"
      elif [ -n "${seen_newest[$u]:-}" ] && [ "$newest" -lt "${seen_newest[$u]}" ]; then
        echo "user $u: newest order $newest after ${seen_newest[$u]}" >>"$WORK/violations"
      fi
      seen_newest[$u]=${newest:-${seen_newest[$u]:-}}
      reads=$((reads + 1))
      echo "$reads" >"$WORK/reads"
    done
  done
}
# Writes meanwhile: new orders for the watched users, and the watched orders' statuses moved
# one step at a time (pending, paid, shipped, delivered). It holds still while the oracle
# compares (writer.pause), saying so with writer.paused.
writer() {
  local i=0 next
  while [ ! -e "$WORK/readers.stop" ]; do
    if [ -e "$WORK/writer.pause" ]; then
      touch "$WORK/writer.paused"
      sleep 0.05
      continue
    fi
    rm -f "$WORK/writer.paused"
    i=$((i + 1))
    next=$(( (i / 7) % 3 ))
    psql -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT place_order(${watched_users[i % 3]}, '[{"product_id": $(( 1 + i % 20 )), "quantity": 1}]');
UPDATE orders SET status = (ARRAY['paid', 'shipped', 'delivered'])[$((next + 1))]
 WHERE id = ${watched_orders[i % ${#watched_orders[@]}]}
   AND status = (ARRAY['pending', 'paid', 'shipped'])[$((next + 1))];
SQL
  done
}
: >"$WORK/violations"
reader & reader_pid=$!
writer & writer_pid=$!
stop_load() {
  touch "$WORK/readers.stop"
  wait "$reader_pid" "$writer_pid"
}
reads_now() { cat "$WORK/reads" 2>/dev/null || echo 0; }
# wait_reads_since COUNT: until the readers, whose read count was COUNT, have read every order
# and page twice more (so their reads overlap what the caller waited for).
wait_reads_since() {
  local deadline=$((SECONDS + 60))
  until [ "$(reads_now)" -ge $(( $1 + 2 * (${#watched_orders[@]} + ${#watched_users[@]}) )) ]; do
    [ $SECONDS -lt $deadline ] || fail "the readers stopped reading: $(head -3 "$WORK/violations")"
    sleep 0.05
  done
}
no_violations() {
  [ ! -s "$WORK/violations" ] || fail "$1: readers saw: $(head -5 "$WORK/violations")"
}
# Waits until readers read generation $1 and the generation they left is deleted.
wait_switched() {  # wait_switched GENERATION SECONDS
  local deadline=$((SECONDS + $2)) g retired
  while :; do
    { read -r g; read -r retired; } < <(rc HMGET pgcqrs:checkpoint generation retired)
    [ "$g" = "$1" ] && [ -z "$retired" ] && return 0
    [ $SECONDS -lt $deadline ] || fail "readers do not read generation $1 within $2 s (generation '$g', retired '$retired')"
    [ -z "$SC_PID" ] || sidecar_alive
    sleep 0.05
  done
}
after_rebuild() {  # after_rebuild GENERATION WHAT
  local deadline=$((SECONDS + 30))
  wait_switched "$1" 120
  rm -f "$WORK/writer.paused"  # said again by the writer for this pause, not the last one
  touch "$WORK/writer.pause"  # the oracle compares a write model at rest
  until [ -e "$WORK/writer.paused" ]; do
    [ $SECONDS -lt $deadline ] || fail "the writer did not pause"
    sleep 0.02
  done
  wait_caught_up 120
  verify_clean  # also: no key of another generation is left
  rm -f "$WORK/writer.pause"
  no_violations "$2"
}

step "a rebuild asked for while streaming under load: readers keep generation 0, then read 1"
wait_reads_since "$(reads_now)"
r0=$(reads_now)
off=$(log_size)
"$SIDECAR" rebuild >"$WORK/rebuild.txt" || { cat "$WORK/rebuild.txt"; fail "pgcqrs-sidecar rebuild exited $?"; }
grep -q '^rebuild asked for at ' "$WORK/rebuild.txt" || fail "rebuild said: $(cat "$WORK/rebuild.txt")"
wait_log "$off" 'rebuilding the read models \(asked for\) into generation 1; readers keep generation 0' 30
after_rebuild 1 "an asked-for rebuild"
wait_reads_since "$r0"
wait_log "$off" 'deleted generation 0 of the read models, which readers left' 10
[ "$(rc --scan --pattern 'order_details:*' | wc -l)" = 0 ] || fail "generation 0's orders are left"
[ "$(rc EXISTS "g1:order_details:{31}:19999")" = 1 ] || fail "generation 1 has no order_details:{31}:19999"
[ "$(metric pgcqrs_read_model_generation)" = 1 ] || fail "/metrics generation: $(metric pgcqrs_read_model_generation)"
http_get /healthz | tr -d '\r' | grep -qx 'streaming; readers read generation 1' || fail "/healthz: $(http_get /healthz)"

step "a layout change rebuilds into generation 2 while readers keep 1"
stop_sidecar
rc HSET pgcqrs:checkpoint layout 2 >/dev/null
off=$(log_size)
r0=$(reads_now)
start_sidecar
wait_log "$off" 'rebuilding the read models \(read models of layout 2\) into generation 2; readers keep generation 1' 30
after_rebuild 2 "a layout rebuild"
wait_reads_since "$r0"

# kill_at FIELD STEP: asks for a rebuild, and kill -9s the sidecar once the checkpoint's FIELD
# is the generation readers read plus STEP, frozen first (SIGSTOP) so that the state seen is
# the state it dies in. Sets KILLED_AT to that generation.
kill_at() {
  local field=$1 step=$2 attempt value want
  for attempt in 1 2 3; do
    want=$(( $(generation) + step ))
    "$SIDECAR" rebuild >/dev/null
    # One redis-cli asking every millisecond, not one process per poll: on a loaded machine
    # starting each took longer than `retired` lives (the old generation's deletion, ~0.1 s).
    # grep ends the watch at the first match; the pipeline's status is redis-cli's.
    rc -r -1 -i 0.001 HGET pgcqrs:checkpoint "$field" 2>/dev/null | timeout 60 grep -m1 -qx -- "$want" ||
      [ "${PIPESTATUS[1]}" = 0 ] || fail "the checkpoint's $field never became $want"
    kill -STOP "$SC_PID"
    value=$(rc HGET pgcqrs:checkpoint "$field")
    kill -9 "$SC_PID"
    wait "$SC_PID" 2>/dev/null || true
    SC_PID=
    if [ "$value" = "$want" ]; then KILLED_AT=$want; return 0; fi
    # It moved past that point before it froze: let a new start finish, then try again.
    start_sidecar
    wait_switched "$(generation)" 120
    wait_caught_up 120
  done
  fail "three rebuilds went past $field = $want before the sidecar froze"
}

step "kill -9 in the copy: readers keep their generation; the next start copies the next one again"
kill_at rebuilding 1
copying=$KILLED_AT
g=$((copying - 1))
[ "$(generation)" = "$g" ] || fail "readers were switched to generation $(generation) by a copy that did not finish"
r0=$(reads_now)
wait_reads_since "$r0"
no_violations "after kill -9 in the copy"
off=$(log_size)
start_sidecar
wait_log "$off" "a rebuild into generation $copying stopped before it finished: starting it again; readers keep generation $g" 30
after_rebuild "$copying" "a rebuild stopped in its copy"

step "kill -9 after the switch, while the generation left is deleted: the next start finishes the deletion"
kill_at retired 0
g=$KILLED_AT
next=$(generation)
[ "$next" = $((g + 1)) ] || fail "after the switch readers read generation $next, not $((g + 1))"
r0=$(reads_now)
wait_reads_since "$r0"
off=$(log_size)
start_sidecar
wait_log "$off" "deleted generation $g of the read models, which readers left" 30
after_rebuild "$next" "a rebuild stopped after its switch"

stop_load
no_violations "the whole run"
reads=$(reads_now)
[ "$reads" -ge 100 ] || fail "the readers read only $reads times"
stop_sidecar
echo "blue/green: 4 rebuilds, $reads reads, none missing or older than before"
