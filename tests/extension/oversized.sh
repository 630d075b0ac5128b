#!/usr/bin/env bash
# Issue 14's first finding against a real server: an application message and a user name of
# control characters, sent by a role with no privilege but CONNECT (the message) and by the
# owner (the name), past the plugin's 1 MiB text limit. The slot must decode, cut both values
# with their size and digest, and go on to the next transaction; no backend may crash.
#
# By default the values are 2 MiB, enough to cross the limit. To reproduce the issue itself
# (180 MB, escaped 6x past PostgreSQL's 1 GB string limit, which wedged the slot before the
# limit existed; ~2 GB of server memory for a minute):
#   PGCQRS_OVERSIZED_BYTES=180000000 bash tests/extension/oversized.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh

bytes=${PGCQRS_OVERSIZED_BYTES:-2097152}

run_dir=$(mktemp -d /tmp/pgcqrs-oversized.XXXXXX)
cleanup() { pgcqrs_pg_remove "$run_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT
pgcqrs_pg_start "$run_dir"

psql -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION pgcqrs;
CREATE ROLE intruder LOGIN;
SELECT pg_create_logical_replication_slot('oversized', 'pgcqrs');
SQL
psql -qAt -v ON_ERROR_STOP=1 -U intruder \
  -c "SELECT pg_logical_emit_message(true, 'pgcqrs', decode(repeat('01', $bytes), 'hex'))" >/dev/null
psql -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
INSERT INTO users (name, email) VALUES (repeat(chr(1), $bytes), 'x@y');
INSERT INTO users (name, email) VALUES ('After', 'after@example.com');
SQL

# One decode of the whole slot; then every check on what it returned.
report=$(psql -qAt -v ON_ERROR_STOP=1 -F ' ' <<SQL
CREATE TEMP TABLE decoded AS
  SELECT data, data::jsonb AS m FROM pg_logical_slot_get_changes('oversized', NULL, NULL);
SELECT 'types', string_agg(m->>'type', ',') FROM decoded;
SELECT 'largest', max(octet_length(data)) <= 7 * 1048576 FROM decoded;
SELECT 'message', m->>'reason', octet_length(m->>'raw'), m->'truncated'->'raw'->>'bytes',
       m->'truncated'->'raw'->>'sha256' = encode(sha256(decode(repeat('01', $bytes), 'hex')), 'hex')
  FROM decoded WHERE m->>'type' = 'InvalidMessage';
SELECT 'name', octet_length(m->>'name'), m->'truncated'->'name'->>'bytes',
       m->'truncated'->'name'->>'sha256' = encode(sha256(convert_to(repeat(chr(1), $bytes), 'UTF8')), 'hex')
  FROM decoded WHERE m->>'type' = 'UserRegistered' AND m->>'email' = 'x@y';
SELECT 'after', m->>'name' FROM decoded WHERE m->>'type' = 'UserRegistered' AND m->>'email' = 'after@example.com';
SQL
)
echo "$report"

crashes=$(pgcqrs_as_owner grep -cE "terminated by signal|was terminated|all server processes terminated" \
  "$(pgcqrs_pg_log "$run_dir")" || true)

expect=$(cat <<EOF2
types begin,InvalidMessage,commit,begin,UserRegistered,commit,begin,UserRegistered,commit
largest t
message payload is $bytes bytes, over the limit of 1048576 1048576 $bytes t
name 1048576 $bytes t
after After
EOF2
)
fail=0
if [ "$report" != "$expect" ]; then
  echo "FAIL: the decoded slot differs from what the contract says:"
  diff <(echo "$expect") <(echo "$report") || true
  fail=1
fi
if [ "$crashes" != 0 ]; then
  echo "FAIL: the server log shows $crashes crashed backends"; fail=1
fi
[ $fail = 0 ] && echo "oversized: $bytes-byte message and name decoded, cut at 1048576 and marked"
exit $fail
