#!/usr/bin/env bash
# Every command the documentation shows is one that a test runs: this script reads the fenced
# blocks of README.md and docs/*.md, runs the sh, sql and redis ones against a throwaway
# PostgreSQL (wal_level=logical, the installed pgcqrs extension) and Redis, and checks what
# they do, so the docs cannot drift from the code.
#
#   tests/docs/run.sh BUILD_DIR [SCENARIO...]
#
# A block is run by the scenario named on the line right above it, `<!-- test: NAME -->`
# (an HTML comment: invisible when rendered). Scenarios take the block text from the docs
# and replace only the documented placeholders: CONNINFO, URL and `...` after --pg/--redis,
# PASSWORD and '...' passwords, PORT or 9187 in 127.0.0.1:PORT, mydb, the example token
# 0/1A2B3C4 (by the token the writer printed), optional [--flag value] brackets, and
# build/ or bare binary names (the binaries of BUILD_DIR). A failed run keeps its logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/servers.sh
source scripts/lib/sidecar_log.sh
if [ $# -lt 1 ]; then
  echo "usage: tests/docs/run.sh BUILD_DIR [SCENARIO...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
shift
for bin in "$build/sidecar/pgcqrs-sidecar" "$build/sidecar/pgcqrs-query"; do
  [ -x "$bin" ] || { echo "tests/docs/run.sh: $bin is missing: build first" >&2; exit 2; }
done
# Bare `pgcqrs-sidecar` and `pgcqrs-query` in the docs are the binaries of BUILD_DIR.
export PATH=$build/sidecar:$PATH

# Scenarios and how many blocks of the docs each runs. ci and by-hand run nothing: they say
# why, and check what they can without running it.
declare -A scenario_blocks=(
  [ci]=2 [by-hand]=4 [server-conf]=2 [quick-start]=2 [events]=3 [write-model]=2 [restore]=1
  [consistency]=2 [sidecar-cli]=1 [monitor]=2 [verify-rebuild]=3 [retire]=1 [security]=9
  [packages]=2 [failures]=0 [read-model]=13 [declared-model]=1
)
scenario_order=(ci by-hand packages quick-start events write-model restore read-model declared-model sidecar-cli consistency
                monitor verify-rebuild retire failures security)
# Files whose blocks another change owns for now: their untagged blocks are reported, not
# failed (none today).
pending_files=()

doc_files=(README.md docs/*.md)
run_dir=$(mktemp -d /tmp/pgcqrs-docs.XXXXXX)
# stop_started DIR: the processes a scenario started under DIR (sidecar, pg_recvlogical, Redis).
stop_started() {
  local f
  for f in "$1/sidecar.pid" "$1/recvlogical.pid"; do
    if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  pgcqrs_redis_stop "$1"
}
cleanup() {
  set +e
  local d
  for d in "$run_dir"/*/; do stop_started "${d%/}"; done
  pgcqrs_pg_remove "$run_dir"
  if [ "${PGCQRS_KEEP:-}" = 1 ]; then echo "logs kept in $run_dir"; else rm -rf "$run_dir"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
# The blocks of the docs

# One line per fenced block: FILE LINE INFO TAG (tab-separated; "-" for none), and
# "orphan FILE LINE" for a test marker not directly above a block.
index_blocks() {
  awk -v OFS='\t' '
    FNR == 1 { fence = 0; prev = ""; prev_line = 0 }
    /^```/ {
      if (!fence) {
        fence = 1; tag = "-"
        if (prev ~ /^<!-- test: [a-z0-9-]+ -->$/) { tag = prev; sub(/^<!-- test: /, "", tag); sub(/ -->$/, "", tag) }
        info = substr($0, 4); if (info == "") info = "-"
        print FILENAME, FNR, info, tag
      } else fence = 0
      prev = $0; next
    }
    {
      if (prev ~ /^<!-- test:/) print "orphan", FILENAME, prev_line
      if (!fence && $0 ~ /^<!-- test:/ && $0 !~ /^<!-- test: [a-z0-9-]+ -->$/) print "orphan", FILENAME, FNR
      prev = $0; prev_line = FNR
    }' "${doc_files[@]}"
}
blocks=$(index_blocks)

# block_text FILE LINE: the lines of the block whose opening fence is LINE of FILE.
block_text() {
  awk -v start="$2" 'FNR > start { if ($0 ~ /^```/) exit; print }' "$1"
}

# doc_block NAME N: sets block to the text of the Nth block tagged NAME (in the order
# README.md, docs/*.md) and block_at to its FILE:LINE, for messages. (Variables, not output:
# a failure inside $(...) would not stop the scenario.)
block='' block_at=''
doc_block() {
  block_at=$(awk -F'\t' -v name="$1" -v n="$2" '$1 != "orphan" && $4 == name && ++seen == n { print $1 ":" $2 }' <<<"$blocks")
  [ -n "$block_at" ] || fail "block $2 of scenario $1 is missing from the docs"
  block=$(block_text "${block_at%%:*}" "${block_at##*:}")
}

# next_output FILE:LINE [K]: sets output to the Kth json/text block after the block at
# FILE:LINE in the same file (the example output the docs show for it).
output=
next_output() {
  local file=${1%%:*} line=${1##*:} where
  where=$(awk -F'\t' -v f="$file" -v l="$line" -v k="${2:-1}" \
    '$1 == f && $2 > l && ($3 == "json" || $3 == "text") && ++seen == k { print $2; exit }' <<<"$blocks")
  [ -n "$where" ] || fail "no example output after $1"
  output=$(block_text "$file" "$where")
}

# commands TEXT: one shell command per line, continuation lines joined, comment-only and
# empty lines dropped.
commands() {
  awk '{ line = line $0 } /\\$/ { sub(/\\$/, "", line); next }
       { if (line !~ /^[[:space:]]*(#|$)/) print line; line = "" }' <<<"$1"
}

# subst TEXT: sets cmd to TEXT with the documented placeholders replaced by this scenario's
# values. Only placeholders whose value the scenario set are replaced; a placeholder left in
# a command (outside comments) fails the scenario.
cmd=
subst() {
  local t=$1
  t=$(sed -E 's/\[(--[^]]*)\]/\1/g' <<<"$t")       # optional [--flag value]: given
  if [ -n "${conninfo:-}" ]; then
    local q="--pg \"$conninfo\""
    t=${t//'--pg "host=db dbname=shop user=sidecar"'/$q}
    t=${t//'--pg CONNINFO'/$q}
    t=${t//'--pg ...'/$q}
  fi
  if [ -n "${redis_url:-}" ]; then
    t=${t//'--redis redis://127.0.0.1:6379'/--redis $redis_url}
    t=${t//'--redis URL'/--redis $redis_url}
    t=${t//'--redis ...'/--redis $redis_url}
    t=${t//'redis-cli -u URL'/redis-cli -u $redis_url}
  fi
  if [ -n "${http_port:-}" ]; then
    t=${t//127.0.0.1:9187/127.0.0.1:$http_port}
    t=${t//127.0.0.1:PORT/127.0.0.1:$http_port}
  fi
  [ -n "${token:-}" ] && t=${t//0\/1A2B3C4/$token}
  [ -n "${password:-}" ] && { t=${t//\'...\'/\'$password\'}; t=${t//>PASSWORD/>$password}; }
  [ -n "${db:-}" ] && t=${t//-d mydb/-d $db}
  t=$(sed -E "s#(^|[[:space:](])build/sidecar/#\\1$build/sidecar/#g" <<<"$t")
  local code
  code=$(sed -E 's/(^|[[:space:]])(#|--( |$)).*$//' <<<"$t")
  local placeholders="CONNINFO|(^|[[:space:]])URL([[:space:]]|$)|(^|[[:space:]'])\\.\\.\\.|>PASSWORD|:PORT|0/1A2B3C4|\\[--"
  if grep -qE "$placeholders" <<<"$code"; then
    fail "a placeholder of $block_at has no value in this test: $(grep -E "$placeholders" <<<"$code" | head -1)"
  fi
  cmd=$t
}

# ---------------------------------------------------------------------------------------
# Checks and helpers

scenario=
fail() {
  echo "FAIL [$scenario] ${block_at:+$block_at: }$*" >&2
  exit 1
}
# expect DESCRIPTION TEXT REGEX: TEXT must have a line matching the extended REGEX.
expect() {
  grep -qE -- "$3" <<<"$2" || fail "$1: expected a line matching /$3/, got:
$(head -20 <<<"$2" | sed 's/^/    /')"
}
# poll SECONDS COMMAND...: polls COMMAND until it succeeds; fails after SECONDS. COMMAND runs
# anew each time: pass a function, not "$(...)".
poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll, failing the scenario with DESCRIPTION.
wait_for() {
  local seconds=$1 description=$2
  shift 2
  poll "$seconds" "$@" || fail "not within ${seconds}s: $description"
}
# sql [psql options]: runs SQL from stdin in the scenario's database; prints rows unaligned.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# run_sql TEXT: a sql block of the docs, as psql runs a file; prints its rows.
run_sql() {
  sql -f - <<<"$1" 2>"$dir/sql.err" ||
    fail "the SQL failed: $(grep -m1 -A1 -E '^(psql:.*)?ERROR' "$dir/sql.err" || tail -3 "$dir/sql.err")"
}
# run_redis TEXT: each line of a redis block of the docs through redis-cli; each must say OK.
run_redis() {
  local line words out
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    read -r -a words <<<"$line"
    out=$(redis-cli -h 127.0.0.1 -p "$redis_port" --no-auth-warning "${auth[@]}" "${words[@]}" 2>&1)
    [ "$out" = OK ] || fail "$line: $out"
  done <<<"$1"
}
# lsn_at_least A B: whether LSN A >= LSN B.
lsn_at_least() { [ "$(sql -c "SELECT '$1'::pg_lsn >= '$2'::pg_lsn")" = t ]; }

# scenario_begin NAME [redis.conf line...]: a fresh database (with the extension unless
# NAME is quick-start) and a fresh Redis for this scenario.
scenario_begin() {
  scenario=$1; shift
  dir=$run_dir/$scenario
  mkdir -p "$dir"
  db=docs_${scenario//-/_}
  PGDATABASE=postgres sql -c "CREATE DATABASE $db" >/dev/null
  export PGDATABASE=$db
  [ "$scenario" = quick-start ] || sql -c "CREATE EXTENSION pgcqrs" >/dev/null
  pgcqrs_redis_start "$dir" "$@"
  redis_port=$PGCQRS_REDIS_PORT
  redis_url=redis://127.0.0.1:$redis_port
  export PGCQRS_REDIS=$redis_url
  conninfo="host=127.0.0.1 port=$PGPORT dbname=$db user=postgres"
  auth=()
  http_port='' token='' password='' block_at=''
}
slots_released() {
  [ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE database = '$db' AND active")" = 0 ]
}
scenario_end() {
  [ -f "$dir/sidecar.pid" ] && stop_sidecar
  [ -f "$dir/sidecar.log.checked" ] && sidecar_log_clean
  pgcqrs_redis_stop "$dir"
  # Slots belong to the cluster: drop this database's so the next scenario starts clean.
  wait_for 30 "the slots of $db are released" slots_released
  drop_slots
  echo "ok   $scenario"
}
drop_slots() {
  sql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$db'" >/dev/null
}

# The sidecar is always started with the run command of docs/sidecar.md; sets cmd to it.
sidecar_run_command() {
  local saved=$block_at
  doc_block sidecar-cli 1
  subst "$block"
  cmd=$(commands "$cmd" | grep -E '^pgcqrs-sidecar run ') ||
    fail "docs/sidecar.md shows no 'pgcqrs-sidecar run' command"
  block_at=$saved
}
healthz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz" || true; }
healthy() { [ "$(healthz)" = 200 ]; }
# sidecar_log_clean [EXPECTED...]: the sidecar's log since its last check tells of no rebuild,
# dirty mark, refused command or failed write but EXPECTED (scripts/lib/sidecar_log.sh).
sidecar_log_clean() {
  pgcqrs_log_check "$dir/sidecar.log" "$@" || fail "the sidecar's log (above)"
}
# start_sidecar [EXPECTED...]: starts it and waits until it streams; its start logs no trouble
# but EXPECTED, by default the rebuild that creates the slot on a scenario's first start.
start_sidecar() {
  local first=
  [ -f "$dir/sidecar.log.checked" ] || { pgcqrs_log_begin "$dir/sidecar.log"; first=1; }
  [ -n "$http_port" ] || http_port=$(pgcqrs_free_port)
  sidecar_run_command
  bash -c "exec $cmd" >>"$dir/sidecar.log" 2>&1 &
  echo $! >"$dir/sidecar.pid"
  poll 60 healthy || fail "the sidecar does not stream (/healthz not 200 within 60s); its log ends:
$(tail -5 "$dir/sidecar.log" | sed 's/^/    /')"
  if [ $# -eq 0 ] && [ -n "$first" ]; then set -- 'rebuilding the read models \(slot pgcqrs does not exist\)'; fi
  sidecar_log_clean "$@"
}
# stop_sidecar: SIGTERM, and the documented exit status 0.
stop_sidecar() {
  local pid status=0
  pid=$(cat "$dir/sidecar.pid")
  kill -0 "$pid" 2>/dev/null || fail "the sidecar exited before it was stopped; its log ends:
$(tail -5 "$dir/sidecar.log" | sed 's/^/    /')"
  kill -TERM "$pid"
  wait "$pid" || status=$?
  rm -f "$dir/sidecar.pid"
  [ "$status" = 0 ] || fail "the sidecar exited $status on SIGTERM (documented: 0); log:
$(tail -5 "$dir/sidecar.log")"
}
checkpoint() { redis-cli -p "$redis_port" --no-auth-warning "${auth[@]}" HGET pgcqrs:checkpoint lsn; }
# switched_to GENERATION: readers read it, and the generation they left is deleted.
switched_to() {
  [ "$(redis-cli -p "$redis_port" --no-auth-warning "${auth[@]}" HMGET pgcqrs:checkpoint generation retired | tr '\n' ' ')" = "$1  " ]
}
applied_past() { local cp; cp=$(checkpoint) && [ -n "$cp" ] && lsn_at_least "$cp" "$1"; }
# wait_applied: until the Redis checkpoint has reached the server's current WAL position.
wait_applied() {
  local target
  target=$(sql -c "SELECT pg_current_wal_lsn()")
  wait_for 60 "Redis applies up to $target" applied_past "$target"
}

a_user_and_products() {
  sql <<'SQL' >/dev/null
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 9.99), ('Ink', 5.00);
SQL
}
place() { sql -c "SELECT place_order(1, '[{\"product_id\": $1, \"quantity\": $2}]')" >/dev/null; }

# ---------------------------------------------------------------------------------------
# Scenarios

# The test command itself and what it runs: nothing to run here, but every command must be
# one the test command really runs.
scenario_ci() {
  scenario=ci
  local n line part
  for n in 1 2; do
    doc_block ci "$n"
    while IFS= read -r line; do
      line=$(sed -E 's/[[:space:]]+#.*$//' <<<"$line")
      while IFS= read -r part; do
        case $part in
          "bash scripts/test.sh")
            grep -qx 'exec bash scripts/test.sh' .ci/run || fail ".ci/run does not run scripts/test.sh"
            echo "     not run: $part: the test command itself (CI runs it as .ci/run)" ;;
          "bash scripts/demo.sh")
            grep -qE '^[^#]*bash scripts/demo.sh' scripts/test.sh || fail "scripts/test.sh does not run the demo"
            echo "     not run: $part: the test command runs it after ctest" ;;
          "bash scripts/install-deps.sh")
            grep -qx 'bash scripts/install-deps.sh' scripts/test.sh || fail "scripts/test.sh does not run $part"
            echo "     not run: $part: apt-get, the test command's first step" ;;
          "make -f Makefile.pgxs")
            # shellcheck disable=SC2016  # $jobs is text in scripts/test.sh
            grep -qE '^make( -[a-z]+)* -f Makefile.pgxs( -j "\$jobs")?$' scripts/test.sh || fail "scripts/test.sh does not run $part"
            echo "     not run: $part: the test command builds the extension so" ;;
          "make -f Makefile.pgxs install")
            grep -qE '^make( -[a-z]+)* -f Makefile.pgxs install' scripts/test.sh || fail "scripts/test.sh does not run $part"
            echo "     not run: $part: the test command installs the extension so" ;;
          *) fail "'$part' is not a command the test command runs: give it a scenario" ;;
        esac
      done <<<"${line// && /$'\n'}"
    done < <(commands "$block")
  done
  echo "ok   ci (not run here)"
}

# The 30-minute soak, the long plugin fuzz run and the benchmarks: run by hand, for the
# reasons printed. The soak's and the fuzz run's options must be ones their scripts accept;
# the test command runs those scripts as ctest soak_short (--profile short) and fuzz_plugin.
scenario_by_hand() {
  scenario=by-hand
  local n line word script usage fuzz_usage
  usage=$(grep -m1 -E '^#   tests/soak/run.sh ' tests/soak/run.sh)
  grep -qE 'soak_short .*run.sh --profile short' tests/soak/CMakeLists.txt ||
    fail "ctest soak_short no longer runs tests/soak/run.sh --profile short"
  for n in 1 2 3 4; do
    doc_block by-hand "$n"
    while IFS= read -r line; do
      line=$(sed -E 's/[[:space:]]+#.*$//' <<<"$line")
      case $line in
        "bash tests/soak/run.sh "*)
          for word in ${line#bash tests/soak/run.sh }; do
            case $word in
              --*) grep -qF -- "[$word " <<<"$usage" || grep -qF -- "[$word]" <<<"$usage" ||
                     fail "tests/soak/run.sh has no option $word" ;;
              short|long) grep -qE -- "--profile [a-z|]*$word" <<<"$usage" || fail "no soak profile $word" ;;
              *[!0-9]*) fail "'$word' in '$line' is not a value tests/soak/run.sh takes" ;;
            esac
          done
          echo "     not run: $line: 30 minutes; ctest soak_short runs the same script with --profile short" ;;
        "bash tests/fuzz/run.sh "*)
          fuzz_usage=$(grep -m1 -E '^#   bash tests/fuzz/run.sh ' tests/fuzz/run.sh)
          for word in ${line#bash tests/fuzz/run.sh }; do
            case $word in
              --*) grep -qF -- "[$word " <<<"$fuzz_usage" || fail "tests/fuzz/run.sh has no option $word" ;;
              *[!0-9A-Z_,]*) fail "'$word' in '$line' is not a value tests/fuzz/run.sh takes" ;;
            esac
          done
          grep -qE 'fuzz_plugin .*/run\.sh' tests/fuzz/CMakeLists.txt || fail "ctest fuzz_plugin no longer runs tests/fuzz/run.sh"
          echo "     not run: $line: minutes; ctest fuzz_plugin runs the same script's short form" ;;
        "bash scripts/install-deps.sh")
          grep -qF "bash scripts/install-deps.sh" scripts/test.sh || fail "scripts/test.sh no longer runs $line"
          echo "     not run here: $line: scripts/test.sh runs it first" ;;
        "bash bench/"*)
          script=${line#bash }
          script=${script%% *}
          [ -f "$script" ] || fail "$script does not exist"
          bash -n "$script" || fail "$script does not parse"
          echo "     not run: $line: up to half an hour, and bench/run.sh rewrites docs/benchmarks.md" ;;
        *) fail "'$line' is not a known by-hand command: give it a scenario" ;;
      esac
    done < <(commands "$block")
  done
  echo "ok   by-hand (not run here)"
}

# The Debian packages and their service: building and installing them changes this machine
# (apt, systemd), so nothing runs here; ctest packaging_debian builds them with the same
# command, unpacks them into a scratch root and sets up the password files as the docs say.
# Every command must be one that test stands for.
scenario_packages() {
  scenario=packages
  local n line file debs
  debs=$(grep -oE '"?\$BUILD/packages/[^"]+\.deb' tests/packaging/debian_packages.sh | tr -d '"' |
         sed 's#\$BUILD/#./build/#; s#\$PG_MAJOR#15#; s#\$ARCH#amd64#' | sort | tr '\n' ' ')
  for n in 1 2; do
    doc_block packages "$n"
    while IFS= read -r line; do
      line=$(sed -E 's/[[:space:]]+#.*$//' <<<"$line")
      case $line in
        "bash scripts/package.sh")
          grep -qF 'bash "$ROOT/scripts/package.sh" "$BUILD"' tests/packaging/debian_packages.sh ||
            fail "ctest packaging_debian no longer builds the packages with scripts/package.sh"
          echo "     not run: $line: ctest packaging_debian runs it" ;;
        "apt install "*)
          [ "$(tr ' ' '\n' <<<"${line#apt install }" | sort | tr '\n' ' ')" == "$debs" ] ||
            fail "'$line' does not install the packages ctest packaging_debian builds: $debs"
          echo "     not run: apt install: it installs on this machine; ctest packaging_debian unpacks the packages into a scratch root" ;;
        "install -m 600 -o pgcqrs-sidecar -g pgcqrs-sidecar /dev/null /etc/pgcqrs/"*)
          file=${line##* }
          grep -qE "^(PGPASSFILE|PGCQRS_REDIS_PASSWORD_FILE)=$file\$" deploy/debian/pgcqrs-sidecar.default ||
            fail "/etc/default/pgcqrs-sidecar names no password file $file"
          grep -qF "install -m 600 -o \"\$secrets_owner\" /dev/null \"\$SECRETS/${file##*/}\"" tests/packaging/debian_packages.sh ||
            fail "ctest packaging_debian does not set up $file so"
          echo "     not run: $line: ctest packaging_debian does so under its scratch root" ;;
        "systemctl enable --now pgcqrs-sidecar"|"journalctl -u pgcqrs-sidecar -f")
          grep -qx 'WantedBy=multi-user.target' deploy/systemd/pgcqrs-sidecar.service ||
            fail "the unit cannot be enabled: no WantedBy="
          echo "     not run: $line: no systemd here; ctest packaging_debian verifies the unit" ;;
        *) fail "'$line' is not a known packaging command: give it a scenario" ;;
      esac
    done < <(commands "$block")
  done
  echo "ok   packages (not run here)"
}

# README: the plugin used directly, then streamed with pg_recvlogical.
scenario_quick_start() {
  scenario_begin quick-start
  local out event pid
  doc_block quick-start 1
  out=$(run_sql "$block")
  event=$(grep -F '"type":"OrderPlaced"' <<<"$out") || fail "no OrderPlaced event in:
$out"
  jq -e '.order_id == 1 and .user_id == 1 and .total == "3.00"
         and .items == [{"product_id": 1, "quantity": 2, "unit_price": "1.50"}]' <<<"$event" >/dev/null ||
    fail "the OrderPlaced event is not order 1 of 2 x 1.50 = 3.00: $event"

  doc_block quick-start 2
  subst "$block"
  bash -c "exec $cmd" >"$dir/stream.out" 2>"$dir/stream.err" &
  pid=$!
  echo "$pid" >"$dir/recvlogical.pid"
  place 1 3
  wait_for 30 "pg_recvlogical prints the next OrderPlaced" \
    grep -qE '"type":"OrderPlaced".*"order_id":2,.*"total":"4.50"' "$dir/stream.out"
  kill -INT "$pid"
  wait "$pid" || true
  rm -f "$dir/recvlogical.pid"
  scenario_end
}

# normalize: the volatile fields of plugin JSON (ids, positions, times) set to fixed values,
# keeping the order of the keys.
normalize() {
  jq -c 'def fix(k; v): if has(k) then .[k] = v else . end;
         fix("xid"; 0) | fix("lsn"; "L") | fix("commit_time"; "T") | fix("created_at"; "T")
         | fix("updated_at"; "T") | fix("order_id"; 0) | fix("seq"; 0)'
}
# same_events DESCRIPTION GOT WANT: equal up to ids, positions and times.
same_events() {
  local got want
  got=$(normalize <<<"$2") || fail "$1: not JSON: $2"
  want=$(normalize <<<"$3") || fail "$1: the docs show no JSON: $3"
  [ "$got" = "$want" ] || fail "$1 differs from the docs:
$(diff <(echo "$want") <(echo "$got") | sed 's/^/    /')"
}

# docs/events.md: the slot commands, an application message, the example; the plugin must
# emit what the docs show, up to ids, positions and times.
scenario_events() {
  scenario_begin events
  a_user_and_products
  local changes out app invalid raw
  doc_block events 1
  run_sql "$block" >/dev/null
  changes=$(grep -F pg_logical_slot_get_changes <<<"$block")

  doc_block events 2
  app=$block_at
  run_sql "$block" >/dev/null
  out=$(run_sql "$changes")
  next_output "$app" 1
  same_events "the application event" "$(sed -n 2p <<<"$out")" "$output"
  # The docs' InvalidMessage example: its raw text, sent, must give its reason.
  next_output "$app" 2
  invalid=$output
  raw=$(jq -r .raw <<<"$invalid")
  sql -v raw="$raw" <<<"SELECT pg_logical_emit_message(true, 'pgcqrs', :'raw')" >/dev/null
  out=$(run_sql "$changes")
  same_events "the InvalidMessage" "$(sed -n 2p <<<"$out")" "$invalid"

  doc_block events 3
  run_sql "$block" >/dev/null
  out=$(run_sql "$changes")
  next_output "$block_at" 1
  same_events "the example's events" "$out" "$output"
  sql -c "SELECT pg_drop_replication_slot('my_slot')" >/dev/null
  scenario_end
}

# docs/write-model.md: place_order, and a write token at or past the commit.
scenario_write_model() {
  scenario_begin write-model
  a_user_and_products
  local out commit_lsn
  doc_block write-model 1
  out=$(run_sql "$block")
  [ "$out" = 1 ] || fail "place_order returned '$out', not order id 1"
  out=$(sql -c "SELECT string_agg(product_id || 'x' || quantity || '@' || unit_price, ' ' ORDER BY product_id) FROM order_items WHERE order_id = 1")
  [ "$out" = "1x2@9.99 2x1@5.00" ] || fail "order 1 holds '$out', not the items of the command"

  sql -c "SELECT pg_create_logical_replication_slot('token_check', 'pgcqrs')" >/dev/null
  doc_block write-model 2
  out=$(run_sql "$block")
  token=$(tail -1 <<<"$out")
  [[ $token =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "write_token() printed '$token', not an LSN"
  commit_lsn=$(sql -c "SELECT data FROM pg_logical_slot_get_changes('token_check', NULL, NULL)" |
    jq -r 'select(.type == "commit") | .lsn' | tail -1)
  [ -n "$commit_lsn" ] || fail "the slot saw no commit"
  lsn_at_least "$token" "$commit_lsn" || fail "write_token() $token is before the commit at $commit_lsn"
  sql -c "SELECT pg_drop_replication_slot('token_check')" >/dev/null
  scenario_end
}

# docs/read-models.md, "Models over the write model": the built-in order model declared over
# pgcqrs's own tables, registered as the docs show, then an order placed and a user renamed:
# the declared hashes say what the built-in ones say (tests/e2e/declared_model.sh compares
# them key for key under random writes).
scenario_declared_model() {
  scenario_begin declared-model
  local out
  a_user_and_products
  doc_block declared-model 1
  run_sql "$block" >/dev/null
  out=$(sql -c "SELECT string_agg(name, ' ' ORDER BY name) FROM read_models")
  [ "$out" = "declared_orders declared_products declared_users" ] || fail "the models registered: '$out'"
  start_sidecar
  sql -c "SELECT place_order(1, '[{\"product_id\": 2, \"quantity\": 3}, {\"product_id\": 1, \"quantity\": 1}]')" >/dev/null
  sql -c "UPDATE users SET name = 'Ada Lovelace' WHERE id = 1" >/dev/null
  wait_applied
  out=$(redis-cli -p "$redis_port" HMGET 'declared_order:{1}:1' user_name status item_count total items)
  [ "$out" = $'Ada Lovelace\npending\n2\n24.99\n[{"quantity": 1, "line_total": 9.99, "product_id": 1, "unit_price": 9.99}, {"quantity": 3, "line_total": 15.00, "product_id": 2, "unit_price": 5.00}]' ] ||
    fail "declared_order:{1}:1 holds: $out"
  [ "$(redis-cli -p "$redis_port" HMGET 'order_details:{1}:1' user_name status item_count total)" = "$(head -4 <<<"$out")" ] ||
    fail "order_details:{1}:1 and declared_order:{1}:1 differ"
  out=$(redis-cli -p "$redis_port" HMGET 'declared_user:{1}:1' name order_count)
  [ "$out" = $'Ada Lovelace\n1' ] || fail "declared_user:{1}:1 holds: $out"
  scenario_end
}

# docs/read-models.md: a view over the user's own tables, explained as the docs show, then
# registered with the plan the explanation described; kept in Redis by the sidecar, read with
# pgcqrs-query as the docs show, renamed through its lookup; a grouped and ranked model and
# one of nested rows beside it; the first replaced by a new view (readers switched to it by the rebuild it asks for); the grant
# docs/security.md gives
# the sidecar's role for it.
# runs_as_docs WHAT: the current block's command runs and prints the output block after it.
runs_as_docs() {
  subst "$block"
  local out
  out=$(bash -c "$cmd" 2>&1) || fail "$1 exited $?: $out"
  prints_as_docs "$1" "$out"
}
# prints_as_docs WHAT OUT: OUT is the output block that follows the current block in the docs.
prints_as_docs() {
  next_output "$block_at" 1
  [ "$2" = "$output" ] || fail "$1 printed:
$2
where the docs show:
$output"
}
reported_live() { [ "$(sql -c "SELECT count(*) FILTER (WHERE state = 'live') || '/' || count(*) FROM read_model_status")" = 3/3 ]; }
scenario_read_model() {
  scenario_begin read-model
  local out
  doc_block read-model 1
  prints_as_docs explain_read_model "$(run_sql "$block")"
  doc_block read-model 2
  prints_as_docs register_read_model "$(run_sql "$block")"
  out=$(sql -c "SELECT plan -> 'tables' -> 1 ->> 'table' FROM read_models WHERE name = 'ticket_cards'")
  [ "$out" = public.customers ] || fail "the registered plan looks customers up in '$out'"
  start_sidecar
  doc_block read-model 3
  run_sql "$block" >/dev/null
  wait_applied
  doc_block read-model 4
  runs_as_docs "pgcqrs-query model"
  out=$(redis-cli -p "$redis_port" EXISTS 'ticket_cards:{42}:42' 'ticket_cards:{43}:43')
  [ "$out" = 1 ] || fail "of the hashes of tickets 42 and 43 (spam), $out exist, not 1"
  doc_block read-model 5
  run_sql "$block" >/dev/null
  wait_applied
  out=$(redis-cli -p "$redis_port" HGET 'ticket_cards:{42}:42' customer)
  [ "$out" = "Ada Lovelace" ] || fail "after the rename, ticket 42's customer is '$out'"
  # The grant docs/security.md gives, while the docs' first view exists (the replacement drops it).
  sql -c "CREATE ROLE pgcqrs_sidecar" >/dev/null
  doc_block read-model 13
  run_sql "$block" >/dev/null
  sql -c "DROP OWNED BY pgcqrs_sidecar; DROP ROLE pgcqrs_sidecar" >/dev/null
  # A grouped model, registered while the sidecar streams: the rebuild its registration asks
  # for copies the groups of the rows written before it.
  doc_block read-model 6
  prints_as_docs register_read_model "$(run_sql "$block")"
  wait_for 120 "the rebuild the registration asked for switched" switched_to 1
  doc_block read-model 7
  runs_as_docs "pgcqrs-query model"
  sidecar_log_clean 'a rebuild was asked for \(read model tickets_per_status registered at ' \
    'rebuilding the read models \(asked for\) into generation 1; readers keep generation 0' \
    'maybe:a rebuild was asked for; reconnecting in'
  doc_block read-model 8
  runs_as_docs "pgcqrs-query model-top"
  # Nested child rows, registered while the sidecar streams (a rebuild again).
  doc_block read-model 9
  prints_as_docs register_read_model "$(run_sql "$block")"
  wait_for 120 "the rebuild the registration asked for switched" switched_to 2
  wait_applied
  doc_block read-model 10
  runs_as_docs "pgcqrs-query model"
  sidecar_log_clean 'a rebuild was asked for \(read model ticket_threads registered at ' \
    'rebuilding the read models \(asked for\) into generation 2; readers keep generation 1' \
    'maybe:a rebuild was asked for; reconnecting in'
  doc_block read-model 11
  prints_as_docs replace_read_model "$(run_sql "$block")"
  # Readers switch to the new version once the rebuild its replacement asked for has copied it.
  wait_for 120 "the rebuild the replacement asked for switched" switched_to 3
  out=$(redis-cli -p "$redis_port" HMGET 'g3:ticket_cards:{42}:42' customer email | paste -sd '|')
  [ "$out" = "Ada Lovelace|ada@example.com" ] || fail "the replaced model's ticket 42 holds '$out'"
  sidecar_log_clean 'a rebuild was asked for \(read model ticket_cards replaced at ' \
    'rebuilding the read models \(asked for\) into generation 3; readers keep generation 2' \
    'maybe:a rebuild was asked for; reconnecting in'
  # What the sidecar reports of them, within seconds of the switch.
  doc_block read-model 12
  wait_for 30 "read_model_status shows the models live" reported_live
  prints_as_docs read_model_status "$(run_sql "$block")"
  scenario_end
}

# docs/write-model.md: restoring a pg_dump with triggers off keeps rows, identity positions
# and rules. History the rules would refuse (items of a shipped order, orders of a user
# deactivated since) is what makes it necessary.
scenario_restore() {
  scenario_begin restore
  sql <<'SQL' >/dev/null
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Gone', 'gone@example.com');
DELETE FROM users WHERE name = 'Gone';
INSERT INTO products (name, price) VALUES ('Pen', 1.50);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}]');
UPDATE orders SET status = 'paid' WHERE id = 1;
UPDATE orders SET status = 'shipped' WHERE id = 1;
UPDATE users SET is_active = false WHERE id = 1;
SQL
  pg_dump -d "$db" -f "$dir/dump.sql"
  PGDATABASE=postgres sql -c "CREATE DATABASE restored" >/dev/null
  doc_block restore 1
  subst "$block"
  (cd "$dir" && bash -c "$cmd") >"$dir/restore.out" 2>&1 || fail "the restore failed: $(tail -3 "$dir/restore.out")"
  if grep -q ERROR "$dir/restore.out"; then
    fail "the restore reported errors: $(grep ERROR "$dir/restore.out" | head -3)"
  fi
  local q="SELECT (SELECT string_agg(id || name || is_active, ',' ORDER BY id) FROM users)
             || ' ' || (SELECT string_agg(id || status, ',') FROM orders)
             || ' ' || (SELECT string_agg(order_id || ':' || product_id || 'x' || quantity, ',') FROM order_items)
             || ' ' || (SELECT last_value FROM users_id_seq)" want got refused
  want=$(sql -c "$q")
  got=$(sql -d restored -c "$q")
  [ "$got" = "$want" ] || fail "the restored database holds '$got', the dumped one '$want'"
  refused=$(sql -d restored -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 1}]')" 2>&1 || true)
  expect "the rules hold after the restore" "$refused" "user 1 is inactive"
  # Without the documented option the same dump does not restore: the fixture shows why.
  PGDATABASE=postgres sql -c "CREATE DATABASE restored_plain" >/dev/null
  psql -X -q -d restored_plain -f "$dir/dump.sql" >"$dir/plain.out" 2>&1 || true
  grep -qE 'ERROR:  (user 1 is inactive|order 1 is shipped)' "$dir/plain.out" ||
    fail "the dump restores without session_replication_role=replica too: the docs' reason is not shown"
  PGDATABASE=postgres sql -c "DROP DATABASE restored" -c "DROP DATABASE restored_plain" >/dev/null
  scenario_end
}

# docs/sidecar.md: run, status, verify, rebuild.
scenario_sidecar_cli() {
  scenario_begin sidecar-cli
  a_user_and_products
  local cmds out status
  doc_block sidecar-cli 1
  [ -n "$http_port" ] || http_port=$(pgcqrs_free_port)
  subst "$block"
  mapfile -t cmds < <(commands "$cmd")
  [ "${#cmds[@]}" = 4 ] || fail "expected the run, status, verify and rebuild commands, found ${#cmds[@]}"
  start_sidecar
  place 2 4
  wait_applied
  [[ ${cmds[1]} == "pgcqrs-sidecar status "* ]] || fail "the second command is not status: ${cmds[1]}"
  out=$(bash -c "${cmds[1]}" 2>&1) || fail "status exited $?: $out"
  expect "status shows the slot" "$out" '^slot: +pgcqrs \(plugin pgcqrs, active yes, wal_status reserved\)$'
  expect "status shows the checkpoint" "$out" '^checkpoint: +[0-9A-F]+/[0-9A-F]+ \(slot pgcqrs'
  [[ ${cmds[2]} == "pgcqrs-sidecar verify "* ]] || fail "the third command is not verify: ${cmds[2]}"
  status=0
  out=$(bash -c "${cmds[2]}" 2>&1) || status=$?
  [ "$status" = 0 ] || fail "verify exited $status on an untouched read model:
$(head -20 <<<"$out" | sed 's/^/    /')"
  [[ ${cmds[3]} == "pgcqrs-sidecar rebuild "* ]] || fail "the fourth command is not rebuild: ${cmds[3]}"
  out=$(bash -c "${cmds[3]}" 2>&1) || fail "rebuild exited $?: $out"
  expect "rebuild says it asked" "$out" '^rebuild asked for at '
  wait_for 60 "readers read generation 1" switched_to 1
  out=$(bash -c "${cmds[1]}" 2>&1) || fail "status exited $?: $out"
  expect "status shows the generation" "$out" '^generation: +1 \(what readers read\)$'
  sidecar_log_clean 'a rebuild was asked for \(pgcqrs-sidecar rebuild, at ' \
    'rebuilding the read models \(asked for\) into generation 1; readers keep generation 0' \
    'maybe:a rebuild was asked for; reconnecting in'
  # The table of flags lists every option the program takes, and only those.
  local taken listed
  taken=$(pgcqrs-sidecar help | grep -oE '^  --[a-z-]+' | sed 's/^ *//' | sort -u)
  listed=$(grep -oE '^\| `--[a-z-]+`' docs/sidecar.md | grep -oE -- '--[a-z-]+' | sort -u)
  [ "$taken" = "$listed" ] || fail "docs/sidecar.md's flags differ from pgcqrs-sidecar help:
$(diff <(echo "$listed") <(echo "$taken") | sed 's/^/    /')"
  scenario_end
}

# docs/consistency.md: the writer's token, and the reader waiting for it.
scenario_consistency() {
  scenario_begin consistency
  a_user_and_products
  start_sidecar
  local out order
  doc_block consistency 1
  out=$(run_sql "$block")
  order=$(head -1 <<<"$out")
  token=$(tail -1 <<<"$out")
  [[ $order =~ ^[0-9]+$ && $token =~ ^[0-9A-F]+/[0-9A-F]+$ ]] ||
    fail "the writer printed '$out', not an order id and a token"
  doc_block consistency 2
  subst "$block"
  out=$(bash -c "$cmd" 2>&1) || fail "the reader exited $?: $out"
  expect "the reader shows the order just placed" "$out" "^$order +pending +[0-9TZ:.-]+ +9\\.99 +1 x Pen\$"
  scenario_end
}

documented_health() { [ "$(bash -c "$health_command")" = "$1" ]; }
# docs/operations.md, Monitor: metrics, health, status, the slot query; and the unhealthy
# answers once Redis is gone.
scenario_monitor() {
  scenario_begin monitor
  a_user_and_products
  start_sidecar
  place 1 1
  wait_applied
  local cmds out
  doc_block monitor 1
  subst "$block"
  mapfile -t cmds < <(commands "$cmd")
  [ "${#cmds[@]}" = 3 ] || fail "expected 3 commands, found ${#cmds[@]}"
  out=$(bash -c "${cmds[0]}") || fail "${cmds[0]} failed"
  expect "/metrics says the sidecar is up" "$out" '^pgcqrs_up 1$'
  expect "/metrics counts the order" "$out" '^pgcqrs_events_applied_total\{type="OrderPlaced"\} 1$'
  out=$(bash -c "${cmds[1]}")
  [ "$out" = 200 ] || fail "/healthz answered '$out' while streaming, not 200"
  out=$(bash -c "${cmds[2]}" 2>&1) || fail "status exited $? while streaming: $out"
  expect "status shows the lag" "$out" '^lag: +[0-9]+ bytes$'
  local block_monitor=$block_at
  doc_block monitor 2
  out=$(run_sql "$block")
  expect "the slot query shows the sidecar's slot" "$out" '^pgcqrs\|t\|reserved\|[0-9]+ (bytes|kB|MB)$'
  block_at=$block_monitor
  pgcqrs_redis_stop "$dir"
  health_command=${cmds[1]}
  wait_for 60 "/healthz answers 503 without Redis" documented_health 503
  if bash -c "${cmds[2]}" >/dev/null 2>&1; then fail "status exited 0 with Redis unreachable"; fi
  scenario_end
}

# README and docs/operations.md: verify finds a manual edit in Redis; the documented rebuild
# (stop the sidecar, delete the checkpoint, start it) repairs it, and verify then exits 0.
scenario_verify_rebuild() {
  scenario_begin verify-rebuild
  a_user_and_products
  start_sidecar
  place 1 2
  local readme_verify ops_verify out status
  doc_block verify-rebuild 1
  subst "$block"
  readme_verify=$cmd
  out=$(bash -c "$readme_verify" 2>&1) || fail "verify exited $?:
$(head -20 <<<"$out" | sed 's/^/    /')"
  redis-cli -p "$redis_port" HSET "order_details:{1}:1" total 999.00 >/dev/null
  doc_block verify-rebuild 2
  subst "$block"
  ops_verify=$cmd
  status=0
  out=$(bash -c "$ops_verify" 2>&1) || status=$?
  [ "$status" = 1 ] || fail "verify exited $status after a manual edit in Redis (documented: 1)"
  expect "verify names the edited field" "$out" 'order_details:\{1\}:1.*total'
  # 105 fields more that should not exist: the first 100 differences are listed, then a count.
  local n fields=()
  for n in $(seq 1 105); do fields+=("extra$n" x); done
  redis-cli -p "$redis_port" HSET "order_details:{1}:1" "${fields[@]}" >/dev/null
  status=0
  out=$(bash -c "$ops_verify" 2>&1) || status=$?
  [ "$status" = 1 ] || fail "verify exited $status with 106 differences (documented: 1)"
  [ "$(grep -cE '^order_details:\{1\}:1 field ' <<<"$out")" = 100 ] ||
    fail "verify listed $(grep -cE '^order_details:\{1\}:1 field ' <<<"$out") differences, not the documented first 100"
  expect "verify counts the rest" "$out" '^\.\.\. and 6 more$'
  expect "verify counts them all" "$out" '^verify: [0-9]+ keys expected, 106 differences '

  doc_block verify-rebuild 3
  subst "$block"
  out=$(bash -c "$cmd" 2>&1) || fail "pgcqrs-sidecar rebuild exited $?: $out"
  expect "rebuild says it asked" "$out" '^rebuild asked for at '
  wait_for 60 "readers read generation 1" switched_to 1
  wait_applied
  sidecar_log_clean 'a rebuild was asked for \(pgcqrs-sidecar rebuild, at ' \
    'rebuilding the read models \(asked for\) into generation 1; readers keep generation 0' \
    'maybe:a rebuild was asked for; reconnecting in'
  doc_block verify-rebuild 2
  out=$(bash -c "$ops_verify" 2>&1) || fail "verify exited $? after the rebuild:
$(head -20 <<<"$out" | sed 's/^/    /')"
  doc_block verify-rebuild 1
  out=$(bash -c "$readme_verify" 2>&1) || fail "verify exited $? after the rebuild:
$(head -20 <<<"$out" | sed 's/^/    /')"
  scenario_end
}

# docs/operations.md: retiring the pipeline drops the slot.
scenario_retire() {
  scenario_begin retire
  start_sidecar
  stop_sidecar
  # Stopped means its walsender has let go of the slot too (a moment after the process).
  wait_for 30 "the stopped sidecar's slot is released" slots_released
  doc_block retire 1
  run_sql "$block" >/dev/null
  [ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")" = 0 ] ||
    fail "the slot is still there"
  scenario_end
}

# docs/security.md, PostgreSQL side: the sidecar's role and pg_hba.conf line, the plugin list,
# the pg_logical_emit_message grants and the writers' roles (blocks 1-6 of scenario security).
# Sets hba; uses pg_pw (the sidecar's password).
security_postgres_setup() {
  local want got
  password=$pg_pw
  doc_block security 1
  subst "$block"
  run_sql "$cmd" >/dev/null
  # The documented line first, and the test harness's own replication lines gone: nothing else
  # admits the sidecar's role to a replication connection.
  hba=$(pgcqrs_pg_base "$run_dir")/pg/pg_hba.conf
  doc_block security 2
  { echo "${block//mydb/$db}"; grep -vE '^(local|host)[[:space:]]+replication[[:space:]]' "$hba"; } >"$hba.new"
  cat "$hba.new" >"$hba" && rm "$hba.new"
  sql -c "SELECT pg_reload_conf()" >/dev/null
  # The server runs with docs/write-model.md's plugin list; it must be the one shown here.
  doc_block security 3
  want=$(sed -nE "s/^output_plugin_libraries = '([^']*)'.*/\\1/p" <<<"$block")
  [ -n "$want" ] || fail "no output_plugin_libraries line"
  if pgcqrs_pg_has_plugin_allowlist; then
    got=$(sql -c "SHOW output_plugin_libraries")
    [ "$got" = "$want" ] || fail "the server runs with output_plugin_libraries = '$got', not '$want'"
  fi
  doc_block security 4
  run_sql "$block" >/dev/null
  password=app-$RANDOM
  doc_block security 5
  subst "$block"
  run_sql "$cmd" >/dev/null
  password=orders-$RANDOM
  doc_block security 6
  subst "$block"
  run_sql "$cmd" >/dev/null
  password=
  block_at=
}

# as_role ROLE SQL: SQL run as ROLE over TCP (the sidecar's role with its password); prints
# its rows or its error.
as_role() {
  local pw=
  [ "$1" = pgcqrs_sidecar ] && pw=$pg_pw
  PGPASSWORD=$pw psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U "$1" -d "$db" -c "$2" 2>&1 || true
}

# What docs/security.md says each PostgreSQL role can and cannot do, as that role.
security_postgres_checks() {
  local out repl="host=127.0.0.1 port=$PGPORT dbname=$db user=pgcqrs_sidecar replication=database"
  # The sidecar's role: its heartbeat, and nothing more through SQL.
  out=$(as_role pgcqrs_sidecar "SELECT pg_logical_emit_message(false, 'pgcqrs-heartbeat', '') IS NOT NULL")
  [ "$out" = t ] || fail "the sidecar's role cannot write its heartbeat: $out"
  expect "the sidecar's role cannot write" \
    "$(as_role pgcqrs_sidecar "INSERT INTO users (name, email) VALUES ('x', 'x@x')")" 'permission denied for table users'
  sql -c "CREATE TABLE payroll (name text, salary int)" >/dev/null
  expect "the sidecar's role cannot read other tables" \
    "$(as_role pgcqrs_sidecar "SELECT * FROM payroll")" 'permission denied for table payroll'
  expect "the sidecar's role cannot create objects" \
    "$(as_role pgcqrs_sidecar "CREATE TABLE mine (x int)")" 'permission denied for schema public'
  if pgcqrs_pg_has_plugin_allowlist; then
    expect "the sidecar's role cannot decode through test_decoding" \
      "$(as_role pgcqrs_sidecar "SELECT pg_create_logical_replication_slot('peek', 'test_decoding')")" \
      'library "test_decoding" may not be used as an output plugin'
  fi
  out=$(PGPASSWORD=wrong psql -X -At -h 127.0.0.1 -p "$PGPORT" -U pgcqrs_sidecar -d "$db" -c "SELECT 1" 2>&1 || true)
  expect "the sidecar's role needs its password" "$out" 'password authentication failed'
  # It streamed with no replication line, and none admits it to physical replication...
  out=$(PGPASSWORD=$pg_pw "$PGCQRS_PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U pgcqrs_sidecar \
        -D "$dir/basebackup" -Ft 2>&1 || true)
  expect "no replication line admits the sidecar's role" "$out" 'no pg_hba.conf entry for replication connection'
  # ...but REPLICATION reaches what the docs say: other consumers' slots of its database and
  # slots of other databases, physical slots, BASE_BACKUP and physical streaming.
  sql -c "SELECT pg_create_logical_replication_slot('docs_neighbour', 'pgcqrs')" >/dev/null
  PGDATABASE=postgres sql -c "SELECT pg_create_logical_replication_slot('docs_elsewhere', 'pgcqrs')" >/dev/null
  expect "the sidecar's role reads a neighbour's slot" \
    "$(as_role pgcqrs_sidecar "SELECT count(*) >= 0 FROM pg_logical_slot_get_changes('docs_neighbour', NULL, NULL)")" '^t$'
  expect "the sidecar's role drops a slot of another database" \
    "$(as_role pgcqrs_sidecar "SELECT count(*) FROM (SELECT pg_drop_replication_slot('docs_elsewhere')) d")" '^1$'
  [ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'docs_elsewhere'")" = 0 ] ||
    fail "the slot of database postgres is still there"
  expect "the sidecar's role creates physical slots" \
    "$(as_role pgcqrs_sidecar "SELECT slot_name FROM pg_create_physical_replication_slot('docs_physical', false, true)")" \
    '^docs_physical$'
  PGPASSWORD=$pg_pw psql -X -At "$repl" -c "BASE_BACKUP (LABEL 'docs')" >"$dir/base_backup" 2>/dev/null || true
  grep -aq 'PG_VERSION' "$dir/base_backup" ||
    fail "BASE_BACKUP over the sidecar's logical replication connection sent no cluster files"
  rm -f "$dir/base_backup"
  out=$(PGPASSWORD=$pg_pw psql -X -At "$repl" -c "START_REPLICATION PHYSICAL $(sql -c "SELECT pg_current_wal_lsn()")" 2>&1 || true)
  expect "physical streaming starts on the sidecar's logical connection (psql cannot follow it)" \
    "$out" 'unexpected PQresultStatus: 8'

  # The application: all of the write model, and application events.
  expect "the application places an order" \
    "$(as_role shop_app "SELECT place_order(1, '[{\"product_id\": 2, \"quantity\": 1}]') > 0")" '^t$'
  expect "the application reprices" \
    "$(as_role shop_app "UPDATE products SET price = 4.75 WHERE id = 2 RETURNING price")" '^4\.75$'
  expect "the application registers users" \
    "$(as_role shop_app "INSERT INTO users (name, email) VALUES ('Cy', 'cy@example.com') RETURNING name")" '^Cy$'
  expect "the application deletes users" \
    "$(as_role shop_app "DELETE FROM users WHERE email = 'cy@example.com' RETURNING name")" '^Cy$'
  expect "the application emits application events" \
    "$(as_role shop_app "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"Checked\"}') IS NOT NULL")" '^t$'

  # The order-only role: place_order and nothing else.
  expect "the order-only role places an order" \
    "$(as_role shop_orders "SELECT place_order(1, '[{\"product_id\": 2, \"quantity\": 2}]') > 0")" '^t$'
  expect "the order-only role cannot read emails" \
    "$(as_role shop_orders "SELECT email FROM users")" 'permission denied for table users'
  expect "the order-only role cannot rename a user" \
    "$(as_role shop_orders "UPDATE users SET name = 'x' WHERE id = 1")" 'permission denied for table users'
  expect "the order-only role cannot deactivate a user" \
    "$(as_role shop_orders "UPDATE users SET is_active = false WHERE id = 1")" 'permission denied for table users'
  expect "the order-only role cannot change an id" \
    "$(as_role shop_orders "UPDATE users SET id = 99 WHERE id = 1")" 'users.id is immutable \(user 1\)'
  expect "the order-only role cannot reprice" \
    "$(as_role shop_orders "UPDATE products SET price = 0 WHERE id = 1")" 'permission denied for table products'
  expect "the order-only role cannot change an order" \
    "$(as_role shop_orders "UPDATE orders SET status = 'cancelled' WHERE id = 2")" 'permission denied for table orders'
  expect "the order-only role cannot delete an order" \
    "$(as_role shop_orders "DELETE FROM orders WHERE id = 2")" 'permission denied for table orders'
  expect "the order-only role cannot emit a message" \
    "$(as_role shop_orders "SELECT pg_logical_emit_message(true, 'pgcqrs', '{\"type\":\"Forged\"}')")" \
    'permission denied for function pg_logical_emit_message'
  expect "the order-only role cannot use a slot" \
    "$(as_role shop_orders "SELECT pg_logical_slot_peek_changes('docs_neighbour', NULL, NULL)")" \
    'must be superuser or replication role'
  expect "the order-only role cannot change the tables" \
    "$(as_role shop_orders "ALTER TABLE users ADD COLUMN note text")" 'must be owner of table users'
}

# docs/security.md: the PostgreSQL role, the pg_hba.conf lines and the Redis ACL users of
# the docs are enough for the pipeline, and refuse anything wider.
scenario_security() {
  scenario_begin security
  a_user_and_products
  local pg_pw=pg-$RANDOM$RANDOM sidecar_pw=rs-$RANDOM$RANDOM reader_pw=rd-$RANDOM$RANDOM
  local admin_pw=ad-$RANDOM$RANDOM hba out
  security_postgres_setup

  # An administrator for the test itself, then the users of the docs.
  redis-cli -p "$redis_port" ACL SETUSER admin on ">$admin_pw" '~*' '&*' '+@all' >/dev/null
  password=$sidecar_pw
  doc_block security 7
  subst "$block"
  run_redis "$cmd"
  password=$reader_pw
  doc_block security 8
  subst "$block"
  run_redis "$cmd"
  password=
  doc_block security 9
  run_redis "$block"
  auth=(--user admin --pass "$admin_pw")
  block_at=

  # The sidecar as its role and its ACL user, secrets from the environment and a file.
  printf '%s' "$sidecar_pw" >"$dir/redis-password"
  chmod 600 "$dir/redis-password"
  conninfo="host=127.0.0.1 port=$PGPORT dbname=$db user=pgcqrs_sidecar"
  PGPASSWORD=$pg_pw PGCQRS_REDIS_USER=pgcqrs-sidecar PGCQRS_REDIS_PASSWORD_FILE=$dir/redis-password \
    start_sidecar
  place 1 2
  token=$(sql -c "SELECT write_token()")
  out=$(PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=$reader_pw \
        pgcqrs-query user-orders 1 --after "$token" --timeout 30000 2>&1) ||
    fail "the reader could not read after the token: $out"
  expect "the reader sees the order" "$out" '^1 +pending .* 19\.98 +2 x Pen$'
  # More than a page (10) of orders for Ada, applied before anything changes them.
  local n
  for n in $(seq 2 12); do place 2 1; done
  wait_applied
  # Every kind of change goes through the sidecar's ACL, each its own transaction: status
  # changes and item edits of those orders (on Ada's page and off it), renames fanning out,
  # counters, deletes. The log must tell of no rebuild, dirty mark or refused command.
  sql <<'SQL' >/dev/null
SELECT place_order(1, '[{"product_id": 2, "quantity": 1}]');
SELECT place_order(1, '[{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 3}]');
UPDATE orders SET status = 'paid' WHERE id = 12;
UPDATE orders SET status = 'shipped' WHERE id = 12;
UPDATE orders SET status = 'paid' WHERE id = 2;
INSERT INTO order_items (order_id, product_id, quantity) VALUES (11, 1, 2);
DELETE FROM order_items WHERE order_id = 10;
UPDATE users SET name = 'Ada L', email = 'ada.l@example.com' WHERE id = 1;
UPDATE products SET name = 'Fountain pen', price = 12.50 WHERE id = 1;
UPDATE order_items SET quantity = 5 WHERE order_id = 3 AND product_id = 2;
UPDATE orders SET status = 'cancelled' WHERE id = 1;
DELETE FROM orders WHERE id = 4;
DELETE FROM orders WHERE id = 14;
INSERT INTO users (name, email) VALUES ('Bob', 'bob@example.com');
DELETE FROM users WHERE name = 'Bob';
SQL
  wait_applied
  sidecar_log_clean
  token=$(sql -c "SELECT write_token()")
  out=$(PGCQRS_REDIS_USER=pgcqrs-reader PGCQRS_REDIS_PASSWORD=$reader_pw \
        pgcqrs-query order 2 --after "$token" --timeout 30000 2>&1) ||
    fail "the sidecar did not apply every kind of change as its ACL user: $out"
  expect "the rename reached the order" "$out" 'Ada L <ada\.l@example\.com>'
  out=$(pgcqrs-sidecar verify --pg "host=127.0.0.1 port=$PGPORT dbname=$db user=postgres" \
        --redis "redis://admin:$admin_pw@127.0.0.1:$redis_port" 2>&1) ||
    fail "verify finds differences after changes applied through the ACL:
$(head -20 <<<"$out" | sed 's/^/    /')"

  # ...and nothing more.
  security_postgres_checks
  out=$(redis-cli -p "$redis_port" --no-auth-warning --user pgcqrs-reader --pass "$reader_pw" \
        HSET "order_details:{1}:1" total 0 2>&1)
  expect "the reader cannot write" "$out" 'NOPERM'
  out=$(redis-cli -p "$redis_port" --no-auth-warning --user pgcqrs-sidecar --pass "$sidecar_pw" SET session:1 x 2>&1)
  expect "the sidecar's Redis user cannot write other keys" "$out" 'NOPERM'
  out=$(redis-cli -p "$redis_port" GET pgcqrs:checkpoint 2>&1)
  expect "the default user is off" "$out" 'NOAUTH|NOPERM|WRONGPASS'
  scenario_end
}

# docs/operations.md, "When it stops, and when it retries": each row of the table provoked
# against this scenario's servers. A row of exit 2 must end the documented run command with
# status 2 and exactly one critical line, the row's; a retried row must keep it running with
# the row's warning said once while the retries are debug lines, and (where the cause can be
# removed here) the recovery said once. The table and the cases below must name the same errors.
errors_table() {
  awk '/^\| error \| the log line says \| exit \| fix \|$/ { t = 1; next }
       t && /^\|---/ { next }
       t && /^\|/ { print; next }
       t { exit }' docs/operations.md
}
# doc_pattern TEXT: the extended regex a documented message stands for: "..." and the
# upper-case placeholders are any text.
doc_pattern() {
  sed -E 's/[][\\.*^$+?(){}|/]/\\&/g' <<<"$1" |
    sed -E 's/\\\.\\\.\\\./.*/g; s/\b(ROLE|DB|SLOT|PLUGIN|URL|OPTION|POLICY|COMMAND|N)\b/.*/g'
}
# failing_run [VAR=VALUE...]: the documented run command with this scenario's values (and the
# environment given) until it exits, 30 s at most; sets got_status, its output in failure.log.
failing_run() {
  http_port=$(pgcqrs_free_port)
  sidecar_run_command
  got_status=0
  env "$@" timeout 30 bash -c "exec $cmd" >"$dir/failure.log" 2>&1 || got_status=$?
}
# retrying_start [VAR=VALUE...]: the documented run command in the background, logging at debug
# level; retrying_wait waits for its second retry. Sets retry_pid.
retrying_start() {
  http_port=$(pgcqrs_free_port)
  sidecar_run_command
  : >"$dir/failure.log"
  env PGCQRS_LOG_LEVEL=debug "$@" bash -c "exec $cmd" >>"$dir/failure.log" 2>&1 &
  retry_pid=$!
}
retries_seen() { [ "$(grep -cE ' debug .*; attempt [0-9]+ failed, reconnecting in [0-9]+ ms$' "$dir/failure.log")" -ge 2 ]; }
retrying_wait() { wait_for 30 "two retries logged at debug level" retries_seen; }
retrying_stop() {
  local status=0
  kill -0 "$retry_pid" 2>/dev/null || fail "the sidecar exited while retrying: $(tail -3 "$dir/failure.log")"
  kill -TERM "$retry_pid"
  wait "$retry_pid" || status=$?
  [ "$status" = 0 ] || fail "the retrying sidecar exited $status on SIGTERM (documented: 0)"
}
recovered() { grep -qE ' info recovered after [0-9]+ failed attempt\(s\) in [0-9.]+ s: streaming again$' "$dir/failure.log"; }
redis_up() { redis-cli -p "$redis_port" ping 2>/dev/null | grep -qx PONG; }
plugins_are() { [ "$(sql -c "SHOW output_plugin_libraries")" = "$1" ]; }
hba_file() { echo "$(pgcqrs_pg_base "$run_dir")/pg/pg_hba.conf"; }

# provoke ERROR: brings about the error of the table's row ERROR, and checks what only the
# case knows; the caller checks the row's message and exit status in failure.log.
provoke() {
  local base="host=127.0.0.1 port=$PGPORT dbname=$db"
  case $1 in
    "wrong PostgreSQL password")
      sql -c "CREATE ROLE pgcqrs_pw LOGIN PASSWORD 'right'" >/dev/null
      { echo "host all pgcqrs_pw 127.0.0.1/32 scram-sha-256"; cat "$(hba_file)"; } >"$dir/hba"
      cat "$dir/hba" >"$(hba_file)"
      sql -c "SELECT pg_reload_conf()" >/dev/null
      conninfo="$base user=pgcqrs_pw"
      failing_run PGPASSWORD=wrong
      # status names the same cause, not "unreachable".
      local out status=0
      out=$(PGPASSWORD=wrong pgcqrs-sidecar status --pg "$conninfo" --redis "$redis_url" 2>&1) || status=$?
      [ "$status" = 1 ] || fail "status exited $status with a wrong password (documented: 1)"
      expect "status names the cause" "$out" '^PostgreSQL: +PostgreSQL refused the connection: .*password authentication failed for user "pgcqrs_pw" \(SQLSTATE 28P01\)'
      grep -v pgcqrs_pw "$(hba_file)" >"$dir/hba"
      cat "$dir/hba" >"$(hba_file)"
      sql -c "SELECT pg_reload_conf()" -c "DROP ROLE pgcqrs_pw" >/dev/null ;;
    "PostgreSQL role missing")
      conninfo="$base user=pgcqrs_nobody"
      failing_run ;;
    "database missing")
      conninfo="host=127.0.0.1 port=$PGPORT dbname=pgcqrs_nodb user=postgres"
      failing_run ;;
    "role without \`REPLICATION\`")
      sql -c "CREATE ROLE pgcqrs_norepl LOGIN" >/dev/null
      conninfo="$base user=pgcqrs_norepl"
      failing_run
      sql -c "DROP ROLE pgcqrs_norepl" >/dev/null ;;
    "TLS to PostgreSQL cannot work as configured")
      # This server has no TLS; tests/e2e/postgres_tls.sh provokes the certificate cases.
      conninfo="$base user=postgres sslmode=require"
      failing_run ;;
    "invalid connection string")
      conninfo="$base user=postgres pgcqrs_bogus=1"
      failing_run ;;
    "database without the extension")
      PGDATABASE=postgres sql -c "CREATE DATABASE docs_failures_noext" >/dev/null
      conninfo="host=127.0.0.1 port=$PGPORT dbname=docs_failures_noext user=postgres"
      failing_run
      # verify says so at once, not after --verify-timeout (60 s).
      local out status=0 t0=$SECONDS
      out=$(pgcqrs-sidecar verify --pg "$conninfo" --redis "$redis_url" 2>&1) || status=$?
      [ "$status" = 2 ] || fail "verify exited $status on a database without the extension (documented: 2)"
      [ $((SECONDS - t0)) -lt 10 ] || fail "verify took $((SECONDS - t0)) s to find the extension missing"
      expect "verify names the cause" "$out" '^verify: could not read: extension pgcqrs is not installed in database docs_failures_noext'
      PGDATABASE=postgres sql -c "DROP DATABASE docs_failures_noext" >/dev/null ;;
    "slot of another plugin")
      # The documented output_plugin_libraries admits pgcqrs only: test_decoding for a moment.
      if pgcqrs_pg_has_plugin_allowlist; then
        sql -c "ALTER SYSTEM SET output_plugin_libraries = 'pgcqrs', 'test_decoding'" -c "SELECT pg_reload_conf()" >/dev/null
        wait_for 30 "the server admits test_decoding" plugins_are 'pgcqrs, test_decoding'
      fi
      sql -c "SELECT pg_create_logical_replication_slot('pgcqrs', 'test_decoding')" >/dev/null
      if pgcqrs_pg_has_plugin_allowlist; then
        sql -c "ALTER SYSTEM RESET output_plugin_libraries" -c "SELECT pg_reload_conf()" >/dev/null
        wait_for 30 "the server admits pgcqrs only again" plugins_are pgcqrs
      fi
      failing_run
      sql -c "SELECT pg_drop_replication_slot('pgcqrs')" >/dev/null ;;
    "slot of another database")
      PGDATABASE=postgres sql -c "SELECT pg_create_logical_replication_slot('pgcqrs', 'pgcqrs')" >/dev/null
      failing_run
      PGDATABASE=postgres sql -c "SELECT pg_drop_replication_slot('pgcqrs')" >/dev/null ;;
    "TLS to Redis cannot work as configured")
      # This Redis has no TLS, and the CA file holds no certificate; tests/e2e/redis_tls.sh
      # provokes the certificate cases against a TLS Redis.
      local plain_url=$redis_url
      echo "not a certificate" >"$dir/not-a-ca.crt"
      redis_url=rediss://127.0.0.1:$redis_port
      failing_run PGCQRS_REDIS_TLS_CA="$dir/not-a-ca.crt"
      redis_url=$plain_url ;;
    "wrong Redis password or user")
      redis-cli -p "$redis_port" ACL SETUSER pgcqrs-failing on '>right' '~*' '&*' '+@all' >/dev/null
      # With --log-format json each line is one object of the documented fields.
      failing_run PGCQRS_REDIS_USER=pgcqrs-failing PGCQRS_REDIS_PASSWORD=wrong PGCQRS_LOG_FORMAT=json
      jq -e -s 'length > 0 and all(.[]; (keys == ["level", "message", "time"]) and (.time | test("^[0-9-]+T[0-9:.]+Z$")))' \
        "$dir/failure.log" >/dev/null || fail "--log-format json wrote other lines: $(head -3 "$dir/failure.log")"
      jq -r '"\(.time) \(.level) \(.message)"' "$dir/failure.log" >"$dir/failure.text"
      mv "$dir/failure.text" "$dir/failure.log" ;;
    "Redis needs a password")
      redis-cli -p "$redis_port" CONFIG SET requirepass pgcqrs-secret >/dev/null
      failing_run
      redis-cli -p "$redis_port" --no-auth-warning -a pgcqrs-secret CONFIG SET requirepass '' >/dev/null ;;
    "Redis ACL refuses a command")
      redis-cli -p "$redis_port" ACL SETUSER pgcqrs-nohmget on '>pw' '~*' '&*' '+@all' '-hmget' >/dev/null
      failing_run PGCQRS_REDIS_USER=pgcqrs-nohmget PGCQRS_REDIS_PASSWORD=pw ;;
    "Redis may evict keys")
      redis-cli -p "$redis_port" CONFIG SET maxmemory-policy allkeys-lru >/dev/null
      failing_run
      redis-cli -p "$redis_port" CONFIG SET maxmemory-policy noeviction >/dev/null ;;
    "invalid flag")
      got_status=0
      pgcqrs-sidecar run --pgcqrs-bogus 1 >/dev/null 2>"$dir/failure.log" || got_status=$? ;;
    "PostgreSQL unreachable")
      conninfo="host=127.0.0.1 port=$(pgcqrs_free_port) dbname=$db user=postgres"
      retrying_start
      retrying_wait
      retrying_stop ;;
    "Redis unreachable")
      pgcqrs_redis_stop "$dir"
      retrying_start
      retrying_wait
      redis-server "$dir/redis/redis.conf"
      wait_for 30 "Redis is back" redis_up
      wait_for 60 "the sidecar says it recovered" recovered
      retrying_stop
      # The next case starts as a first start: no slot.
      wait_for 30 "the slots of $db are released" slots_released
      drop_slots ;;
    "slot in use")
      start_sidecar
      retrying_start
      retrying_wait
      stop_sidecar
      wait_for 60 "the second sidecar says it recovered" recovered
      retrying_stop ;;
    *) fail "docs/operations.md lists the error \"$1\", which this test does not provoke" ;;
  esac
}

scenario_failures() {
  scenario_begin failures
  a_user_and_products
  local row name message exit_status pattern lines n=0 saved_conninfo=$conninfo
  local -A provoked=()
  local known=("wrong PostgreSQL password" "PostgreSQL role missing" "database missing"
    "role without \`REPLICATION\`" "TLS to PostgreSQL cannot work as configured" "invalid connection string"
    "database without the extension"
    "slot of another plugin" "slot of another database" "TLS to Redis cannot work as configured"
    "wrong Redis password or user"
    "Redis needs a password" "Redis ACL refuses a command" "Redis may evict keys"
    "invalid flag"
    "PostgreSQL unreachable" "Redis unreachable" "slot in use")
  block_at=docs/operations.md
  while IFS= read -r row; do
    IFS='|' read -r _ name message exit_status _ <<<"$row"
    name=$(sed -E 's/^ +| +$//g' <<<"$name")
    message=$(sed -E 's/^ *`//; s/`.*$//' <<<"$message")
    exit_status=$(sed -E 's/^ +| +$//g' <<<"$exit_status")
    pattern=$(doc_pattern "$message")
    conninfo=$saved_conninfo
    provoke "$name"
    provoked[$name]=1
    n=$((n + 1))
    case $exit_status in
      2)
        if [ "$name" = "invalid flag" ]; then
          [ "$got_status" = 2 ] || fail "$name: exit $got_status (documented: 2)"
          # Before the log starts: the one line on stderr.
          [ "$(grep -c . "$dir/failure.log")" = 1 ] || fail "$name: not one line on stderr: $(head -3 "$dir/failure.log")"
          expect "$name: the line" "$(cat "$dir/failure.log")" "^$pattern\$"
          continue
        fi
        [ "$got_status" = 2 ] || fail "$name: the sidecar exited $got_status (documented: 2); its output:
$(head -5 "$dir/failure.log" | sed 's/^/    /')"
        lines=$(grep -E '^[0-9T:.-]+Z (critical|error) ' "$dir/failure.log" || true)
        [ "$(grep -c . <<<"$lines")" = 1 ] || fail "$name: not one critical line but:
$(sed 's/^/    /' <<<"$lines")"
        expect "$name: the critical line" "$lines" "^[0-9T:.-]+Z critical $pattern\$" ;;
      retried)
        lines=$(grep -E '^[0-9T:.-]+Z warning .*; reconnecting in ' "$dir/failure.log" || true)
        [ "$(grep -c . <<<"$lines")" = 1 ] || fail "$name: not said once as a warning but:
$(sed 's/^/    /' <<<"$lines")"
        expect "$name: the warning" "$lines" "^[0-9T:.-]+Z warning $pattern\$" ;;
      *) fail "$name: exit '$exit_status' is neither 2 nor retried" ;;
    esac
  done < <(errors_table)
  [ "$n" -gt 0 ] || fail "no table of errors under \"When it stops, and when it retries\""
  for name in "${known[@]}"; do
    [ -n "${provoked[$name]:-}" ] || fail "the table no longer lists \"$name\", which this test provokes"
  done
  block_at=
  conninfo=$saved_conninfo
  scenario_end
}

# ---------------------------------------------------------------------------------------
# Coverage: every sh, sql and redis block is run by a scenario this script knows, and every
# scenario finds its blocks.

coverage() {
  scenario=coverage
  local errors=0 file line info tag pending
  declare -A seen=() exempted=()
  # problem FILE:LINE TEXT: an error, or a note while FILE is in pending_files.
  problem() {
    if [ -n "$pending" ]; then
      echo "     pending: $1: $2 (the file is owned by another change for now)"
      exempted[$file]=1
    else
      echo "$1: $2" >&2
      errors=$((errors + 1))
    fi
  }
  while IFS=$'\t' read -r file line info tag; do
    if [ "$file" = orphan ]; then
      echo "$line:$info: a test marker must be the line right above a fenced block, as <!-- test: NAME -->" >&2
      errors=$((errors + 1))
      continue
    fi
    pending=
    [[ " ${pending_files[*]} " == *" $file "* ]] && pending=1
    case $info in
      sh|sql|redis|conf|json|text|cpp) ;;
      -) problem "$file:$line" "block without an info string (sh, sql, redis, conf, json, text)" ;;
      *) echo "$file:$line: unknown info string '$info'" >&2; errors=$((errors + 1)) ;;
    esac
    if [ "$tag" = - ]; then
      case $info in
        sh|sql|redis) problem "$file:$line" "block not run by any test" ;;
      esac
    elif [ -z "${scenario_blocks[$tag]:-}" ]; then
      echo "$file:$line: no test scenario '$tag' in tests/docs/run.sh" >&2
      errors=$((errors + 1))
    else
      seen[$tag]=$(( ${seen[$tag]:-0} + 1 ))
    fi
  done <<<"$blocks"
  local name
  for name in "${!scenario_blocks[@]}"; do
    if [ "${seen[$name]:-0}" != "${scenario_blocks[$name]}" ]; then
      echo "scenario $name runs ${scenario_blocks[$name]} block(s) but the docs tag ${seen[$name]:-0} with it" >&2
      errors=$((errors + 1))
    fi
  done
  for file in "${pending_files[@]}"; do
    [ -n "${exempted[$file]:-}" ] ||
      echo "     note: $file needs no exemption any more: remove it from pending_files"
  done
  [ "$errors" = 0 ] || { echo "FAIL: $errors problem(s) with the blocks of the docs" >&2; exit 1; }
  echo "ok   coverage: $(grep -cvE '^orphan' <<<"$blocks") blocks in ${#doc_files[@]} files"
}
coverage

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${scenario_order[@]}")
for name in "${selected[@]}"; do
  if [ -z "${scenario_blocks[$name]:-}" ] || [ "$name" = server-conf ]; then
    echo "unknown scenario $name" >&2
    exit 2
  fi
done

# The cluster runs with the configuration lines the docs give (docs/write-model.md,
# docs/operations.md); output_plugin_libraries exists from PostgreSQL 15.19 on only.
scenario=server-conf
conf_lines=()
for n in 1 2; do
  doc_block server-conf "$n"
  while IFS= read -r line; do
    [[ $line =~ ^[a-z_]+\ = ]] || continue
    [[ $line == output_plugin_libraries* ]] && ! pgcqrs_pg_has_plugin_allowlist && continue
    conf_lines+=("$line")
  done <<<"$block"
done
block_at=
pgcqrs_pg_start "$run_dir" "${conf_lines[@]}"
for line in "${conf_lines[@]}"; do
  name=${line%% =*}
  want=$(sed -E "s/^[a-z_]+ = //; s/[[:space:]]*#.*$//; s/^'(.*)'$/\\1/" <<<"$line")
  got=$(psql -X -At -c "SHOW $name")
  [ "$got" = "$want" ] || fail "the server runs with $name = '$got', not the documented '$want'"
done
echo "ok   server-conf: ${#conf_lines[@]} lines of the docs in postgresql.conf"

failed=()
for name in "${selected[@]}"; do
  set +e
  (
    set -e
    dir=
    # A failed scenario stops what it started at once, and drops its slots: slot names are
    # per cluster, and a slot left behind would stop the next scenario's sidecar.
    trap '[ -z "$dir" ] || { stop_started "$dir"; poll 30 slots_released || true; drop_slots || true; }' EXIT
    "scenario_${name//-/_}"
  )
  status=$?
  set -e
  [ "$status" = 0 ] || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "docs commands: FAILED: ${failed[*]}" >&2
  PGCQRS_KEEP=1
  exit 1
fi
echo "docs commands: all ${#selected[@]} scenarios passed"
