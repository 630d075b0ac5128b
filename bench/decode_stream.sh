#!/usr/bin/env bash
# Decode-and-stream benchmark: one recorded workload (orders with 3 items, renames, status
# changes) decoded by pgcqrs (both framings), wal2json (formats 1 and 2), pgoutput and test_decoding, both
# through pg_logical_slot_peek_changes (in the backend) and streamed over a replication
# connection to pg_recvlogical (each run on a fresh copy of a slot that has not consumed
# the workload). Prints a Markdown table: seconds as median (min-max) of RUNS runs, row
# changes per second, bytes out, and pgcqrs's speed as a ratio to each peer.
# Usage: bench/decode_stream.sh [ORDERS] [RUNS]   (needs the extension and wal2json installed)
# With BENCH_TSV=FILE it also writes one line per plugin and mode for bench/run.sh:
# name mode median min max changes_per_s bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/servers.sh
source bench/lib.sh

orders=${1:-50000}
runs=${2:-5}
run_dir=$(mktemp -d /tmp/pgcqrs-bench-decode.XXXXXX)
cleanup() { pgcqrs_pg_remove "$run_dir"; rm -rf "$run_dir"; }
trap cleanup EXIT
pgcqrs_pg_start "$run_dir" "shared_buffers = 512MB" "max_replication_slots = 64" \
  "max_wal_size = 4GB" "wal_sender_timeout = 0"

# plugin name | slot | peek SQL options | pg_recvlogical options | binary?
# pgcqrs: with framing 'transaction', as the sidecar reads it (one message per transaction);
# pgcqrs-msg: the default framing, one message per begin, event and commit.
plugins=(
  "pgcqrs|b_pgcqrs|'framing','transaction'|-o framing=transaction|text"
  "pgcqrs-msg|b_pgcqrs_m|||text"
  "wal2json-1|b_w2j1|'format-version','1'|-o format-version=1|text"
  "wal2json-2|b_w2j2|'format-version','2'|-o format-version=2|text"
  "pgoutput|b_pgo|'proto_version','1','publication_names','bench'|-o proto_version=1 -o publication_names=bench|binary"
  "test_decoding|b_td|||text"
)

psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION pgcqrs;
INSERT INTO users (name, email) SELECT 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
INSERT INTO products (name, price) SELECT 'product ' || g, (g % 100) + 0.99 FROM generate_series(1, 100) g;
CREATE PUBLICATION bench FOR TABLE users, products, orders, order_items;
SQL
for p in "${plugins[@]}"; do
  IFS='|' read -r name slot _ _ _ <<<"$p"
  plugin=${name%%-*}
  psql -qAt -c "SELECT 1 FROM pg_create_logical_replication_slot('$slot', '$plugin')" >/dev/null
done

echo "recording the workload: $orders orders of 3 items, a status change every 10, a rename every 100" >&2
psql -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$orders LOOP
    PERFORM place_order(1 + i % 1000, format('[{"product_id":%s,"quantity":1},{"product_id":%s,"quantity":2},{"product_id":%s,"quantity":3}]',
                        1 + i % 100, 1 + (i + 1) % 100, 1 + (i + 2) % 100)::jsonb);
    IF i % 10 = 0 THEN UPDATE orders SET status = 'paid' WHERE id = i; END IF;
    IF i % 100 = 0 THEN UPDATE users SET name = name || '.' WHERE id = 1 + i % 1000; END IF;
    COMMIT;
  END LOOP;
END \$\$;
SQL
end_lsn=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
changes=$(psql -qAt -c "SELECT count(*) FROM pg_logical_slot_peek_changes('b_td', NULL, NULL) WHERE data LIKE 'table %'")
wal_bytes=$(psql -qAt -c "SELECT pg_wal_lsn_diff('$end_lsn', confirmed_flush_lsn) FROM pg_replication_slots WHERE slot_name = 'b_td'")
echo "workload: $changes row changes, $((wal_bytes / 1048576)) MB of WAL" >&2

declare -A median minv maxv bytes
for p in "${plugins[@]}"; do
  IFS='|' read -r name slot peek_opts stream_opts kind <<<"$p"
  opts=${peek_opts:+, $peek_opts}
  fn=pg_logical_slot_peek_changes
  [ "$kind" = binary ] && fn=pg_logical_slot_peek_binary_changes

  times=()
  for _ in $(seq 1 "$runs"); do
    times+=("$(bench_time psql -qAt -c "SELECT count(*) FROM $fn('$slot', NULL, NULL$opts)")")
  done
  read -r median[$name,peek] minv[$name,peek] maxv[$name,peek] <<<"$(bench_stats "${times[@]}")"
  bytes[$name,peek]=$(psql -qAt -c "SELECT sum(octet_length(data)) FROM $fn('$slot', NULL, NULL$opts)")

  times=()
  for r in $(seq 1 "$runs"); do
    copy=${slot}_c$r
    psql -qAt -c "SELECT 1 FROM pg_copy_logical_replication_slot('$slot', '$copy')" >/dev/null
    # shellcheck disable=SC2086
    times+=("$(bench_time "$PGCQRS_PG_BIN/pg_recvlogical" -d postgres --slot "$copy" --start \
              --endpos "$end_lsn" $stream_opts -f "$run_dir/$copy.out" -s 10 -F 0)")
    bytes[$name,stream]=$(stat -c %s "$run_dir/$copy.out")
    rm -f "$run_dir/$copy.out"
    psql -qAt -c "SELECT pg_drop_replication_slot('$copy')" >/dev/null
  done
  read -r median[$name,stream] minv[$name,stream] maxv[$name,stream] <<<"$(bench_stats "${times[@]}")"
done

if [ -n "${BENCH_TSV:-}" ]; then
  : >"$BENCH_TSV"
  for mode in peek stream; do
    for p in "${plugins[@]}"; do
      IFS='|' read -r name _ _ _ _ <<<"$p"
      awk -v n="$name" -v m="$mode" -v med="${median[$name,$mode]}" -v lo="${minv[$name,$mode]}" \
          -v hi="${maxv[$name,$mode]}" -v ch="$changes" -v by="${bytes[$name,$mode]}" \
          'BEGIN { printf "%s\t%s\t%.4f\t%.4f\t%.4f\t%.0f\t%d\n", n, m, med, lo, hi, ch / med, by }' >>"$BENCH_TSV"
    done
  done
  echo "$changes" >"$BENCH_TSV.changes"
fi

echo "| plugin | mode | seconds, median (min-max) | row changes/s | bytes out | pgcqrs speed vs this |"
echo "|---|---|---|---|---|---|"
for mode in peek stream; do
  for p in "${plugins[@]}"; do
    IFS='|' read -r name _ _ _ _ <<<"$p"
    awk -v n="$name" -v m="$mode" -v med="${median[$name,$mode]}" -v lo="${minv[$name,$mode]}" \
        -v hi="${maxv[$name,$mode]}" -v ch="$changes" -v by="${bytes[$name,$mode]}" \
        -v ours="${median[pgcqrs,$mode]}" 'BEGIN {
      printf "| %s | %s | %.3f (%.3f-%.3f) | %.0f | %.1f MB | %.2fx |\n",
             n, (m == "peek" ? "peek (SQL)" : "stream (pg_recvlogical)"), med, lo, hi, ch / med,
             by / 1048576, med / ours }'
  done
done
