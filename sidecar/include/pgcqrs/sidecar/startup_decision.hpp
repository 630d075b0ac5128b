// The start-up verdict: given what Redis's checkpoint and PostgreSQL's slot say, resume the
// slot, copy the write model into a new slot, rebuild the read models, or refuse to start.
// A pure function of what was read, so that every case is unit-tested without servers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pgcqrs/sidecar/failure.hpp"

namespace pgcqrs::sidecar {

// pgcqrs:checkpoint's fields as HMGET returned them (nullopt: the field is absent).
struct CheckpointFound {
  std::optional<std::string> lsn;
  std::optional<std::string> dirty;   // set by a batch that stopped midway (docs/read-models.md)
  std::optional<std::string> layout;  // absent in the layouts before 3
  std::optional<std::string> generation;  // the one readers read; absent: 0
  std::optional<std::string> rebuilding;  // a rebuild was copying this generation
  std::optional<std::string> rebuild;     // `pgcqrs-sidecar rebuild` asked for one
};

// The slot of that name in pg_replication_slots.
struct SlotFound {
  bool exists = false;                      // in this database
  std::optional<std::string> plugin;        // nullopt: a physical slot
  bool active = false;                      // another consumer streams from it
  std::optional<std::string> confirmed;     // confirmed_flush_lsn
  std::optional<std::string> wal_status;
  // When it does not exist in this database: whether a slot of that name exists elsewhere
  // (slot names are unique per server), and its database (nullopt: a physical slot).
  bool exists_elsewhere = false;
  std::optional<std::string> other_database;
};

struct StartupVerdict {
  enum class Action {
    resume,   // stream the slot from its confirmed position
    copy,     // no slot: create it and copy the write model under its snapshot
    rebuild,  // delete the read models, drop the slot, then as copy
    refuse,   // start-up fails: failure says why and whether to retry
  };
  Action action = Action::refuse;
  std::optional<Failure> failure;  // refuse
  std::string reason;              // copy, rebuild: "rebuilding the read models (REASON)"
  std::string explanation;         // rebuild: the error line that says what was found and why
  bool asked = false;              // the rebuild was asked for: its explanation is no error
  uint64_t resume_lsn = 0;         // resume: the slot's confirmed position
  uint64_t checkpoint_lsn = 0;     // the checkpoint's lsn (0: none)
  // The generation readers read (resume: the one to stream into). With a checkpoint, a copy
  // or rebuild writes the next one beside it and readers keep it until the switch; without,
  // there is nothing to keep and the copy writes generation 0.
  uint64_t generation = 0;
  bool serving = false;            // a checkpoint vouches for the generation readers read
  uint64_t copy_generation = 0;    // copy, rebuild: the generation written
};

StartupVerdict decide_startup(const CheckpointFound& checkpoint, const SlotFound& slot, const std::string& slot_name,
                              const std::string& current_layout);

}  // namespace pgcqrs::sidecar
