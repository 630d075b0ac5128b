# Certificates for tests that talk TLS, made with openssl into a directory the caller owns.
# Source this file.

# pgcqrs_tls_ca DIR NAME: a self-signed CA, DIR/NAME.crt and DIR/NAME.key.
pgcqrs_tls_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pgcqrs test $2" \
    -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
}

# pgcqrs_tls_server DIR CA NAME: a server certificate signed by CA for localhost and
# 127.0.0.1, DIR/NAME.crt and DIR/NAME.key (mode 0600, as PostgreSQL requires).
pgcqrs_tls_server() {
  local dir=$1 ca=$2 name=$3
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  chmod 600 "$dir/$name.key"
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
