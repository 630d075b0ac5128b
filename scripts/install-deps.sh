#!/usr/bin/env bash
# Installs every Debian 12 package pgcqrs needs to build, test, demo and benchmark.
# Idempotent: packages already present are left alone; safe to run on every CI start.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 postgresql-contrib libpq-dev libpqxx-dev
  redis-server redis-tools libhiredis-dev
  libboost-dev libboost-system-dev libssl-dev libjemalloc-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev nlohmann-json3-dev
  clang llvm
  util-linux procps valgrind
  curl jq iproute2 openssl
  gnuplot-nox postgresql-15-wal2json
  dpkg-dev systemd prometheus
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

# The commands the tests, the demo and the benchmarks call, beyond bash and coreutils: each
# must come from a package above (checked at the end).
commands=(psql pg_dump pg_recvlogical pg_config redis-server redis-cli curl jq ss runuser useradd
          make cmake gnuplot awk sed grep diff ps
          cpack dpkg-deb dpkg-shlibdeps setpriv systemd-analyze prometheus promtool openssl)
check_commands() {
  local c lost=()
  for c in "${commands[@]}"; do command -v "$c" >/dev/null || lost+=("$c"); done
  if [ ${#lost[@]} -gt 0 ]; then
    echo "install-deps: no ${lost[*]} after installing: add the package that has it" >&2
    exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  check_commands
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian's postgresql package starts a system cluster and redis-server a system service;
# pgcqrs never uses them (tests start throwaway servers), so keep them from holding ports.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true
# Likewise Debian's prometheus package starts a system service on port 9090; the monitoring
# test runs its own Prometheus on a free port.
if [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
check_commands
