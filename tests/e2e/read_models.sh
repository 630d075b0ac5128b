#!/usr/bin/env bash
# Declarative read models end to end (docs/read-models.md): a model registered over tables of
# the user's own (a root, a LEFT lookup, an INNER lookup of that lookup, a filter), random
# writes of every kind (keys moved, parents renamed and rekeyed, NULL keys, deletes, TRUNCATE,
# rolled-back savepoints, two-phase commits), the sidecar killed with -9 and restarted, and
# the model in Redis compared with `SELECT * FROM` its view at each stop, and by verify; then
# a second model registered while the stream runs over rows written before it, which the
# rebuild its registration asks for copies; a model dropped; one replaced, readers kept on its
# old version until the rebuild switches (kill -9 in that rebuild's copy); pgcqrs-query;
# verify finding what was forged. With --cluster, on a Redis Cluster of three masters.
#   tests/e2e/read_models.sh BUILD_DIR [--cluster] [SEED]
# The sidecar, verify and pgcqrs-query run as docs/security.md's roles and Redis users, with
# the grants and key patterns it says a model needs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/checks.sh
source scripts/lib/documented_roles.sh
build=$(cd "${1:-build}" && pwd)
shift
cluster=
if [ "${1:-}" = --cluster ]; then cluster=1; shift; fi
seed=${1:-20261207}
sidecar_bin=$build/sidecar/pgcqrs-sidecar

run_dir=$(mktemp -d /tmp/pgcqrs-read-models.XXXXXX)
sidecar=
stop_sidecar() {
  if [ -n "$sidecar" ]; then kill "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null; fi
  sidecar=
  return 0
}
cleanup() {
  stop_sidecar
  [ -z "$cluster" ] || pgcqrs_redis_cluster_stop "$run_dir/cluster"
  [ -n "${KEEP:-}" ] || pgcqrs_servers_remove "$run_dir"
}
trap cleanup EXIT

pgcqrs_pg_start "$run_dir" "max_prepared_transactions = 4"
if [ -n "$cluster" ]; then
  pgcqrs_redis_cluster_start "$run_dir/cluster" 3 0
  port=$PGCQRS_REDIS_CLUSTER_SEED
  masters=$PGCQRS_REDIS_CLUSTER_PORTS
else
  pgcqrs_redis_start "$run_dir"
  port=$PGCQRS_REDIS_PORT
  masters=$port
fi
rc() { redis-cli -c -p "$port" "$@"; }  # follows a cluster's redirects; the default user, an admin here
for m in $masters; do
  pgcqrs_documented_acl pgcqrs-sidecar sidecar-pw redis-cli -p "$m"
  pgcqrs_documented_acl pgcqrs-reader reader-pw redis-cli -p "$m"
  # The models' hashes, as read-models.md says ("Access").
  redis-cli -p "$m" ACL SETUSER pgcqrs-sidecar '~card:*' '~urgent:*' '~sample:*' '~stats:*' '~thread:*' >/dev/null
  redis-cli -p "$m" ACL SETUSER pgcqrs-reader '~card:*' '~urgent:*' '~sample:*' '~stats:*' '~thread:*' '~g[0-9]*:card:*' \
    '~g[0-9]*:urgent:*' '~g[0-9]*:stats:*' '~g[0-9]*:thread:*' >/dev/null
done
export PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD=sidecar-pw
reader() { PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=reader-pw "$@"; }
scan() {  # scan PATTERN: the matching keys of every master
  local m
  for m in $masters; do redis-cli -p "$m" --scan --pattern "$1"; done
}
conninfo="host=127.0.0.1 port=$PGPORT dbname=postgres user=pgcqrs_sidecar"
sql() { psql -qAt -v ON_ERROR_STOP=1 "$@"; }

sql >/dev/null <<'SQL'
CREATE EXTENSION pgcqrs;
CREATE TABLE orgs (id bigint PRIMARY KEY, label text);
CREATE TABLE customers (id bigint PRIMARY KEY, name text, org_id bigint);
CREATE TABLE tickets (id bigint PRIMARY KEY, customer_id bigint, status text NOT NULL, title text,
                      urgent boolean, body text,
                      amount numeric(8,2) GENERATED ALWAYS AS (((id % 1000) - 300) / 7.0) STORED);
CREATE VIEW cards AS
  SELECT t.id, t.status, t.title, t.urgent, c.name AS customer, o.label AS org
    FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id JOIN orgs o ON o.id = c.org_id
   WHERE t.status <> 'spam';
SELECT name FROM register_read_model('cards', 'cards', 'card:{id}');
-- Grouped: a hash per (status, urgent), with counts and exact sums.
CREATE VIEW ticket_stats AS
  SELECT status, urgent, count(*) AS tickets, count(title) AS titled, sum(customer_id) AS customers,
         sum(amount) AS amount
    FROM tickets WHERE urgent IS NOT NULL AND status <> 'spam' GROUP BY status, urgent;
SELECT name FROM register_read_model('stats', 'ticket_stats', 'stats:{status}:{urgent}', rank => 'amount');
-- Nested: each ticket's open notes (a filter on the child rows: not done, which notes flip) as
-- an ordered JSON array, counted, summed, their greatest cost and least position, ranked by count.
CREATE TABLE notes (id bigint PRIMARY KEY, ticket_id bigint NOT NULL, pos int NOT NULL, body text, done boolean,
                    cost numeric(8,2));
CREATE VIEW ticket_threads AS
  SELECT t.id, t.status,
         coalesce((SELECT jsonb_agg(jsonb_build_object('pos', n.pos, 'body', n.body, 'done', n.done, 'cost', n.cost)
                                    ORDER BY n.pos DESC, n.id)
                     FROM notes n WHERE n.ticket_id = t.id AND NOT n.done), '[]') AS notes,
         (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done) AS note_count,
         (SELECT sum(n.cost) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done) AS cost,
         (SELECT max(n.cost) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done) AS top_cost,
         (SELECT min(n.pos) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done) AS first_pos
    FROM tickets t WHERE t.status <> 'spam';
SELECT name FROM register_read_model('threads', 'ticket_threads', 'thread:{id}', rank => 'note_count');
-- Values of many types, keyed by a uuid and a text (two columns): the copy, the stream and
-- verify must print each as PostgreSQL does (timestamptz in the contract's UTC form).
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE samples (u uuid, k text, n numeric, f float8, d date, ts timestamptz, j jsonb, a int[], b bytea,
                      m mood, i interval, ok boolean, small smallint, t text COLLATE "C", PRIMARY KEY (u, k));
CREATE VIEW sample_rows AS SELECT * FROM samples WHERE m <> 'busy';
SELECT name FROM register_read_model('samples', 'sample_rows', 'sample:{u}:{k}', rank => 'f');
SQL
pgcqrs_documented_sql "CREATE ROLE pgcqrs_sidecar" pw
sql -c "GRANT SELECT ON tickets, customers, orgs, cards, ticket_stats, notes, ticket_threads, samples, sample_rows TO pgcqrs_sidecar" >/dev/null
# A sample of every type, NULLs, edges; $1: how many, $2: the first id's offset.
samples() {
  sql >/dev/null <<SQL
INSERT INTO samples SELECT md5(($2 + g)::text)::uuid, 'key:' || g || E'\t' || repeat('é', g % 3),
    CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 1.5)::numeric / 7 END, g / 3.0::float8 + 1e-17 * g,
    DATE '2000-02-28' + g, CASE g % 5 WHEN 0 THEN 'infinity' WHEN 1 THEN '0044-03-15 12:00 BC'
                          ELSE TIMESTAMPTZ '2026-12-07 10:00:00.123456+05' + g * INTERVAL '1 hour' END,
    jsonb_build_object('g', g, 'q', 'a"b', 'l', jsonb_build_array(1, null, true)),
    ARRAY[g, -g], decode(md5(g::text), 'hex'), (ARRAY['calm', 'busy'])[1 + g % 2]::mood,
    make_interval(days => g, secs => g * 1.25), g % 3 = 0, (g % 100)::smallint,
    CASE WHEN g % 4 = 0 THEN NULL ELSE 'línea ' || g || E'\n"quoted"' END
  FROM generate_series(1, $1) g;
SQL
}
samples 40 0

start() {
  "$sidecar_bin" run --pg "$conninfo" --redis "redis://127.0.0.1:$port" --heartbeat-interval 1 \
    --fanout-budget 3 >>"$run_dir/sidecar.log" 2>&1 &
  sidecar=$!
}
applied() {  # the checkpoint has reached the server's WAL position now
  local target cp
  target=$(sql -c "SELECT pg_current_wal_lsn()")
  cp=$(rc HGET pgcqrs:checkpoint lsn)
  [ -n "$cp" ] && [ "$(sql -c "SELECT '$cp'::pg_lsn >= '$target'::pg_lsn")" = t ]
}
# A model's rows as the view shows them and as Redis holds them: "key field value" lines.
# The key: the template with the bucket (id mod 64) before the first value; NULL: no field.
view_lines() {  # view_lines VIEW KEY_STEM
  sql -F ' ' -c "SELECT '$2{' || (v.id % 64) || '}:' || v.id, f.key, f.value
                   FROM $1 v, jsonb_each_text(to_jsonb(v)) f WHERE f.value IS NOT NULL" |
    sed -e 's/ true$/ t/' -e 's/ false$/ f/' | LC_ALL=C sort
}
scope() {  # what precedes the keys of the generation readers read
  local g
  g=$(rc HGET pgcqrs:checkpoint generation)
  [ "${g:-0}" = 0 ] || echo "g$g:"
}
# The keys read on stdin but a ranking's sorted sets (STEM{b}, which verify checks); none is
# no error (grep's status 1 would end the script under pipefail, without a word).
hashes_only() { grep -v '}$' || true; }
redis_lines() {  # redis_lines KEY_STEM: the keys without the generation
  local s
  s=$(scope)
  scan "$s$1{*" | hashes_only | while read -r key; do
    rc HGETALL "$key" | paste -d ' ' - - | sed "s/^/${key#"$s"} /"
  done | LC_ALL=C sort
}
# A grouped model, whose keys hash their text: each row's fields on a line ("field=value|..."),
# keys aside (verify checks them), in the view and in Redis.
groups_same() {  # groups_same WHAT VIEW KEY_STEM
  local s
  s=$(scope)
  sql -c "SELECT string_agg(f.key || '=' || f.value, '|' ORDER BY f.key COLLATE \"C\")
            FROM (SELECT row_number() OVER () AS r, to_jsonb(v) AS j FROM $2 v) v, jsonb_each_text(v.j) f
           WHERE f.value IS NOT NULL GROUP BY v.r" |
    sed -e 's/=true\(|\|$\)/=t\1/g' -e 's/=false\(|\|$\)/=f\1/g' | LC_ALL=C sort >"$run_dir/view.txt"
  scan "$s$3{*" | hashes_only | while read -r key; do rc HGETALL "$key" | paste -d '=' - - | LC_ALL=C sort | paste -sd '|'; done |
    LC_ALL=C sort >"$run_dir/redis.txt"
  groups_compared=$((groups_compared + $(wc -l <"$run_dir/view.txt")))
  if diff "$run_dir/view.txt" "$run_dir/redis.txt" >"$run_dir/diff.txt"; then
    ok
  else
    fail "$1: $2 differs from Redis: $(head -5 "$run_dir/diff.txt")"
  fi
}
compared=0  # fields compared, over every check: they must be many for the checks to prove much
groups_compared=0  # the same, in groups of the grouped model
threads_compared=0  # and rows with several nested notes
# same WHAT VIEW KEY_STEM [no-verify|as-is]: KEY_STEM -: verify alone (keys not integers);
# as-is: Redis as it is, the sidecar stopped (no waiting, no verify).
same() {
  [ "${4:-}" = as-is ] || wait_for 60 "$1: caught up" applied || return 0
  if [ "$2" = ticket_threads ]; then
    threads_compared=$((threads_compared + $(sql -c "SELECT count(*) FROM ticket_threads WHERE note_count > 1")))
  fi
  if [ "$3" != - ]; then
    view_lines "$2" "$3" >"$run_dir/view.txt"
    redis_lines "$3" >"$run_dir/redis.txt"
    compared=$((compared + $(wc -l <"$run_dir/view.txt")))
    if diff "$run_dir/view.txt" "$run_dir/redis.txt" >"$run_dir/diff.txt"; then
      ok
    else
      fail "$1: $2 differs from Redis ($(grep -c '^[<>]' "$run_dir/diff.txt") lines): $(head -5 "$run_dir/diff.txt")"
    fi
  fi
  # The sidecar's oracle says the same of every model and of the built-in ones.
  if [ "${4:-}" = no-verify ] || [ "${4:-}" = as-is ]; then
    :
  elif "$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$port" >"$run_dir/verify.out" 2>&1; then
    ok
  else
    fail "$1: verify: $(tail -4 "$run_dir/verify.out")"
  fi
}

# Random writes: NTX transactions of a few statements each.
RANDOM=$seed
statuses=(open open closed pending spam)
bodies=("'plain'" "E'line\\nbreak \"quoted\" back\\\\slash'" "'é ü 漢'" "NULL")
urgency=(true false NULL)
writes() {  # writes NTX
  local i k n s a b
  for ((i = 0; i < $1; i++)); do
    n=$((RANDOM % 4 + 1))
    s="BEGIN;"
    for ((k = 0; k < n; k++)); do
      case $((RANDOM % 28)) in
        24 | 25)  # a note: new or changed, moved to another ticket; odd text
          a=$((RANDOM % 80 + 1))
          s+="INSERT INTO notes VALUES ($a, $(((RANDOM % 3)) && echo $((RANDOM % 10 + 1)) || echo $((RANDOM % 60 + 101))),"
          s+=" $((RANDOM % 4)), ${bodies[RANDOM % 4]}, ${urgency[RANDOM % 3]}, $(((RANDOM % 4)) && echo "$((RANDOM % 2000 - 500)).$((RANDOM % 10))5" || echo NULL)),"
          s+=" ($((a + 80)), $((RANDOM % 10 + 1)), $((RANDOM % 4)), 'second', false, 1.50)"
          s+=" ON CONFLICT (id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id, pos = EXCLUDED.pos, body = EXCLUDED.body, done = EXCLUDED.done,"
          s+=" cost = EXCLUDED.cost;" ;;
        26) s+="DELETE FROM notes WHERE id = $((RANDOM % 160 + 1));" ;;
        27) a=$((RANDOM % 160 + 1)); s+="UPDATE notes SET id = $((a + 1000)), done = NOT done WHERE id = $a AND NOT EXISTS (SELECT FROM notes WHERE id = $((a + 1000)));" ;;
        0 | 1 | 2 | 3 | 4)
          s+="INSERT INTO tickets VALUES ($((RANDOM % 60 + 1)), $( ((RANDOM % 6)) && echo $((RANDOM % 12 + 1)) || echo NULL)," \
          s+=" '${statuses[RANDOM % 5]}', 't$((RANDOM % 5))', ${urgency[RANDOM % 3]}, 'b')"
          s+=" ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, status = EXCLUDED.status,"
          s+=" urgent = EXCLUDED.urgent;" ;;
        5) s+="UPDATE tickets SET title = NULL WHERE id % 7 = $((RANDOM % 7));" ;;
        6) a=$((RANDOM % 60 + 1)); s+="UPDATE tickets SET id = $((a + 100)) WHERE id = $a AND NOT EXISTS (SELECT FROM tickets WHERE id = $((a + 100)));" ;;
        7) s+="DELETE FROM tickets WHERE id = $((RANDOM % 160 + 1));" ;;
        8) s+="UPDATE tickets SET body = repeat('x', 5000) || id WHERE id % 5 = $((RANDOM % 5));" ;;  # TOAST, then left untouched
        9 | 10 | 20 | 21)
          s+="INSERT INTO customers VALUES ($((RANDOM % 12 + 1)), 'c$((RANDOM % 9))', $( ((RANDOM % 5)) && echo $((RANDOM % 5 + 1)) || echo NULL))"
          s+=" ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, org_id = EXCLUDED.org_id;" ;;
        11) s+="DELETE FROM customers WHERE id = $((RANDOM % 12 + 1));" ;;
        12) a=$((RANDOM % 12 + 1)) b=$((RANDOM % 12 + 1)); s+="UPDATE customers SET id = $b WHERE id = $a AND NOT EXISTS (SELECT FROM customers WHERE id = $b);" ;;
        13 | 14 | 22 | 23) s+="INSERT INTO orgs VALUES ($((RANDOM % 5 + 1)), 'o$((RANDOM % 9))') ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label;" ;;
        15) s+="DELETE FROM orgs WHERE id = $((RANDOM % 5 + 1));" ;;
        16) s+="SAVEPOINT s; UPDATE orgs SET label = 'rolled back'; DELETE FROM tickets; ROLLBACK TO SAVEPOINT s;" ;;
        17) s+="UPDATE tickets SET status = 'spam' WHERE id % 9 = $((RANDOM % 9));" ;;
        18)  # a TRUNCATE, and rows again in the same transaction
          case $((RANDOM % 24)) in
            0) s+="TRUNCATE orgs; INSERT INTO orgs SELECT g, 'o' || g FROM generate_series(1, 5) g;" ;;
            1) s+="TRUNCATE customers; INSERT INTO customers SELECT g, 'c' || g, g % 5 + 1 FROM generate_series(1, 12) g;" ;;
            2) s+="TRUNCATE tickets; INSERT INTO tickets SELECT g, g % 12 + 1, 'open', 't' || g FROM generate_series(1, 30) g;" ;;
            3) s+="TRUNCATE notes; INSERT INTO notes SELECT g, g % 30 + 1, g % 3, 'n' || g, g % 4 = 0 FROM generate_series(1, 40) g;" ;;
          esac ;;
        19) s+="UPDATE customers SET org_id = $((RANDOM % 5 + 1)) WHERE id = $((RANDOM % 12 + 1));" ;;
      esac
    done
    case $((RANDOM % 10)) in
      0) s+="ROLLBACK;" ;;
      1) s+="PREPARE TRANSACTION 'p$i'; COMMIT PREPARED 'p$i';" ;;
      *) s+="COMMIT;" ;;
    esac
    printf '%s\n' "$s"
  done | sql >/dev/null
}

# The model and the rows written before the sidecar's first start come with its copy.
writes 80
start
same "the first writes" cards card:
same "nested rows, copied" ticket_threads thread: no-verify
groups_same "a grouped model, copied" ticket_stats stats:
samples 30 1000
sql -c "UPDATE samples SET n = n * 2, t = NULL WHERE small % 3 = 0; DELETE FROM samples WHERE small % 11 = 0" >/dev/null
same "values of many types (copied, then streamed)" sample_rows -
n=$(scan 'sample:{*' | hashes_only | wc -l)
if [ "$n" = "$(sql -c "SELECT count(*) FROM sample_rows")" ] && [ "$n" -gt 20 ]; then ok; else
  fail "$n sample hashes in Redis, $(sql -c "SELECT count(*) FROM sample_rows") rows in the view"; fi
writes 150
same "the stream" cards card:
same "nested rows, streamed" ticket_threads thread: no-verify
groups_same "a grouped model, streamed" ticket_stats stats:

# kill -9 while writes stream, three times.
for round in 1 2 3; do
  writes 60 &
  writer=$!
  sleep 0.$((RANDOM % 9 + 1))
  kill -9 "$sidecar" 2>/dev/null || true
  wait "$sidecar" 2>/dev/null || true
  wait "$writer"
  start
  same "after kill -9 number $round" cards card:
  same "nested rows after kill -9 number $round" ticket_threads thread: no-verify
  groups_same "a grouped model after kill -9 number $round" ticket_stats stats:
done

# kill -9 during a fan-out: a customer of 3,000 tickets renamed, in chunks of 3 rows
# (--fanout-budget 3), the sidecar killed once the checkpoint shows the fan-out under way
# (or after 5 s, wherever it is: e2e_model_projector checks the resumption deterministically);
# the restart finishes it.
sql >/dev/null <<'SQL'
INSERT INTO orgs VALUES (99, 'big org') ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label;
INSERT INTO customers VALUES (99, 'big customer', 99) ON CONFLICT (id) DO UPDATE SET org_id = 99;
INSERT INTO tickets SELECT g, 99, 'open', 'bulk ' || g FROM generate_series(10001, 13000) g;
SQL
wait_for 60 "the bulk tickets applied" applied
sql -c "UPDATE customers SET name = 'renamed big customer' WHERE id = 99" >/dev/null
for ((i = 0; i < 100; i++)); do
  [ -z "$(rc HGET pgcqrs:checkpoint partial_cursor)" ] || break
  sleep 0.05
done
kill -9 "$sidecar" 2>/dev/null || true
wait "$sidecar" 2>/dev/null || true
echo "killed with the checkpoint's partial_cursor at '$(rc HGET pgcqrs:checkpoint partial_cursor)'"
start
same "a fan-out cut by kill -9, then finished" cards card:
groups_same "a grouped model after 3,000 inserts" ticket_stats stats:
# Without them again: at 3 rows a chunk, every TRUNCATE of tickets below would take a
# thousand chunks for each model, which a slow machine takes minutes to apply.
sql -c "DELETE FROM tickets WHERE id > 10000" >/dev/null

# A second model, registered while the stream runs over rows written before it: its
# registration asks for a rebuild, which copies them, and which readers do not notice.
sql >/dev/null <<'SQL'
CREATE VIEW urgent_titles AS SELECT t.id, t.title FROM tickets t WHERE t.urgent;
GRANT SELECT ON urgent_titles TO pgcqrs_sidecar;
SELECT name FROM register_read_model('urgent', 'urgent_titles', 'urgent:{id}');
SQL
writes 80
same "the first model beside a second" cards card: no-verify  # the second lacks rows until the rebuild
writes 20
generation_1() { [ "$(rc HGET pgcqrs:checkpoint generation)" = 1 ] && [ -z "$(rc HGET pgcqrs:checkpoint rebuild)" ]; }
wait_for 120 "the rebuild switched to generation 1" generation_1
same "a model registered mid-stream, after the rebuild it asked for" urgent_titles urgent:
if grep -q 'a rebuild was asked for (read model urgent registered at ' "$run_dir/sidecar.log"; then ok; else
  fail "the sidecar did not log the rebuild the registration asked for"; fi
same "the first model after the rebuild" cards card:
registry=$(rc HKEYS g1:pgcqrs:models | sort | tr '\n' ' ')
if [ "$registry" = "cards samples stats threads urgent " ]; then ok; else fail "the registry holds: $registry"; fi
out=$("$sidecar_bin" status --pg "$conninfo" --redis "redis://127.0.0.1:$port" 2>&1 || true)
if grep -qx 'read models: cards samples stats threads urgent (declarative, in Redis)' <<<"$out"; then ok; else
  fail "status does not list the models: $out"; fi
old_gone() { [ -z "$(scan 'card:*')$(scan 'pgcqrs:m*')" ]; }
wait_for 60 "generation 0's models deleted" old_gone && ok

# Dropped: its hashes and what the sidecar kept beside them go.
sql -c "SELECT drop_read_model('cards')" >/dev/null
wait_for 60 "the drop applied" applied
left=$(scan 'g1:card:*' | wc -l)$(scan 'g1:pgcqrs:m:cards:*' | wc -l)
if [ "$left" = 00 ]; then ok; else fail "after the drop, card keys and pgcqrs:m:cards keys left: $left"; fi
registry=$(rc HKEYS g1:pgcqrs:models | sort | tr '\n' ' ')
if [ "$registry" = "samples stats threads urgent " ]; then ok; else fail "the registry after the drop: $registry"; fi
same "the model left" urgent_titles urgent:

# Replaced while the stream runs: readers keep the old version until the rebuild its
# replacement asks for switches them to the new one; kill -9 in that rebuild's copy (frozen
# first, so that the state seen is the state it dies in) and the next start copies it again.
sql >/dev/null <<'SQL'
CREATE VIEW urgent_cards AS SELECT t.id, t.title, t.status FROM tickets t WHERE t.urgent AND t.status <> 'spam';
GRANT SELECT ON urgent_cards TO pgcqrs_sidecar;
SELECT version FROM replace_read_model('urgent', 'urgent_cards');
SQL
# Until the copy shows, or the switch if the copy was quicker than the polls.
if rc -r -1 -i 0.001 HMGET pgcqrs:checkpoint rebuilding generation 2>/dev/null | timeout 60 grep -m1 -qx 2; then :; fi
kill -STOP "$sidecar" 2>/dev/null || true
copying=$(rc HGET pgcqrs:checkpoint rebuilding)
kill -9 "$sidecar" 2>/dev/null || true
wait "$sidecar" 2>/dev/null || true
sidecar=
if [ "$copying" = 2 ]; then
  echo "killed in the copy of generation 2"
  if [ "$(rc HGET pgcqrs:checkpoint generation)" = 1 ]; then ok; else fail "readers left generation 1 before the copy ended"; fi
  same "the old version, while the new one is copied" urgent_titles urgent: as-is
  out=$("$sidecar_bin" status --pg "$conninfo" --redis "redis://127.0.0.1:$port" 2>&1 || true)
  if grep -qx 'read models: samples stats threads (declarative, in Redis); replaced: urgent (version 1 in Redis, 2 registered) (a rebuild copies the new versions)' <<<"$out"; then
    ok
  else
    fail "status does not show the replacement under way: $out"
  fi
else
  echo "the copy of generation 2 ended before the kill (rebuilding: '$copying')"
fi
start
generation_2() { [ "$(rc HGET pgcqrs:checkpoint generation)" = 2 ] && [ -z "$(rc HGET pgcqrs:checkpoint rebuild)" ]; }
wait_for 120 "the rebuild switched to generation 2" generation_2
if grep -q 'a rebuild was asked for (read model urgent replaced at ' "$run_dir/sidecar.log"; then ok; else
  fail "the sidecar did not log the rebuild the replacement asked for"; fi
same "the model replaced, after the rebuild" urgent_cards urgent:
writes 40
same "the replaced model, streamed" urgent_cards urgent:
# read_model_status: the sidecar reports what readers find, every few seconds when it changed.
status_live() {
  [ "$(sql -c "SELECT string_agg(name || ':' || state || ':' || version_in_redis, ' ' ORDER BY name)
                 FROM read_model_status")" = "samples:live:1 stats:live:1 threads:live:1 urgent:live:2" ]
}
wait_for 30 "read_model_status shows every model live, urgent at version 2" status_live && ok
old_gone() { [ -z "$(scan 'g1:*')" ]; }
wait_for 60 "generation 1 deleted" old_gone && ok

# pgcqrs-query reads a row by its key's values, of the generation readers read.
query_bin=$build/sidecar/pgcqrs-query
sql -c "INSERT INTO tickets VALUES (500, NULL, 'open', 'Tür \"7\"', true, 'b')" >/dev/null
wait_for 60 "ticket 500 applied" applied
got=$(reader "$query_bin" model urgent 500 --json --redis "redis://127.0.0.1:$port" 2>&1 || true)
if [ "$got" = '{"id":"500","status":"open","title":"Tür \"7\""}' ]; then ok; else fail "pgcqrs-query model urgent 500 --json printed $got"; fi
got=$(reader "$query_bin" model urgent 500 --redis "redis://127.0.0.1:$port" 2>&1 || true)
if [ "$got" = $'id      500\nstatus  open\ntitle   Tür "7"' ]; then ok; else fail "pgcqrs-query model urgent 500 printed $got"; fi
reader "$query_bin" model urgent 999999 --redis "redis://127.0.0.1:$port" >/dev/null 2>&1 && code=0 || code=$?
if [ "$code" = 1 ]; then ok; else fail "pgcqrs-query model urgent 999999 exited $code, not 1 (no such row)"; fi
out=$(reader "$query_bin" model nosuch 1 --redis "redis://127.0.0.1:$port" 2>&1) && code=0 || code=$?
if [ "$code" = 2 ] && [ "$out" = "pgcqrs-query: Redis holds no read model named nosuch" ]; then ok; else fail "pgcqrs-query model nosuch: exit $code: $out"; fi

# pgcqrs-query ranks a ranked model's rows (groups) by their rank, highest first.
got=$(reader "$query_bin" model-top stats --limit 1 --json --redis "redis://127.0.0.1:$port" 2>&1 || true)
want=$(sql -c "SELECT amount FROM ticket_stats WHERE amount IS NOT NULL ORDER BY amount DESC LIMIT 1")
if [ -n "$want" ] && grep -q "\"amount\":\"$want\"" <<<"$got"; then ok; else fail "model-top stats printed $got, not the amount $want"; fi
got=$(reader "$query_bin" model-top stats --limit 1000 --json --redis "redis://127.0.0.1:$port" 2>&1 | grep -o '"amount"' | wc -l)
want=$(sql -c "SELECT count(amount) FROM ticket_stats")
if [ "$got" = "$want" ]; then ok; else fail "model-top stats --limit 1000 listed $got groups, the view $want with an amount"; fi

# verify tells a model's hash edited by hand, and one that no row names. The sidecar keeps
# running, as it would: no write touches these keys, and WAL written meanwhile (a standby
# snapshot every 15 s) moves its checkpoint, which verify waits for.
some=$(scan 'g2:urgent:{*' | awk 'NR == 1')
rc HSET "$some" id forged >/dev/null
rc HSET "g2:urgent:{63}:999999" title stray >/dev/null
ranking=$(scan 'g2:stats:{*' | grep '}$' | awk 'NR == 1')
rc ZADD "$ranking" 5 '["nobody","t"]' >/dev/null  # a rank that no group has
"$sidecar_bin" verify --pg "$conninfo" --redis "redis://127.0.0.1:$port" >"$run_dir/verify.out" 2>&1 && code=0 || code=$?
if [ "$code" = 1 ] && grep -q "^read model urgent: $some field id: expected \"${some##*:}\", found \"forged\"$" "$run_dir/verify.out" &&
   grep -q '^read model urgent: g2:urgent:{63}:999999: should not exist (no row of the view)$' "$run_dir/verify.out" &&
   grep -qF "read model stats: $ranking member [\"nobody\",\"t\"]: should not exist" "$run_dir/verify.out"; then
  ok
else
  fail "verify after a forged field and a stray hash (exit $code): $(cat "$run_dir/verify.out")"
fi

if grep -E "\[(error|critical)\]" "$run_dir/sidecar.log" | grep -v "Redis connection\|replication" | head -3 | grep .; then
  fail "the sidecar logged errors"
fi
if [ "$compared" -ge 150 ]; then ok; else fail "only $compared fields compared in all"; fi
if [ "$groups_compared" -ge 10 ]; then ok; else fail "only $groups_compared groups compared in all"; fi
if [ "$threads_compared" -ge 8 ]; then ok; else fail "only $threads_compared rows with several notes compared in all"; fi
echo "$compared fields, $groups_compared groups and $threads_compared rows with several notes compared"
checks_done "read models"
