#!/usr/bin/env bash
# TLS to Redis (docs/operations.md, "TLS to Redis"): a Redis with certificates this test
# makes, reachable over TLS only (no plain-text port) and only by clients that show a
# certificate signed by its CA. The sidecar, its verify and status, and pgcqrs-query, given a
# rediss:// URL, the CA and a client certificate, stream and read; a wrong CA, a server name
# the certificate does not carry, no client certificate, a CA file that does not exist, a TLS
# option with a plain redis:// URL and a client key other users can read are each refused at
# start-up with exit status 2 and a line naming the cause and the fix.
#   tests/e2e/redis_tls.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/tls.sh
source scripts/lib/checks.sh
build=$(cd "${1:-build}" && pwd)
sidecar_bin=$build/sidecar/pgcqrs-sidecar
query_bin=$build/sidecar/pgcqrs-query

run_dir=$(mktemp -d /tmp/pgcqrs-redis-tls.XXXXXX)
sidecar=
pgcqrs_remove_at_exit "$run_dir" sidecar

certs=$run_dir/certs
mkdir -p "$certs"
pgcqrs_tls_ca "$certs" ca
pgcqrs_tls_ca "$certs" other
pgcqrs_tls_server "$certs" ca server
pgcqrs_tls_client "$certs" ca client
cp "$certs/client.key" "$certs/loose.key"
chmod 644 "$certs/loose.key"

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_tls_start "$run_dir" "$certs" server ca
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcqrs" >/dev/null
# PostgreSQL without TLS, as the harness's superuser: this test is about the Redis side.
conninfo="host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres"
redis_url="rediss://127.0.0.1:$PGCQRS_REDIS_TLS_PORT"
tls=(--redis-tls-ca "$certs/ca.crt" --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/client.key")
rcli() { redis-cli "${PGCQRS_REDIS_TLS_CLI[@]}" -p "$PGCQRS_REDIS_TLS_PORT" "$@"; }

order_total() { rcli HGET "order_details:{$(($1 % 64))}:$1" total 2>/dev/null; }
has_total() { [ "$(order_total "$1")" = "$2" ]; }
# Clients of Redis other than the redis-cli asking (its own line runs CLIENT LIST).
other_clients() { rcli CLIENT LIST | grep -vc 'cmd=client|list' || true; }
has_other_client() { [ "$(other_clients)" -ge 1 ]; }

# Redis serves TLS only: with no plain-text port, every connection below is encrypted.
redis_port=$(rcli CONFIG GET port | tail -1 || true)
if [ "$redis_port" = 0 ]; then ok; else fail "Redis has a plain-text port ($redis_port, expected 0)"; fi

# Streaming over TLS, with a client certificate.
log=$run_dir/sidecar.log
"$sidecar_bin" run --pg "$conninfo" --redis "$redis_url" "${tls[@]}" >"$log" 2>&1 &
sidecar=$!
order=$(psql -qAt -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('pen', 1.50);
SELECT place_order(1, '[{"product_id": 1, "quantity": 3}]');
SQL
)
if wait_for 60 "order $order reaches Redis over TLS" has_total "$order" 4.50; then ok; else tail -5 "$log"; fi
if wait_for 10 "the sidecar connected to Redis (CLIENT LIST)" has_other_client; then ok; else
  rcli CLIENT LIST; fi

# pgcqrs-query, verify and status over TLS.
if out=$("$query_bin" order "$order" --redis "$redis_url" "${tls[@]}" 2>&1) && grep -q 'total 4\.50' <<<"$out"; then
  ok; else fail "pgcqrs-query order $order over TLS: $(tail -3 <<<"$out")"; fi
if out=$("$sidecar_bin" verify --pg "$conninfo" --redis "$redis_url" "${tls[@]}" 2>&1); then ok; else
  fail "verify over TLS: $(tail -3 <<<"$out")"; fi
if out=$("$sidecar_bin" status --pg "$conninfo" --redis "$redis_url" "${tls[@]}" 2>&1); then ok; else
  fail "status over TLS: $(tail -3 <<<"$out")"; fi
# The name the certificate must carry, given rather than taken from the URL.
if out=$("$sidecar_bin" status --pg "$conninfo" --redis "$redis_url" "${tls[@]}" \
           --redis-tls-server-name localhost 2>&1); then ok; else
  fail "status over TLS with --redis-tls-server-name localhost: $(tail -3 <<<"$out")"; fi
kill -TERM "$sidecar" 2>/dev/null || true
wait "$sidecar" || true
sidecar=

# refused CASE PATTERN ARGS...: the sidecar run with ARGS exits 2 at start-up, its log
# matching PATTERN.
refused() {
  local status=0 out
  out=$(timeout 60 "$sidecar_bin" run --pg "$conninfo" "${@:3}" 2>&1) || status=$?
  if [ "$status" != 2 ]; then fail "$1: exit status $status (expected 2): $(tail -2 <<<"$out")"; return; fi
  if grep -qE -- "$2" <<<"$out"; then ok; else fail "$1: expected /$2/ in: $(tail -2 <<<"$out")"; fi
}
# What the sidecar says when it refuses (here only, to follow its wording).
fix='check --redis-tls-ca'
wrong_ca="critical Redis TLS at rediss://127\.0\.0\.1:[0-9]+: certificate verify failed.*: $fix"
wrong_name="critical Redis TLS at .*hostname mismatch.*: $fix"
no_client_cert="critical Redis TLS at .*certificate required.*: $fix"
no_ca_file='cannot read .*/nosuch\.crt \(--redis-tls-ca\)'
plain_url='--redis-tls-ca needs a rediss:// URL'
loose_key='can be accessed by other users.*chmod 600'

refused "a CA that did not sign Redis's certificate" "$wrong_ca" --redis "$redis_url" \
  --redis-tls-ca "$certs/other.crt" --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/client.key"
refused "a server name the certificate does not carry" "$wrong_name" --redis "$redis_url" "${tls[@]}" \
  --redis-tls-server-name pgcqrs.invalid
refused "no client certificate where Redis requires one" "$no_client_cert" --redis "$redis_url" \
  --redis-tls-ca "$certs/ca.crt"
refused "a CA file that does not exist" "$no_ca_file" --redis "$redis_url" \
  --redis-tls-ca "$certs/nosuch.crt" --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/client.key"
refused "a TLS option with a plain redis:// URL" "$plain_url" \
  --redis "redis://127.0.0.1:$PGCQRS_REDIS_TLS_PORT" --redis-tls-ca "$certs/ca.crt"
refused "a client key other users can read" "$loose_key" --redis "$redis_url" \
  --redis-tls-ca "$certs/ca.crt" --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/loose.key"

# pgcqrs-query refuses the same way (exit 2, the cause and the fix on stderr), and says what
# to do when given a plain URL to the TLS port.
status=0
out=$("$query_bin" order "$order" --redis "$redis_url" --redis-tls-ca "$certs/other.crt" \
  --redis-tls-cert "$certs/client.crt" --redis-tls-key "$certs/client.key" 2>&1) || status=$?
if [ "$status" = 2 ] && grep -qE "^pgcqrs-query: Redis TLS at .*certificate verify failed.*: $fix" <<<"$out"; then ok; else
  fail "pgcqrs-query with a wrong CA: exit $status: $out"; fi
status=0
out=$("$query_bin" order "$order" --redis "redis://127.0.0.1:$PGCQRS_REDIS_TLS_PORT" 2>&1) || status=$?
if [ "$status" = 2 ] && grep -qF "if this is Redis's tls-port, use a rediss:// URL" <<<"$out"; then ok; else
  fail "pgcqrs-query with redis:// to the TLS port: exit $status: $out"; fi

checks_done redis_tls
