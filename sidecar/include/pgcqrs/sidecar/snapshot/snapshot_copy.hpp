// The initial snapshot: copies the write model, as seen by the snapshot exported with the
// slot, into Redis through the same projector the stream uses (Snapshot mode), then
// sets pgcqrs:checkpoint to the slot's consistent point. Until then Redis has no checkpoint,
// so a crash during the copy is detected at the next start and the copy starts over.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <pqxx/pqxx>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

namespace pgcqrs::sidecar::snapshot {

struct CopyStats {
  uint64_t users = 0, products = 0, orders = 0, items = 0, calls = 0;
  uint64_t read_rounds = 0;  // calls that read Redis first, waiting for the writes before them
};

// Deletes every read-model and auxiliary key under the prefix (docs/read-models.md),
// checkpoint first; nothing else in the database.
uint64_t wipe_read_models(redis::SyncClient& redis, const Keys& keys);

using ProgressFn = std::function<void(const CopyProgress&)>;

// conn must be a fresh ordinary connection; snapshot_name comes from CREATE_REPLICATION_SLOT.
// cancel, when set, stops the copy at its next batch (it throws; no checkpoint is written).
// progress, when set, is called on this thread once the rows to copy are counted, then about
// once a second, and last with running false once the copy is complete.
CopyStats copy_snapshot(pqxx::connection_base& conn, const std::string& snapshot_name, redis::SyncClient& redis,
                        const Keys& keys, const std::string& slot, uint64_t consistent_point,
                        int chunk_events, const std::atomic<bool>* cancel = nullptr,
                        const ProgressFn& progress = nullptr);

// The schema holding the write model (where CREATE EXTENSION pgcqrs put it); throws a
// permanent Failure if there is none.
std::string extension_schema(pqxx::connection_base& conn);

}  // namespace pgcqrs::sidecar::snapshot
