// Counters and gauges of the running sidecar, rendered as Prometheus text exposition.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

namespace pgcqrs::sidecar::http {

// What a Redis Cluster's slots moving under the sidecar cost: commands and slot transactions
// sent again after MOVED, ASK or TRYAGAIN (sink/cluster_sink.hpp). Zero on one Redis.
struct ClusterResends {
  uint64_t moved = 0, ask = 0, tryagain = 0;
};

struct Metrics {
  std::map<std::string, uint64_t> events_applied;  // by event type (domain events)
  // Application, InvalidMessage and unknown types, through count_ignored(): their names come
  // from any role that can write a message, so the series are bounded.
  std::map<std::string, uint64_t> events_ignored;
  uint64_t transactions_applied = 0;
  uint64_t transactions_skipped = 0;  // replays already in Redis
  uint64_t chunks_sent = 0;
  uint64_t reconnects_pg = 0;
  uint64_t reconnects_redis = 0;
  uint64_t rebuilds = 0;
  uint64_t heartbeats = 0;
  ClusterResends cluster_resends;
  uint64_t checkpoint_lsn = 0;   // last commit LSN Redis acknowledged
  uint64_t confirmed_lsn = 0;    // last position confirmed to the slot
  uint64_t received_lsn = 0;     // server WAL end last seen
  // pg_current_wal_lsn() minus the slot's restart_lsn, as last read (not rendered before).
  std::optional<uint64_t> slot_wal_retained_bytes;
  // From when the sidecar finds pgcqrs:checkpoint marked dirty (or marks it) until a rebuild
  // has replaced the read models.
  bool checkpoint_dirty = false;
  double lag_seconds = 0;        // now - commit time of the last applied transaction when behind
  double redis_rtt_seconds_sum = 0;
  uint64_t redis_rtt_count = 0;
  double redis_rtt_seconds_last = 0;
  uint64_t inflight = 0;
  bool streaming = false;        // connected to both and following the slot
  // Unix time the process started, rendered as process_start_time_seconds (0: not rendered):
  // with it, an alert sees a rebuild done before the first scrape of a new process.
  double start_time_seconds = 0;
  // The copy of the write model running, or the last one (not rendered before one starts).
  std::optional<snapshot::CopyProgress> copy;
  // The generation of read models readers read (nullopt: none, or not known yet), and the one
  // a copy is writing (nullopt: none): /healthz says which.
  std::optional<uint64_t> generation;
  std::optional<uint64_t> copy_generation;
  // What /healthz answers: whether the sidecar streams, and what readers are served.
  bool healthy() const { return streaming; }
  std::string health() const;

  // Past kMaxIgnoredTypes distinct types, further ones are counted under "(other)".
  static constexpr size_t kMaxIgnoredTypes = 64;
  void count_ignored(const std::string& type);

  std::string render() const;
};

}  // namespace pgcqrs::sidecar::http
