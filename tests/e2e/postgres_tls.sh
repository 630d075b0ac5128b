#!/usr/bin/env bash
# TLS to PostgreSQL (docs/operations.md, "TLS to PostgreSQL"): a cluster with certificates
# this test makes, reachable by the sidecar's documented role over TLS only. The sidecar, its
# verify and status, run with sslmode=verify-full against the right CA, stream and verify with
# every connection encrypted; a wrong CA, a host name the certificate does not name and a
# connection without TLS are each refused at start-up with exit status 2 and a line naming
# the cause and the fix.
#   tests/e2e/postgres_tls.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/tls.sh
source scripts/lib/checks.sh
source scripts/lib/documented_roles.sh
build=$(cd "${1:-build}" && pwd)
sidecar_bin=$build/sidecar/pgcqrs-sidecar

run_dir=$(mktemp -d /tmp/pgcqrs-tls.XXXXXX)
sidecar=
pgcqrs_remove_at_exit "$run_dir" sidecar

certs=$run_dir/certs
mkdir -p "$certs"
pgcqrs_tls_ca "$certs" ca
pgcqrs_tls_ca "$certs" other
pgcqrs_tls_server "$certs" ca server

pgcqrs_pg_start "$run_dir"
pgcqrs_redis_start "$run_dir"
redis_url="redis://127.0.0.1:$PGCQRS_REDIS_PORT"
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcqrs" >/dev/null
pgcqrs_pg_tls_on "$run_dir" "$certs" server

# The documented role, admitted over TLS only (its replication connection included: a
# logical one matches the database lines).
pw=tls-$RANDOM$RANDOM
pgcqrs_documented_sql "CREATE ROLE pgcqrs_sidecar" "$pw" || exit 1
hba=$(pgcqrs_pg_base "$run_dir")/pg/pg_hba.conf
{ echo "hostssl postgres pgcqrs_sidecar 127.0.0.1/32 scram-sha-256"
  echo "hostnossl postgres pgcqrs_sidecar 127.0.0.1/32 reject"
  cat "$hba"; } >"$hba.new"
cat "$hba.new" >"$hba" && rm "$hba.new"
psql -qAt -c "SELECT pg_reload_conf()" >/dev/null
export PGPASSWORD=$pw  # read by libpq in the sidecar; the test's own psql is the superuser's
conninfo="host=localhost port=$PGPORT dbname=postgres user=pgcqrs_sidecar sslmode=verify-full sslrootcert=$certs/ca.crt"

order_total() { redis-cli -p "$PGCQRS_REDIS_PORT" HGET "order_details:{$(($1 % 64))}:$1" total; }
has_total() { [ "$(order_total "$1")" = "$2" ]; }

# Streaming over TLS.
log=$run_dir/sidecar.log
"$sidecar_bin" run --pg "$conninfo" --redis "$redis_url" >"$log" 2>&1 &
sidecar=$!
order=$(psql -qAt -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('pen', 1.50);
SELECT place_order(1, '[{"product_id": 1, "quantity": 3}]');
SQL
)
if wait_for 60 "order $order reaches Redis over TLS" has_total "$order" 4.50; then ok; else tail -5 "$log"; fi

# Every connection of the sidecar's role is encrypted: the walsender and the queries.
read -r total encrypted < <(psql -qAt -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE s.ssl)
  FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'pgcqrs_sidecar'")
if [ "$total" -ge 2 ] && [ "$encrypted" = "$total" ]; then ok; else
  fail "the sidecar's connections: $encrypted of $total encrypted (expected all, at least 2)"; fi
walsender_ssl=$(psql -qAt -c "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)
  WHERE r.application_name = 'pgcqrs-sidecar'")
[ "$walsender_ssl" = t ] && ok || fail "the replication connection is not encrypted ('$walsender_ssl')"

# verify and status over TLS.
if out=$("$sidecar_bin" verify --pg "$conninfo" --redis "$redis_url" 2>&1); then ok; else
  fail "verify over TLS: $(tail -3 <<<"$out")"; fi
if out=$("$sidecar_bin" status --pg "$conninfo" --redis "$redis_url" 2>&1); then ok; else
  fail "status over TLS: $(tail -3 <<<"$out")"; fi
kill -TERM "$sidecar"
wait "$sidecar" || true
sidecar=

# refused CASE CONNINFO PATTERN: the sidecar exits 2 at start-up, its log matching PATTERN.
refused() {
  local status=0 out
  out=$(timeout 60 "$sidecar_bin" run --pg "$2" --redis "$redis_url" 2>&1) || status=$?
  if [ "$status" != 2 ]; then fail "$1: exit status $status (expected 2): $(tail -2 <<<"$out")"; return; fi
  if grep -qE "$3" <<<"$out"; then ok; else fail "$1: expected /$3/ in: $(tail -2 <<<"$out")"; fi
}
fix='check sslmode, sslrootcert \(the CA that signed the server.s certificate\), sslcert and sslkey in --pg'
refused "a CA that did not sign the server's certificate" \
  "host=localhost port=$PGPORT dbname=postgres user=pgcqrs_sidecar sslmode=verify-full sslrootcert=$certs/other.crt" \
  "critical PostgreSQL TLS: .*certificate verify failed.*: $fix"
refused "a host name the certificate does not name" \
  "host=pgcqrs.invalid hostaddr=127.0.0.1 port=$PGPORT dbname=postgres user=pgcqrs_sidecar sslmode=verify-full sslrootcert=$certs/ca.crt" \
  "critical PostgreSQL TLS: .*does not match host name \"pgcqrs.invalid\".*: $fix"
refused "a CA file that does not exist" \
  "host=localhost port=$PGPORT dbname=postgres user=pgcqrs_sidecar sslmode=verify-full sslrootcert=$certs/nosuch.crt" \
  "critical PostgreSQL TLS: .*root certificate file .*nosuch.crt.* does not exist.*: $fix"
refused "no TLS where pg_hba.conf requires it" \
  "host=localhost port=$PGPORT dbname=postgres user=pgcqrs_sidecar sslmode=disable" \
  "critical PostgreSQL refused the connection: .*no encryption \(SQLSTATE 28000\)"

checks_done postgres_tls
