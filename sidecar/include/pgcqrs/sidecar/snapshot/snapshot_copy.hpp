// The copy: the write model, as seen by the snapshot exported with the slot, into one
// generation of read models through the same projector the stream uses (Snapshot mode); then
// one MULTI/EXEC sets pgcqrs:checkpoint to the slot's consistent point and to that
// generation, which readers read from then on (the switch, docs/consistency.md). Until then
// the checkpoint says nothing of it, so a crash during the copy is detected at the next start
// and the copy starts over.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/deployment.hpp"
#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

namespace pgcqrs::sidecar::snapshot {

struct CopyStats {
  uint64_t users = 0, products = 0, orders = 0, items = 0, calls = 0;
  uint64_t models = 0, model_rows = 0;  // declarative read models, and the rows of their tables
  uint64_t read_rounds = 0;  // calls that read Redis first, waiting for the writes before them
};

// Deletes the read models of keys's generation (docs/read-models.md); nothing else.
uint64_t delete_generation(redis::Deployment& redis, const Keys& keys);
// Deletes the checkpoint and the read models of every generation under keys's prefix: for a
// Redis whose checkpoint says nothing of what it holds.
uint64_t delete_every_generation(redis::Deployment& redis, const Keys& keys);

using ProgressFn = std::function<void(const CopyProgress&)>;

// conn must be a fresh ordinary connection; snapshot_name comes from CREATE_REPLICATION_SLOT.
// keys names the generation written, which must hold nothing; retiring, the generation readers
// read until the switch (the checkpoint's `retired` then names it).
// cancel, when set, stops the copy at its next batch (it throws; no checkpoint is written).
// progress, when set, is called on this thread once the rows to copy are counted, then about
// once a second, and last with running false once the copy is complete.
CopyStats copy_snapshot(pqxx::connection_base& conn, const std::string& snapshot_name, redis::Deployment& redis,
                        const Keys& keys, const std::string& slot, uint64_t consistent_point,
                        std::optional<uint64_t> retiring, int chunk_events, const std::atomic<bool>* cancel = nullptr,
                        const ProgressFn& progress = nullptr);

// A timestamptz column read as the event contract prints it, whatever the session's time
// zone or the year (never to_char, whose years have no sign): instant_sql(column) selects
// it as microseconds since 2000-01-01 (or "infinity", "-infinity"), instant_text() formats
// what that selected with the plugin's own formatter.
std::string instant_sql(const std::string& column);
std::string instant_text(const std::string& value);

// Columns of a table or view read as the stream sends them (docs/events.md, "Row events"):
// timestamptz through instant_sql, every other type as its output function prints it (a cast
// to text need not: true::text is 'true', its output 't'). The select list, then each
// value's text from a row it read (nullopt: NULL).
class StreamColumns {
 public:
  StreamColumns(pqxx::transaction_base& tx, const std::string& relation, const std::vector<std::string>& columns);
  const std::string& select() const { return select_; }
  std::optional<std::string> text(const pqxx::row& row, size_t i) const;

 private:
  std::string select_;
  std::vector<bool> instants_;
};

// The schema holding the write model (where CREATE EXTENSION pgcqrs put it); throws a
// permanent Failure if there is none.
std::string extension_schema(pqxx::connection_base& conn);

}  // namespace pgcqrs::sidecar::snapshot
