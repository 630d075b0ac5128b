// Prometheus text format 0.0.4.
#include "pgcqrs/sidecar/http/metrics.hpp"

#include <cstdio>

namespace pgcqrs::sidecar::http {
namespace {

void line(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// A label value as the exposition format quotes it: a type name from an application message
// may hold any byte, and an unescaped quote or newline would forge lines.
std::string label(const std::string& v) {
  std::string out;
  out.reserve(v.size() + 2);
  out += '"';
  for (char ch : v) {
    if (ch == '\\') out += "\\\\";
    else if (ch == '"') out += "\\\"";
    else if (ch == '\n') out += "\\n";
    else out += ch;
  }
  out += '"';
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void Metrics::count_ignored(const std::string& type) {
  bool room = events_ignored.count(type) > 0 || events_ignored.size() < kMaxIgnoredTypes;
  ++events_ignored[room ? type : "(other)"];
}

std::string Metrics::render() const {
  std::string o;
  line(o, "pgcqrs_events_applied_total", "counter", "Domain events applied to Redis, by type.");
  for (const auto& [t, n] : events_applied) o += "pgcqrs_events_applied_total{type=" + label(t) + "} " + std::to_string(n) + "\n";
  line(o, "pgcqrs_events_ignored_total", "counter", "Events that change no read model (application, InvalidMessage), by type.");
  for (const auto& [t, n] : events_ignored) o += "pgcqrs_events_ignored_total{type=" + label(t) + "} " + std::to_string(n) + "\n";
  line(o, "pgcqrs_transactions_applied_total", "counter", "Source transactions applied to Redis.");
  o += "pgcqrs_transactions_applied_total " + std::to_string(transactions_applied) + "\n";
  line(o, "pgcqrs_transactions_skipped_total", "counter", "Replayed transactions Redis already had.");
  o += "pgcqrs_transactions_skipped_total " + std::to_string(transactions_skipped) + "\n";
  line(o, "pgcqrs_redis_calls_total", "counter", "Batches sent to Redis (each: its reads, then one MULTI/EXEC).");
  o += "pgcqrs_redis_calls_total " + std::to_string(chunks_sent) + "\n";
  line(o, "pgcqrs_reconnects_total", "counter", "Reconnections, by server.");
  o += "pgcqrs_reconnects_total{server=\"postgresql\"} " + std::to_string(reconnects_pg) + "\n";
  o += "pgcqrs_reconnects_total{server=\"redis\"} " + std::to_string(reconnects_redis) + "\n";
  line(o, "pgcqrs_redis_cluster_resends_total", "counter",
       "Commands and slot transactions a Redis Cluster redirected or refused for now, sent again.");
  o += "pgcqrs_redis_cluster_resends_total{reason=\"moved\"} " + std::to_string(cluster_resends.moved) + "\n";
  o += "pgcqrs_redis_cluster_resends_total{reason=\"ask\"} " + std::to_string(cluster_resends.ask) + "\n";
  o += "pgcqrs_redis_cluster_resends_total{reason=\"tryagain\"} " + std::to_string(cluster_resends.tryagain) + "\n";
  line(o, "pgcqrs_rebuilds_total", "counter", "Read-model rebuilds from a snapshot.");
  o += "pgcqrs_rebuilds_total " + std::to_string(rebuilds) + "\n";
  line(o, "pgcqrs_heartbeats_total", "counter", "Heartbeats written into the WAL while idle.");
  o += "pgcqrs_heartbeats_total " + std::to_string(heartbeats) + "\n";
  line(o, "pgcqrs_checkpoint_lsn", "gauge", "Commit LSN of the last transaction in Redis (pgcqrs:checkpoint).");
  o += "pgcqrs_checkpoint_lsn " + std::to_string(checkpoint_lsn) + "\n";
  line(o, "pgcqrs_confirmed_lsn", "gauge", "Position last confirmed to the replication slot.");
  o += "pgcqrs_confirmed_lsn " + std::to_string(confirmed_lsn) + "\n";
  line(o, "pgcqrs_lag_bytes", "gauge", "WAL bytes between the server's end of WAL and the checkpoint.");
  o += "pgcqrs_lag_bytes " + std::to_string(received_lsn > checkpoint_lsn ? received_lsn - checkpoint_lsn : 0) + "\n";
  if (slot_wal_retained_bytes) {
    line(o, "pgcqrs_slot_wal_retained_bytes", "gauge", "WAL PostgreSQL keeps for the slot (current WAL position - restart_lsn).");
    o += "pgcqrs_slot_wal_retained_bytes " + std::to_string(*slot_wal_retained_bytes) + "\n";
  }
  line(o, "pgcqrs_checkpoint_dirty", "gauge", "1 while pgcqrs:checkpoint is marked dirty and a rebuild is due, else 0.");
  o += std::string("pgcqrs_checkpoint_dirty ") + (checkpoint_dirty ? "1" : "0") + "\n";
  line(o, "pgcqrs_lag_seconds", "gauge", "Age of the last applied commit while behind, 0 when caught up.");
  o += "pgcqrs_lag_seconds " + num(lag_seconds) + "\n";
  line(o, "pgcqrs_redis_round_trip_seconds", "summary", "Round trip of projection calls to Redis.");
  o += "pgcqrs_redis_round_trip_seconds_sum " + num(redis_rtt_seconds_sum) + "\n";
  o += "pgcqrs_redis_round_trip_seconds_count " + std::to_string(redis_rtt_count) + "\n";
  line(o, "pgcqrs_redis_round_trip_last_seconds", "gauge", "Round trip of the last projection call.");
  o += "pgcqrs_redis_round_trip_last_seconds " + num(redis_rtt_seconds_last) + "\n";
  line(o, "pgcqrs_inflight_calls", "gauge", "Projection calls awaiting Redis.");
  o += "pgcqrs_inflight_calls " + std::to_string(inflight) + "\n";
  line(o, "pgcqrs_up", "gauge", "1 while following the slot with Redis connected.");
  o += std::string("pgcqrs_up ") + (streaming ? "1" : "0") + "\n";
  if (generation) {
    line(o, "pgcqrs_read_model_generation", "gauge", "The generation of read models readers read.");
    o += "pgcqrs_read_model_generation " + std::to_string(*generation) + "\n";
  }
  if (copy) {
    line(o, "pgcqrs_copy_running", "gauge", "1 while the write model is copied into Redis (a first start or a rebuild).");
    o += std::string("pgcqrs_copy_running ") + (copy->running ? "1" : "0") + "\n";
    line(o, "pgcqrs_copy_rows", "gauge", "Rows the running or last copy has copied, by table.");
    for (size_t i = 0; i < copy->kTables.size(); ++i)
      o += std::string("pgcqrs_copy_rows{table=\"") + copy->kTables[i] + "\"} " + std::to_string(copy->copied[i]) + "\n";
    line(o, "pgcqrs_copy_rows_expected", "gauge", "Rows of each table under the copy's snapshot.");
    for (size_t i = 0; i < copy->kTables.size(); ++i)
      o += std::string("pgcqrs_copy_rows_expected{table=\"") + copy->kTables[i] + "\"} " +
           std::to_string(copy->expected[i]) + "\n";
    line(o, "pgcqrs_copy_rows_per_second", "gauge", "Rows copied per second so far.");
    o += "pgcqrs_copy_rows_per_second " + num(copy->rows_per_second()) + "\n";
    line(o, "pgcqrs_copy_seconds_left", "gauge", "Time the copy needs yet at its rate so far (0 when done).");
    o += "pgcqrs_copy_seconds_left " + num(copy->running ? copy->seconds_left() : 0) + "\n";
  }
  if (start_time_seconds > 0) {
    line(o, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", start_time_seconds);  // %g would round to 10 s
    o += std::string("process_start_time_seconds ") + buf + "\n";
  }
  return o;
}

std::string Metrics::health() const {
  // The first line is the state, what a health check matches; the second, what readers read.
  const std::string served = generation ? "readers read generation " + std::to_string(*generation)
                                        : "readers have no read models yet";
  if (streaming) return "ok\nstreaming; " + served + "\n";
  if (copy_generation && copy && copy->running)
    return "rebuilding\ncopying generation " + std::to_string(*copy_generation) + ", " + copy->describe() + "; " +
           served + "\n";
  if (copy_generation) return "rebuilding\nstarting generation " + std::to_string(*copy_generation) + "; " + served + "\n";
  return "not streaming\n" + served + "\n";
}

}  // namespace pgcqrs::sidecar::http
