# Certificates for tests that talk TLS, made with openssl into a directory the caller owns.
# Source this file.

# pgcqrs_tls_ca DIR NAME: a self-signed CA, DIR/NAME.crt and DIR/NAME.key.
pgcqrs_tls_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pgcqrs test $2" \
    -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
}

# pgcqrs_tls_signed DIR CA NAME SUBJECT EXTENSION: a certificate for SUBJECT signed by CA,
# with one X.509v3 EXTENSION line, DIR/NAME.crt and DIR/NAME.key (mode 0600: PostgreSQL and
# the sidecar refuse a key other users can read).
pgcqrs_tls_signed() {
  local dir=$1 ca=$2 name=$3
  openssl req -newkey rsa:2048 -nodes -subj "$4" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf '%s\n' "$5" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  chmod 600 "$dir/$name.key"
}

# pgcqrs_tls_server DIR CA NAME: a server certificate signed by CA for localhost and
# 127.0.0.1, DIR/NAME.crt and DIR/NAME.key.
pgcqrs_tls_server() {
  pgcqrs_tls_signed "$1" "$2" "$3" /CN=localhost 'subjectAltName = DNS:localhost, IP:127.0.0.1'
}

# pgcqrs_pg_tls_on RUN_DIR CERT_DIR NAME: turns TLS on in the cluster of RUN_DIR
# (scripts/lib/servers.sh) with CERT_DIR/NAME.crt and .key, copied into its data directory.
pgcqrs_pg_tls_on() {
  local data
  data=$(pgcqrs_pg_base "$1")/pg
  cp "$2/$3.crt" "$data/server.crt"
  cp "$2/$3.key" "$data/server.key"
  chmod 600 "$data/server.key"
  [ "$(id -u)" -eq 0 ] && chown pgcqrs: "$data/server.crt" "$data/server.key"
  psql -qAt -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
}

# pgcqrs_tls_client DIR CA NAME: a client certificate signed by CA, for servers that ask
# clients for one (Redis's tls-auth-clients), DIR/NAME.crt and DIR/NAME.key; clientAuth,
# since a server checks that purpose.
pgcqrs_tls_client() {
  pgcqrs_tls_signed "$1" "$2" "$3" /CN=pgcqrs-sidecar 'extendedKeyUsage = clientAuth'
}

# pgcqrs_redis_tls_start RUN_DIR CERT_DIR SERVER CA [redis.conf line ...]: the Redis of
# pgcqrs_redis_start (scripts/lib/servers.sh), TLS only: no plain-text port (port 0), a free
# tls-port with CERT_DIR/SERVER.crt and .key (pgcqrs_tls_server's serves as it is), and only
# clients that show a certificate signed by CERT_DIR/CA.crt (tls-auth-clients yes). Makes
# CERT_DIR/redis-cli.crt and .key, the caller's own client certificate, and sets
# PGCQRS_REDIS_TLS_CLI to redis-cli's options for it; exports PGCQRS_REDIS_TLS_PORT:
#   redis-cli "${PGCQRS_REDIS_TLS_CLI[@]}" -p "$PGCQRS_REDIS_TLS_PORT" ping
# pgcqrs_redis_stop stops it.
pgcqrs_redis_tls_start() {
  local dir=$1 certs=$2 server=$3 ca=$4; shift 4
  # Absolute paths: Redis reads the files after changing to its data directory.
  certs=$(cd "$certs" && pwd)
  pgcqrs_tls_client "$certs" "$ca" redis-cli || return 1
  PGCQRS_REDIS_TLS_CLI=(--tls --cacert "$certs/$ca.crt" --cert "$certs/redis-cli.crt" --key "$certs/redis-cli.key")
  pgcqrs_redis_launch tls-port "$dir" "tls-cert-file $certs/$server.crt" "tls-key-file $certs/$server.key" \
    "tls-ca-cert-file $certs/$ca.crt" "tls-auth-clients yes" "$@" || return 1
  export PGCQRS_REDIS_TLS_PORT=$pgcqrs_redis_launched_port
}
