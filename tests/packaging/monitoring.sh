#!/usr/bin/env bash
# The monitoring files of deploy/monitoring against a real Prometheus scraping a running
# sidecar:
# - promtool checks the alert rules and runs their unit tests (pgcqrs-alerts.test.yml), and
#   checks the example prometheus.yml;
# - a throwaway Prometheus (the example scrape job, a 1 s interval, the alert rules) scrapes
#   the sidecar while orders, an application event and a malformed message flow through it;
# - every rule evaluates without error, the series the rules use beyond the dashboard's
#   (the slot's retained WAL, the dirty mark) have data, and every query of the Grafana
#   dashboard (and its instance variable) returns data from that Prometheus.
# Usage: monitoring.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SIDECAR=$BUILD/sidecar/pgcqrs-sidecar
MON=$ROOT/deploy/monitoring
# shellcheck source=../../scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

WORK=$(mktemp -d /tmp/pgcqrs-monitoring.XXXXXX)
SC_PID= PROM_PID=
cleanup() {
  local rc=$?
  set +e
  [ -n "$SC_PID" ] && kill -9 "$SC_PID" 2>/dev/null
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  if [ $rc -ne 0 ]; then
    [ -f "$WORK/sidecar.log" ] && { echo "---- sidecar log (last 20 lines)"; tail -20 "$WORK/sidecar.log"; }
    [ -f "$WORK/prometheus.log" ] && { echo "---- prometheus log (last 20 lines)"; tail -20 "$WORK/prometheus.log"; }
  fi
  pgcqrs_pg_remove "$WORK"
  pgcqrs_redis_stop "$WORK"
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

step "promtool: the rules, their unit tests, the example configuration"
promtool check rules "$MON/pgcqrs-alerts.yml"
(cd "$MON" && promtool test rules pgcqrs-alerts.test.yml)
# The example names the packaged rules file; here, the one of this checkout.
sed "s#/usr/share/pgcqrs-sidecar/monitoring/#$MON/#" "$MON/prometheus.yml" >"$WORK/prometheus-example.yml"
promtool check config "$WORK/prometheus-example.yml"

step "the pipeline, with /metrics"
pgcqrs_pg_start "$WORK"
pgcqrs_redis_start "$WORK"
HTTP_PORT=$(pgcqrs_free_port)
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
sql -c "CREATE EXTENSION pgcqrs"
sql <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50), ('Ink', 2.25);
SQL
PGCQRS_PG="" PGCQRS_REDIS=redis://127.0.0.1:$PGCQRS_REDIS_PORT PGCQRS_HTTP=127.0.0.1:$HTTP_PORT \
  PGCQRS_HEARTBEAT_INTERVAL=1 PGCQRS_STATUS_INTERVAL_MS=200 "$SIDECAR" run >"$WORK/sidecar.log" 2>&1 &
SC_PID=$!

step "Prometheus scraping it"
PROM_PORT=$(pgcqrs_free_port)
# The example's scrape job, at the sidecar's address and every second.
{
  echo "global:"
  echo "  scrape_interval: 1s"
  echo "  evaluation_interval: 1s"
  sed -e "s/127.0.0.1:9187/127.0.0.1:$HTTP_PORT/" -e '/scrape_interval:/d' "$WORK/prometheus-example.yml"
} >"$WORK/prometheus.yml"
grep -qF "'127.0.0.1:$HTTP_PORT'" "$WORK/prometheus.yml" || fail "the example scrape job has no target 127.0.0.1:9187 to replace"
mkdir -p "$WORK/prom-data"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PROM=http://127.0.0.1:$PROM_PORT
# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds.
wait_for() {
  local seconds=$1 deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    kill -0 "$SC_PID" 2>/dev/null || fail "the sidecar exited"
    kill -0 "$PROM_PID" 2>/dev/null || fail "Prometheus exited"
    [ $SECONDS -lt $deadline ] || fail "not within $seconds s: $what"
    sleep 0.2
  done
}
ready() { curl -sf "$PROM/-/ready"; }
wait_for 60 "Prometheus is ready" ready
# query PROMQL: the result vector of an instant query (fails on an error).
query() {
  local out
  out=$(curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$1") || return 1
  jq -e '.status == "success"' <<<"$out" >/dev/null || return 1
  jq -c '.data.result' <<<"$out"
}
streaming_scraped() { [ "$(query 'pgcqrs_up{job="pgcqrs-sidecar"}' | jq -r '.[0].value[1]')" == 1 ]; }
wait_for 60 "Prometheus scrapes pgcqrs_up 1 from the sidecar" streaming_scraped

step "orders, an application event and a malformed message"
for i in 1 2 3; do
  sql -c "SELECT place_order(1, '[{\"product_id\": $((i % 2 + 1)), \"quantity\": $i}]')" >/dev/null
done
sql -c "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"CouponIssued\",\"coupon\":7}')" >/dev/null
sql -c "SELECT pg_logical_emit_message(true, 'pgcqrs', 'not json')" >/dev/null
three_orders() { [ "$(redis-cli -p "$PGCQRS_REDIS_PORT" EXISTS "order_details:{3}:3")" == 1 ]; }
wait_for 30 "order 3 reaches Redis" three_orders
invalid_scraped() {
  [ "$(query 'pgcqrs_events_ignored_total{type="InvalidMessage"}' | jq -r '.[0].value[1]')" == 1 ]
}
wait_for 30 "Prometheus has the malformed message counted" invalid_scraped

step "the series the rules use beyond the dashboard's return data"
# The WAL the slot retains (read by the sidecar from pg_replication_slots) is more than 0
# bytes and less than 16 MiB (this test writes a few kB); the checkpoint is not dirty.
retained_scraped() {
  local v
  v=$(query 'pgcqrs_slot_wal_retained_bytes{job="pgcqrs-sidecar"}' | jq -r '.[0].value[1]')
  [ "$v" -gt 0 ] && [ "$v" -lt 16777216 ]
}
wait_for 30 "Prometheus has pgcqrs_slot_wal_retained_bytes between 1 and 16 MiB" retained_scraped
dirty_scraped() { [ "$(query 'pgcqrs_checkpoint_dirty{job="pgcqrs-sidecar"}' | jq -r '.[0].value[1]')" == 0 ]; }
wait_for 30 "Prometheus has pgcqrs_checkpoint_dirty 0" dirty_scraped

step "the alert rules evaluate"
rules_ok() {
  local out
  out=$(curl -sf "$PROM/api/v1/rules") || return 1
  # Every rule of the file loaded, evaluated at least once, without error.
  [ "$(jq '[.data.groups[].rules[]] | length' <<<"$out")" == "$(grep -c '^      - alert:' "$MON/pgcqrs-alerts.yml")" ] &&
    jq -e '[.data.groups[].rules[] | select(.health != "ok")] | length == 0' <<<"$out"
}
wait_for 30 "every alert rule has evaluated with health ok" rules_ok

step "every query of the dashboard returns data"
DASH=$MON/pgcqrs-dashboard.json
jq -e '.uid and .title and (.panels | length > 0)' "$DASH" >/dev/null || fail "the dashboard has no uid, title or panels"
[ "$(jq '[.panels[].id] | unique | length' "$DASH")" == "$(jq '.panels | length' "$DASH")" ] || fail "panel ids repeat"
# The dashboard's variables as Grafana fills them: every sidecar, and a rate window.
grafana_subst() { sed -e 's/\$instance/.*/g' -e 's/\$__rate_interval/1m/g'; }
instance_query=$(jq -r '.templating.list[] | select(.name == "instance") | .definition' "$DASH")
[[ $instance_query =~ ^label_values\(([a-z_]+),\ instance\)$ ]] || fail "the instance variable is '$instance_query'"
instance_metric=${BASH_REMATCH[1]}
instances=$(curl -sf --get "$PROM/api/v1/label/instance/values" --data-urlencode "match[]=$instance_metric" | jq -c '.data')
[ "$instances" == "[\"127.0.0.1:$HTTP_PORT\"]" ] || fail "the instance variable finds $instances"
n=0
has_data() { [ "$(query "$1" | jq 'length')" -gt 0 ]; }
while IFS=$'\t' read -r title expr; do
  promql=$(grafana_subst <<<"$expr")
  grep -q '\$' <<<"$promql" && fail "panel '$title': a variable the test does not fill: $expr"
  # Rates need two scrapes after the first order: wait for data rather than assume it.
  wait_for 20 "panel '$title' has data for: $promql" has_data "$promql"
  n=$((n + 1))
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$DASH")
[ "$n" -ge "$(jq '.panels | length' "$DASH")" ] || fail "only $n queries in the dashboard"
echo "   $n queries of $(jq '.panels | length' "$DASH") panels answered"
echo "ok"
