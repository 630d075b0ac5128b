# Shared helpers for the benchmarks: statistics over repeated runs and a results table.
# Source after scripts/lib/servers.sh.

# stats V1 V2 ...: prints "median min max" of the numbers.
bench_stats() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
    printf "%.4f %.4f %.4f\n", m, v[1], v[NR] }'
}

# bench_time COMMAND...: runs the command, prints its wall time in seconds.
bench_time() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}
