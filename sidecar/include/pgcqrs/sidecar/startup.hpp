// A session's start-up, blocking, on the session's worker thread so that the event loop keeps
// serving /metrics and signals: Redis's settings, the checkpoint and the slot into the
// start-up verdict (startup_decision.hpp), a rebuild (the slot dropped and created, the write
// model copied under its snapshot), START_REPLICATION, and the heartbeat's connection. What it
// opens it hands over in the result; the loop never touches it before.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/slot_map.hpp"
#include "pgcqrs/sidecar/replication/pg_handles.hpp"
#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

namespace pgcqrs::sidecar {

// On a Redis Cluster: what the sink starts from.
struct ClusterStart {
  redis::SlotMap map;       // the slot map the start-up read
  uint64_t last_batch = 0;  // the checkpoint's batch number
};

struct StartupResult {
  std::optional<Failure> failure;        // set: the start-up failed, classified
  bool rebuilt = false;                  // a rebuild began (counted even when it failed)
  replication::PgConnPtr replication;    // streaming from start_lsn
  replication::PgConnPtr heartbeat;      // blocking; its statement_timeout set
  uint64_t start_lsn = 0;
  uint64_t checkpoint = 0;               // the Redis checkpoint found, or the copy's
  uint64_t generation = 0;               // of the read models streamed into (keys.hpp)
  int64_t hold_ms = 0;                   // how long Redis's persistence needs before a confirmation
  std::optional<ClusterStart> cluster;   // set when --redis names a Redis Cluster
};

// What the start-up tells as it goes, on its own thread.
struct StartupHooks {
  // As soon as the checkpoint is found marked dirty, before the rebuild that follows.
  std::function<void()> dirty_found;
  // While the write model is copied: once the rows are counted, about once a second, and
  // once done (running false).
  std::function<void(const snapshot::CopyProgress&)> copy_progress;
  // Once the verdict is known, and again after a copy's switch: the generation readers read
  // (nullopt: none yet) and the one a copy is writing (nullopt: none).
  std::function<void(std::optional<uint64_t> served, std::optional<uint64_t> copying)> generations;
};

// Never throws. `cancel` stops a copy at its next batch. acknowledged: on a Redis Cluster, the
// batch each slot acknowledged to earlier sessions of this process; a slot whose fence is
// behind it lost acknowledged writes (a failover), and the read models are rebuilt.
StartupResult run_startup(const Config& config, const redis::Endpoint& endpoint, const std::atomic<bool>& cancel,
                          const cluster::FenceLedger& acknowledged, const StartupHooks& hooks);

}  // namespace pgcqrs::sidecar
