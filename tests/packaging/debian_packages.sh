#!/usr/bin/env bash
# The Debian packages as a production host gets them: scripts/package.sh builds them, they are
# unpacked into a scratch root (never the real system) next to a copy of PostgreSQL, and then
# - the packages hold exactly the files they should, with their dependencies and conffile;
# - a throwaway server running from the scratch root's PostgreSQL finds the extension there
#   (nowhere else: the copy has no other pgcqrs) and runs CREATE EXTENSION pgcqrs;
# - the packaged pgcqrs-sidecar, started as the unit's ExecStart does with only the variables
#   of the packaged /etc/default/pgcqrs-sidecar (filled in: ports, password file paths), as an
#   unprivileged user, with both passwords from password files, projects a written order
#   into Redis, and exits 0 on SIGTERM and 2 on a configuration error (RestartPreventExitStatus);
# - systemd-analyze verify finds nothing to say about the unit, and its exposure score is low.
# Usage: debian_packages.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# The PostgreSQL the packages are built for: the pg_config on PATH, as the build's.
PG_BINDIR=$(pg_config --bindir)
PG_PKGLIBDIR=$(pg_config --pkglibdir)
PG_SHAREDIR=$(pg_config --sharedir)
PG_MAJOR=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')

WORK=$(mktemp -d /tmp/pgcqrs-packages.XXXXXX)
chmod 755 "$WORK"   # the cluster owner and the sidecar's user read the scratch root
SCRATCH=$WORK/root
SC_PID=
cleanup() {
  local rc=$?
  set +e
  if [ -n "$SC_PID" ] && kill -0 "$SC_PID" 2>/dev/null; then kill -9 "$SC_PID"; fi
  if [ $rc -ne 0 ] && [ -f "$WORK/sidecar.log" ]; then
    echo "---- sidecar log (last 40 lines)"; tail -40 "$WORK/sidecar.log"
  fi
  if [ -n "${PGCQRS_PG_BIN:-}" ]; then pgcqrs_pg_remove "$WORK"; pgcqrs_redis_stop "$WORK"; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

step "build the packages (scripts/package.sh)"
bash "$ROOT/scripts/package.sh" "$BUILD" >"$WORK/package.out" 2>&1 || { cat "$WORK/package.out"; fail "scripts/package.sh failed"; }
ARCH=$(dpkg --print-architecture)
EXT_DEB=$BUILD/packages/postgresql-$PG_MAJOR-pgcqrs_1.0-1_$ARCH.deb
SC_DEB=$BUILD/packages/pgcqrs-sidecar_1.0-1_$ARCH.deb
for deb in "$EXT_DEB" "$SC_DEB"; do
  grep -qxF "$deb" "$WORK/package.out" || fail "scripts/package.sh did not print $deb:
$(cat "$WORK/package.out")"
done

# files DEB: the regular files of a package, one absolute path a line, sorted.
files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }
expect_files() {
  local got
  got=$(files "$1")
  [ "$got" == "$(sort <<<"$2")" ] || fail "$(basename "$1") holds:
$got
expected:
$2"
}
expect_files "$EXT_DEB" "$PG_PKGLIBDIR/pgcqrs.so
$PG_SHAREDIR/extension/pgcqrs--1.0.sql
$PG_SHAREDIR/extension/pgcqrs--1.0--1.1.sql
$PG_SHAREDIR/extension/pgcqrs.control"
expect_files "$SC_DEB" "/etc/default/pgcqrs-sidecar
/usr/bin/pgcqrs-query
/usr/bin/pgcqrs-sidecar
/usr/lib/systemd/system/pgcqrs-sidecar.service
/usr/share/doc/pgcqrs-sidecar/operations.md
/usr/share/doc/pgcqrs-sidecar/security.md
/usr/share/doc/pgcqrs-sidecar/sidecar.md
/usr/share/pgcqrs-sidecar/monitoring/pgcqrs-alerts.yml
/usr/share/pgcqrs-sidecar/monitoring/pgcqrs-dashboard.json"

field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$EXT_DEB" Package)" == "postgresql-$PG_MAJOR-pgcqrs" ] || fail "extension package name"
grep -qE "(^|, )postgresql-$PG_MAJOR(,|$)" <<<"$(field "$EXT_DEB" Depends)" ||
  fail "postgresql-$PG_MAJOR-pgcqrs does not depend on postgresql-$PG_MAJOR: $(field "$EXT_DEB" Depends)"
for lib in libhiredis libpq5 libpqxx libspdlog; do
  grep -q "$lib" <<<"$(field "$SC_DEB" Depends)" || fail "pgcqrs-sidecar does not depend on $lib: $(field "$SC_DEB" Depends)"
done
[ "$(dpkg-deb -I "$SC_DEB" conffiles)" == /etc/default/pgcqrs-sidecar ] ||
  fail "/etc/default/pgcqrs-sidecar is not the sidecar package's conffile"
for script in postinst prerm postrm; do
  dpkg-deb -I "$SC_DEB" "$script" >"$WORK/$script" || fail "pgcqrs-sidecar has no $script"
  sh -n "$WORK/$script" || fail "the $script of pgcqrs-sidecar does not parse"
done

step "unpack into a scratch root beside a copy of PostgreSQL $PG_MAJOR"
# PostgreSQL finds its share and lib directories relative to its binaries, so binaries copied
# into the scratch root use the scratch root's extension directories. Libraries and share
# files are linked from the real installation, minus any pgcqrs: only the package's remain.
mkdir -p "$SCRATCH$PG_BINDIR" "$SCRATCH$PG_PKGLIBDIR" "$SCRATCH$PG_SHAREDIR"
cp -a "$PG_BINDIR/." "$SCRATCH$PG_BINDIR/"
cp -as "$PG_PKGLIBDIR/." "$SCRATCH$PG_PKGLIBDIR/"
cp -as "$PG_SHAREDIR/." "$SCRATCH$PG_SHAREDIR/"
find "$SCRATCH$PG_PKGLIBDIR" "$SCRATCH$PG_SHAREDIR" -mindepth 1 -name 'pgcqrs*' -exec rm -rf {} +
# systemd's own units, for systemd-analyze --root to resolve the unit's dependencies.
mkdir -p "$SCRATCH/usr/lib/systemd/system"
cp -a /usr/lib/systemd/system/. "$SCRATCH/usr/lib/systemd/system/"
dpkg -x "$EXT_DEB" "$SCRATCH"
dpkg -x "$SC_DEB" "$SCRATCH"
[ "$("$SCRATCH$PG_BINDIR/pg_config" --pkglibdir)" == "$SCRATCH$PG_PKGLIBDIR" ] ||
  fail "the scratch root's PostgreSQL does not look for libraries in the scratch root"
# Every pgcqrs file the scratch PostgreSQL can see is one the package unpacked (a regular file,
# not a link to the real installation).
[ "$(find "$SCRATCH$PG_PKGLIBDIR" "$SCRATCH$PG_SHAREDIR" -name 'pgcqrs*' -printf '%y %p\n' | sort)" == \
  "$(printf 'f %s\n' "$SCRATCH$PG_PKGLIBDIR/pgcqrs.so" "$SCRATCH$PG_SHAREDIR/extension/pgcqrs--1.0.sql" \
       "$SCRATCH$PG_SHAREDIR/extension/pgcqrs--1.0--1.1.sql" "$SCRATCH$PG_SHAREDIR/extension/pgcqrs.control" | sort)" ] ||
  fail "the scratch root holds other pgcqrs files than the package's:
$(find "$SCRATCH$PG_PKGLIBDIR" "$SCRATCH$PG_SHAREDIR" -name 'pgcqrs*' -printf '%y %p\n')"

step "systemd-analyze verify and security"
UNIT=$SCRATCH/usr/lib/systemd/system/pgcqrs-sidecar.service
out=$(systemd-analyze verify --root="$SCRATCH" "$UNIT" 2>&1) || fail "systemd-analyze verify failed:
$out"
[ -z "$out" ] || fail "systemd-analyze verify has remarks:
$out"
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
[ "$(unit_value RestartPreventExitStatus)" == 2 ] || fail "the unit does not keep exit status 2 from restarting"
[ "$(unit_value Restart)" == on-failure ] || fail "the unit does not restart on failure"
[ "$(unit_value NoNewPrivileges)" == yes ] || fail "the unit allows new privileges"
[ "$(unit_value ProtectSystem)" == strict ] || fail "the unit does not protect the file system"
user=$(unit_value User)
[ -n "$user" ] && [ "$user" != root ] || fail "the unit runs as '$user', not a dedicated user"
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$WORK/postinst" | grep -qE "useradd --system .*--shell /usr/sbin/nologin .*$user\$" || fail "postinst does not create the system user $user"
# The exposure score (0 safest, 10 unprotected) of systemd's own review of the settings.
exposure=$(systemd-analyze security --offline=true --root="$SCRATCH" "$UNIT" 2>&1 |
           sed -nE 's/.*Overall exposure level for .*: ([0-9.]+) .*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "the unit's exposure level is $exposure, above 2.0"
echo "   exposure level $exposure"
doc=$(unit_value Documentation)
[ -f "$SCRATCH${doc#file:}" ] || fail "the unit's Documentation= $doc is not in the package"

step "CREATE EXTENSION pgcqrs from the scratch root"
export PGCQRS_PG_BIN=$SCRATCH$PG_BINDIR
# shellcheck source=../../scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
pgcqrs_pg_start "$WORK"
pgcqrs_redis_start "$WORK"
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
[ "$(sql -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")" == "$SCRATCH$PG_PKGLIBDIR" ] ||
  fail "the throwaway server does not run from the scratch root"
sql -c "CREATE DATABASE shop"
export PGDATABASE=shop
sql -c "CREATE EXTENSION pgcqrs"
[ "$(sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pgcqrs'")" == 1.1 ] || fail "pgcqrs 1.1 (1.0 and its upgrade script) is not installed"
sql <<'SQL'
INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO products (name, price) VALUES ('Pen', 1.50), ('Ink', 2.25);
SQL

step "the sidecar's roles and password files (docs/security.md)"
PG_PW=pg-$RANDOM$RANDOM
REDIS_PW=redis-$RANDOM$RANDOM
sql <<SQL
CREATE ROLE pgcqrs_sidecar LOGIN REPLICATION PASSWORD '$PG_PW';
GRANT SELECT ON users, products, orders, order_items TO pgcqrs_sidecar;
SQL
# Its role must give a password: scram-sha-256 for it, ahead of servers.sh's trust lines.
hba=$(sql -c "SHOW hba_file")
{ echo "host shop pgcqrs_sidecar 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$WORK/hba"
cat "$WORK/hba" >"$hba"   # keeps the file's owner
sql -c "SELECT pg_reload_conf()" >/dev/null
pgcqrs_wait_sql 10 "SELECT auth_method = 'scram-sha-256' FROM pg_hba_file_rules WHERE line_number = 1" ||
  fail "the scram-sha-256 line is not in force"
if PGPASSFILE=/dev/null psql -w -qAtX "host=127.0.0.1 port=$PGPORT dbname=shop user=pgcqrs_sidecar" -c "SELECT 1" \
     >/dev/null 2>&1; then
  fail "pgcqrs_sidecar connects without a password: the password file would prove nothing"
fi
redis-cli -p "$PGCQRS_REDIS_PORT" ACL SETUSER pgcqrs-sidecar on ">$REDIS_PW" '~*' '&*' +@all >/dev/null

# The sidecar's user: the unit's, or (as root) the unprivileged owner of the test clusters.
run_as=()
secrets_owner=$(id -un) secrets_group=$(id -gn)
if [ "$(id -u)" -eq 0 ]; then
  # setpriv execs the command itself (runuser would stay its parent and take the signals).
  run_as=(setpriv --reuid=pgcqrs --regid=pgcqrs --init-groups --)
  secrets_owner=pgcqrs secrets_group=$(id -gn pgcqrs)
fi
# As postinst and /etc/default/pgcqrs-sidecar set them up, under the scratch root.
SECRETS=$SCRATCH/etc/pgcqrs
install -d -m 750 -g "$secrets_group" "$SECRETS"
install -m 600 -o "$secrets_owner" /dev/null "$SECRETS/pgpass"
install -m 600 -o "$secrets_owner" /dev/null "$SECRETS/redis-password"
echo "127.0.0.1:$PGPORT:shop:pgcqrs_sidecar:$PG_PW" >"$SECRETS/pgpass"
echo "$REDIS_PW" >"$SECRETS/redis-password"

step "the packaged environment file, filled in"
HTTP_PORT=$(pgcqrs_free_port)
ENV_FILE=$SCRATCH/etc/default/pgcqrs-sidecar
# Every PGCQRS_ variable it names, set or commented out, is one docs/sidecar.md documents.
while read -r var; do
  grep -qF "\`$var\`" "$ROOT/docs/sidecar.md" || fail "$ENV_FILE names $var, which docs/sidecar.md does not document"
done < <(grep -oE '^#?PGCQRS_[A-Z_]+=' "$ENV_FILE" | tr -d '#=')
# Only the values a host changes: ports, and the password files' directory (5 settings; the
# commented-out TLS files move with it).
sed -e "s/port=5432 /port=$PGPORT /" -e "s#redis://127.0.0.1:6379#redis://127.0.0.1:$PGCQRS_REDIS_PORT#" \
    -e "s/127.0.0.1:9187/127.0.0.1:$HTTP_PORT/" -e "s#=/etc/pgcqrs/#=$SECRETS/#" "$ENV_FILE" >"$WORK/sidecar.env"
[ "$(diff "$ENV_FILE" "$WORK/sidecar.env" | grep '^>' | grep -vc '^> #')" == 5 ] ||
  fail "the environment file did not take the 5 values of this host:
$(diff "$ENV_FILE" "$WORK/sidecar.env")"
grep -v '^#' "$WORK/sidecar.env" | grep -qE '(PGPASSWORD|PGCQRS_REDIS_PASSWORD)=|password=|://[^/]*@' &&
  fail "the environment file holds a password"
# As systemd reads an EnvironmentFile: KEY=VALUE lines, comments skipped, "..." quotes removed.
env_vars=()
while IFS= read -r line; do
  [[ $line =~ ^[A-Z_][A-Z0-9_]*= ]] || continue
  value=${line#*=}
  [[ $value == \"*\" ]] && value=${value:1:-1}
  env_vars+=("${line%%=*}=$value")
done <"$WORK/sidecar.env"
read -r -a exec_start <<<"$(unit_value ExecStart)"
[ "${exec_start[0]}" == /usr/bin/pgcqrs-sidecar ] || fail "ExecStart runs ${exec_start[0]}"
exec_start[0]=$SCRATCH${exec_start[0]}
start_sidecar() {
  "${run_as[@]}" env -i PATH=/usr/bin:/bin "${env_vars[@]}" "${exec_start[@]}" "$@" >>"$WORK/sidecar.log" 2>&1 &
  SC_PID=$!
}

step "the packaged sidecar projects an order into Redis"
start_sidecar
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" == 200 ]; }
deadline=$((SECONDS + 60))
until healthy; do
  kill -0 "$SC_PID" 2>/dev/null || fail "the sidecar exited"
  [ $SECONDS -lt $deadline ] || fail "the sidecar does not stream within 60 s"
  sleep 0.1
done
# The walsender decoding for it has the package's library loaded, from the scratch root.
walsender=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'pgcqrs'")
grep -qF "$SCRATCH$PG_PKGLIBDIR/pgcqrs.so" "/proc/$walsender/maps" ||
  fail "the walsender $walsender has not loaded $SCRATCH$PG_PKGLIBDIR/pgcqrs.so"
sql -c "SELECT place_order(1, '[{\"product_id\": 1, \"quantity\": 2}, {\"product_id\": 2, \"quantity\": 1}]')" >/dev/null
rc() { redis-cli -p "$PGCQRS_REDIS_PORT" "$@"; }
deadline=$((SECONDS + 30))
until [ "$(rc HGET "order_details:{1}:1" total)" == 5.25 ]; do
  [ $SECONDS -lt $deadline ] || fail "order 1 (total 5.25) did not reach Redis within 30 s"
  sleep 0.1
done
[ "$(rc HGET "order_details:{1}:1" user_name)" == Ada ] || fail "order 1's user_name is '$(rc HGET "order_details:{1}:1" user_name)'"
[ "$(rc HGET pgcqrs:checkpoint slot)" == pgcqrs ] || fail "the checkpoint is not the env file's slot pgcqrs"
# The packaged query client reads it back with the same variables.
out=$("${run_as[@]}" env -i "${env_vars[@]}" "$SCRATCH/usr/bin/pgcqrs-query" order 1 --json)
jq -e '.total == "5.25" and .user_name == "Ada" and (.items | length) == 2' <<<"$out" >/dev/null ||
  fail "pgcqrs-query order 1: $out"

step "exit statuses the unit relies on"
kill -TERM "$SC_PID"
status=0
wait "$SC_PID" || status=$?
SC_PID=
[ "$status" == 0 ] || fail "the sidecar exited $status on SIGTERM, not 0 (Restart=on-failure would restart it)"
# A permanent start-up error: 2, which RestartPreventExitStatus keeps from restarting.
start_sidecar --slot Not-A-Slot
status=0
wait "$SC_PID" || status=$?
SC_PID=
[ "$status" == 2 ] || fail "a bad --slot made the sidecar exit $status, not 2"
echo "ok"
