# Throwaway PostgreSQL and Redis servers on loopback, for tests, benchmarks and the demo.
# Source this file; every server lives under a directory the caller owns and removes.
# initdb refuses to run as root, so as root the cluster belongs to the unprivileged
# system user "pgcqrs" (created on first use).

PGCQRS_PG_BIN=${PGCQRS_PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}

# Prints a TCP port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range
# (32768 and up) so that no outgoing connection holds it either. Another process may still
# take it before we bind: the start functions retry with a new port.
pgcqrs_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "pgcqrs_free_port: no free port found" >&2
  return 1
}

# Runs a command as the cluster owner: ourselves, or "pgcqrs" when we are root.
pgcqrs_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u pgcqrs -- "$@"
  else
    "$@"
  fi
}

pgcqrs_ensure_owner() {
  [ "$(id -u)" -eq 0 ] || return 0
  id pgcqrs >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pgcqrs
}

# Whether this server build has output_plugin_libraries (PostgreSQL 15.19 and later load only
# the output plugins listed there).
pgcqrs_pg_has_plugin_allowlist() {
  # Read the whole list first: grep -q closing the pipe early would fail under pipefail.
  local config
  config=$("$PGCQRS_PG_BIN/postgres" --describe-config 2>/dev/null) || return 1
  grep -q '^output_plugin_libraries' <<<"$config"
}

# Where the cluster of DIR keeps its files. As root the cluster belongs to "pgcqrs", which
# may not be able to reach DIR (a checkout under /root, say): then the files live in a
# directory under /tmp recorded in DIR/pg.base.
pgcqrs_pg_base() {
  if [ -f "$1/pg.base" ]; then cat "$1/pg.base"; else echo "$1"; fi
}

# The server log of the cluster in DIR.
pgcqrs_pg_log() {
  echo "$(pgcqrs_pg_base "$1")/pg-log/postgresql.log"
}

# pgcqrs_pg_start DIR [postgresql.conf line ...]
# Creates and starts a cluster for DIR on a free port with wal_level=logical. Exports
# PGHOST, PGPORT, PGUSER, PGDATABASE for the caller (database "postgres", user "postgres"), and
# PGCQRS_PG_SOCKET_DIR, the directory of its Unix socket.
pgcqrs_pg_start() {
  local dir=$1; shift
  pgcqrs_ensure_owner
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local base=$dir port
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$dir"
    if ! runuser -u pgcqrs -- test -x "$dir"; then
      base=$(mktemp -d /tmp/pgcqrs-pg.XXXXXX)
      chmod 755 "$base"
      echo "$base" >"$dir/pg.base"
    fi
  fi
  local data=$base/pg
  mkdir -p "$data" "$base/pg-socket" "$base/pg-log"
  [ "$(id -u)" -eq 0 ] && chown pgcqrs: "$data" "$base/pg-socket" "$base/pg-log"
  pgcqrs_as_owner "$PGCQRS_PG_BIN/initdb" -D "$data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; return 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$base/pg-socket'"
    echo "wal_level = logical"
    echo "max_replication_slots = 16"
    echo "max_wal_senders = 16"
    echo "fsync = off"
    echo "synchronous_commit = on"
    echo "logging_collector = off"
    if pgcqrs_pg_has_plugin_allowlist; then
      echo "output_plugin_libraries = 'pgoutput, test_decoding, pgcqrs, wal2json'"
    fi
    local line
    for line in "$@"; do echo "$line"; done
  } >>"$data/postgresql.conf"
  echo "host replication all 127.0.0.1/32 trust" >>"$data/pg_hba.conf"
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(pgcqrs_free_port) || return 1
    # A later "port" line overrides an earlier one, so a retry just appends another.
    echo "port = $port" >>"$data/postgresql.conf"
    if pgcqrs_as_owner "$PGCQRS_PG_BIN/pg_ctl" -D "$data" -l "$base/pg-log/postgresql.log" -w -t 60 start \
         >/dev/null; then
      break
    fi
    grep -q "Address already in use" "$base/pg-log/postgresql.log" && [ $attempt -lt 5 ] && continue
    cat "$base/pg-log/postgresql.log" >&2
    return 1
  done
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres PGCQRS_PG_SOCKET_DIR=$base/pg-socket
  echo "$port" >"$dir/pg.port"
}

# pgcqrs_pg_stop DIR [mode]   (mode: fast, the default, or immediate)
pgcqrs_pg_stop() {
  local dir=$1 mode=${2:-fast} base
  base=$(pgcqrs_pg_base "$dir")
  [ -f "$base/pg/postmaster.pid" ] || return 0
  pgcqrs_as_owner "$PGCQRS_PG_BIN/pg_ctl" -D "$base/pg" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

# pgcqrs_pg_remove DIR: stops the cluster and deletes its files, wherever they live.
pgcqrs_pg_remove() {
  local dir=$1 base
  base=$(pgcqrs_pg_base "$dir")
  pgcqrs_pg_stop "$dir" immediate
  [ "$base" != "$dir" ] && rm -rf "$base"
  rm -rf "$dir/pg" "$dir/pg-socket" "$dir/pg-log" "$dir/pg.base" "$dir/pg.port" "$dir/initdb.log"
}

# pgcqrs_redis_start DIR [redis.conf line ...]
# Starts redis-server on a free loopback port with data in DIR/redis; exports PGCQRS_REDIS_PORT.
pgcqrs_redis_start() {
  pgcqrs_redis_launch port "$@" || return 1
  export PGCQRS_REDIS_PORT=$pgcqrs_redis_launched_port
}

# pgcqrs_redis_launch LISTEN DIR [redis.conf line ...]: what the Redis start functions share.
# Starts redis-server for DIR on a free loopback port, with a new port if another process took
# it before Redis bound it, and sets pgcqrs_redis_launched_port. LISTEN "port" serves plain
# text there; "tls-port" serves TLS only (port 0), pinged with the redis-cli options in the
# array PGCQRS_REDIS_TLS_CLI (pgcqrs_redis_tls_start in scripts/lib/tls.sh).
pgcqrs_redis_launch() {
  local listen=$1 dir=$2; shift 2
  mkdir -p "$dir/redis"
  dir=$(cd "$dir" && pwd)
  local port attempt deadline cli pong
  for attempt in 1 2 3 4 5; do
    port=$(pgcqrs_free_port) || return 1
    cli=(-p "$port")
    [ "$listen" = tls-port ] && cli=("${PGCQRS_REDIS_TLS_CLI[@]}" -p "$port")
    {
      echo "bind 127.0.0.1"
      if [ "$listen" = tls-port ]; then echo "port 0"; echo "tls-port $port"; else echo "port $port"; fi
      echo "dir $dir/redis"
      echo "daemonize yes"
      echo "pidfile $dir/redis/redis.pid"
      echo "logfile $dir/redis/redis.log"
      echo "save ''"
      echo "appendonly no"
      # As docs/operations.md recommends: order hashes stay in the compact listpack encoding.
      echo "hash-max-listpack-value 1024"
      local line
      for line in "$@"; do echo "$line"; done
    } >"$dir/redis/redis.conf"
    redis-server "$dir/redis/redis.conf" || return 1
    # Each ping bounded: a TLS ping at a plain-text server on a port taken meanwhile hangs.
    pong=no deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && ! grep -q "Address already in use" "$dir/redis/redis.log" 2>/dev/null; do
      if timeout 5 redis-cli "${cli[@]}" ping >/dev/null 2>&1; then pong=yes; break; fi
      sleep 0.1
    done
    [ $pong = yes ] && break
    if grep -q "Address already in use" "$dir/redis/redis.log" 2>/dev/null && [ $attempt -lt 5 ]; then
      : >"$dir/redis/redis.log"
      continue
    fi
    cat "$dir/redis/redis.log" >&2
    return 1
  done
  pgcqrs_redis_launched_port=$port
  echo "$port" >"$dir/redis.port"
}

# pgcqrs_running PID: whether PID is a live process. One whose threads have all exited but
# that its parent (init, for a daemon) has not reaped yet is a zombie holding no port or file:
# on some machines init reaps a daemon seconds late, so waiting for it to vanish would cost
# each stop that much. The main thread of a process is a zombie as soon as it exits itself,
# while other threads may still hold its files: only a zombie without them counts as gone.
pgcqrs_running() {
  local stat tasks
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" = Z ] || return 0
  tasks=("/proc/$1/task/"*)
  [ ${#tasks[@]} -gt 1 ]
}

pgcqrs_redis_stop() {
  local dir=$1
  [ -f "$dir/redis/redis.pid" ] || return 0
  local pid
  pid=$(cat "$dir/redis/redis.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    pgcqrs_running "$pid" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# pgcqrs_wait_sql SECONDS QUERY: polls QUERY (psql, current PG* settings) until it prints "t";
# fails after SECONDS. Tests wait on conditions like this, never on fixed sleeps.
pgcqrs_wait_sql() {
  local seconds=$1 query=$2 deadline=$((SECONDS + $1)) answer
  while [ $SECONDS -lt $deadline ]; do
    answer=$(psql -qAt -c "$query" 2>/dev/null || true)
    [ "$answer" = t ] && return 0
    sleep 0.1
  done
  echo "pgcqrs_wait_sql: not true within ${seconds}s: $query" >&2
  return 1
}

# pgcqrs_pg_restart DIR MODE: restarts the cluster of DIR (mode fast or immediate).
pgcqrs_pg_restart() {
  local dir=$1 mode=$2 base
  base=$(pgcqrs_pg_base "$dir")
  pgcqrs_as_owner "$PGCQRS_PG_BIN/pg_ctl" -D "$base/pg" -m "$mode" -l "$base/pg-log/postgresql.log" \
    -w -t 60 restart >/dev/null
}

# pgcqrs_wait_gone PIDFILE [SECONDS]: waits until the process named in PIDFILE has exited.
pgcqrs_wait_gone() {
  local pid deadline=$((SECONDS + ${2:-30}))
  pid=$(cat "$1" 2>/dev/null) || return 0
  while pgcqrs_running "$pid"; do
    [ $SECONDS -lt $deadline ] || { echo "pgcqrs_wait_gone: $pid still running" >&2; return 1; }
    sleep 0.1
  done
}

# pgcqrs_servers_remove DIR: stops the Redis and removes the cluster of DIR, then DIR itself
# (what a test's or a benchmark's exit trap does).
pgcqrs_servers_remove() {
  pgcqrs_redis_stop "$1"
  pgcqrs_pg_remove "$1"
  rm -rf "$1"
}

# pgcqrs_remove_at_exit DIR [PID_VARIABLE]: sets an EXIT trap that stops the process whose
# pid the named variable holds at exit (if any), then removes the servers of DIR and DIR.
pgcqrs_remove_at_exit() {
  # shellcheck disable=SC2064  # DIR and the variable's name are fixed now, the pid at exit
  trap "pgcqrs_remove_now '$1' '${2:-}'" EXIT
}
pgcqrs_remove_now() {
  local pid=
  [ -n "$2" ] && pid=${!2:-}
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  pgcqrs_servers_remove "$1"
}

# pgcqrs_redis_cluster_start DIR MASTERS REPLICAS [redis.conf line ...]
# Starts a Redis Cluster of MASTERS masters with REPLICAS replicas each, node N in DIR/nodeN, and
# waits until all nodes agree on the cluster and serve all 16384 slots and every replica is in
# sync. Exports PGCQRS_REDIS_CLUSTER_PORTS (the ports in node order, also in DIR/cluster.ports)
# and PGCQRS_REDIS_CLUSTER_SEED (node 1's port). pgcqrs_redis_cluster_stop stops it.
pgcqrs_redis_cluster_start() {
  local dir=$1 masters=$2 replicas=$3; shift 3
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local count=$((masters * (1 + replicas))) i ports=() addrs=()
  for i in $(seq 1 "$count"); do
    # The cluster bus listens on port + 10000: pgcqrs_redis_launch retries if that is taken too.
    # No delay before a diskless full sync, which would hold each replica back 5 s.
    pgcqrs_redis_launch port "$dir/node$i" "cluster-enabled yes" "cluster-config-file nodes.conf" \
      "cluster-node-timeout 2000" "repl-diskless-sync-delay 0" "$@" || return 1
    ports+=("$pgcqrs_redis_launched_port")
    addrs+=("127.0.0.1:$pgcqrs_redis_launched_port")
  done
  if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
       >"$dir/cluster-create.log" 2>&1; then
    cat "$dir/cluster-create.log" >&2
    return 1
  fi
  # create returns once the nodes agree on the slots; gossip and replication finish later.
  local deadline=$((SECONDS + 30)) why
  until why=$(pgcqrs_redis_cluster_unready "$masters" "$replicas" "${ports[@]}"); do
    if [ $SECONDS -ge $deadline ]; then
      echo "pgcqrs_redis_cluster_start: not ready within 30s: $why" >&2
      return 1
    fi
    sleep 0.1
  done
  export PGCQRS_REDIS_CLUSTER_PORTS="${ports[*]}" PGCQRS_REDIS_CLUSTER_SEED=${ports[0]}
  echo "$PGCQRS_REDIS_CLUSTER_PORTS" >"$dir/cluster.ports"
}

# pgcqrs_redis_cluster_unready MASTERS REPLICAS PORT...: prints why the cluster of the nodes on
# the ports is not ready yet (and fails), or prints nothing. Ready: every node serves all slots
# and has the same view of the cluster, MASTERS masters with REPLICAS replicas each, all
# connected; every replica's link to its master is up. A node's own role changes before the
# others hear of it, so each one's view counts.
pgcqrs_redis_cluster_unready() {
  local masters=$1 replicas=$2; shift 2
  local port info view first=
  for port in "$@"; do
    if ! info=$(redis-cli -p "$port" cluster info 2>&1); then
      echo "node $port: $info"; return 1
    fi
    info=${info//$'\r'/}
    if ! grep -qx 'cluster_state:ok' <<<"$info" || ! grep -qx 'cluster_slots_ok:16384' <<<"$info"; then
      echo "node $port: $(grep -E '^cluster_(state|slots_ok):' <<<"$info" | tr '\n' ' ')"; return 1
    fi
    if ! info=$(redis-cli -p "$port" info replication 2>&1); then
      echo "node $port: $info"; return 1
    fi
    info=${info//$'\r'/}
    if grep -qx 'role:slave' <<<"$info" && ! grep -qx 'master_link_status:up' <<<"$info"; then
      echo "node $port: replica, $(grep '^master_link_status:' <<<"$info")"; return 1
    fi
    # One line a node, sorted: id, flags but "myself", master, link state, slots.
    if ! view=$(redis-cli -p "$port" cluster nodes 2>&1); then
      echo "node $port: $view"; return 1
    fi
    view=$(awk '{ sub(/^myself,/, "", $3); line = $1 " " $3 " " $4 " " $8
                  for (i = 9; i <= NF; i++) line = line " " $i; print line }' <<<"${view//$'\r'/}" | sort)
    if [ -z "$first" ]; then
      first=$view
      if [ "$(awk '$2 == "master" && $4 == "connected"' <<<"$view" | wc -l)" -ne "$masters" ] ||
         [ "$(awk '$2 == "slave" && $4 == "connected"' <<<"$view" | wc -l)" -ne $((masters * replicas)) ] ||
         [ "$(wc -l <<<"$view")" -ne $((masters * (1 + replicas))) ]; then
        echo "node $port sees:"$'\n'"$view"; return 1
      fi
    elif [ "$view" != "$first" ]; then
      echo "node $port sees:"$'\n'"$view"$'\n'"node $1 sees:"$'\n'"$first"; return 1
    fi
  done
}

# pgcqrs_redis_cluster_stop DIR: stops every node of the cluster of DIR.
pgcqrs_redis_cluster_stop() {
  local node pids=()
  for node in "$1"/node*; do
    [ -d "$node" ] || continue
    pgcqrs_redis_stop "$node" &
    pids+=("$!")
  done
  # Only our own jobs: the caller may have background processes of its own.
  [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
}
