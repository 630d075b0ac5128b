// The start-up verdict (startup_decision.hpp): the checks in the order their failures matter,
// a refusal first, then the first reason to rebuild, else resume.
#include "pgcqrs/sidecar/startup_decision.hpp"

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"

namespace pgcqrs::sidecar {

namespace {

StartupVerdict refuse(Server server, ErrorKind kind, const std::string& message) {
  StartupVerdict v;
  v.action = StartupVerdict::Action::refuse;
  v.failure = Failure(server, kind, message);
  return v;
}

}  // namespace

StartupVerdict decide_startup(const CheckpointFound& checkpoint, const SlotFound& slot, const std::string& slot_name,
                              const std::string& current_layout) {
  std::optional<uint64_t> cp;
  if (checkpoint.lsn) {
    cp = pgcqrs::parse_lsn(*checkpoint.lsn);
    if (!cp)
      return refuse(Server::redis, ErrorKind::permanent,
                    "pgcqrs:checkpoint has a malformed lsn: " + *checkpoint.lsn +
                        ": rebuild the read models (docs/operations.md, Verify and rebuild)");
  }
  uint64_t generation = 0;
  if (checkpoint.generation) {
    const std::string& g = *checkpoint.generation;
    auto parsed = checkpoint::parse_generation(g);
    if (!parsed)
      return refuse(Server::redis, ErrorKind::permanent,
                    "pgcqrs:checkpoint has a malformed generation: " + g +
                        ": delete pgcqrs:checkpoint to copy the read models again (docs/operations.md, Verify and "
                        "rebuild)");
    generation = *parsed;
  }
  // Without a checkpoint no generation is served: the copy writes generation 0, the names
  // without `gN:`, into a Redis cleared of every generation.
  const bool serving = cp.has_value();
  auto copying = [&](StartupVerdict v) {
    v.generation = serving ? generation : 0;
    v.serving = serving;
    v.copy_generation = serving ? generation + 1 : 0;
    return v;
  };
  // A start that finds `rebuilding` copies that generation again, before or after the slot was
  // made anew.
  auto interrupted = [&](StartupVerdict& v) {
    v.explanation = "a rebuild into generation " + *checkpoint.rebuilding +
                    " stopped before it finished: starting it again; readers keep generation " +
                    std::to_string(generation);
    v.reason = "a rebuild was interrupted";
  };

  if (!slot.exists) {
    // Slot names are unique per server, not per database.
    if (slot.exists_elsewhere && !slot.other_database)
      return refuse(Server::postgresql, ErrorKind::permanent,
                    "replication slot " + slot_name + " is a physical slot, not pgcqrs: choose another --slot or drop it");
    if (slot.exists_elsewhere)
      return refuse(Server::postgresql, ErrorKind::permanent,
                    "replication slot " + slot_name + " belongs to database " + *slot.other_database +
                        ": slot names are shared by the whole server, so give each database's sidecar its own --slot");
    StartupVerdict v;
    v.action = StartupVerdict::Action::copy;
    v.reason = "slot " + slot_name + " does not exist";
    if (checkpoint.rebuilding && serving) interrupted(v);  // stopped between dropping the slot and making it
    v.checkpoint_lsn = cp.value_or(0);
    return copying(v);
  }

  if (!slot.plugin || *slot.plugin != "pgcqrs")
    return refuse(Server::postgresql, ErrorKind::permanent,
                  "replication slot " + slot_name + " uses plugin " + slot.plugin.value_or("(physical)") +
                      ", not pgcqrs: choose another --slot or drop it");
  if (slot.active)
    return refuse(Server::postgresql, ErrorKind::transient,
                  "replication slot " + slot_name +
                      " is in use by another consumer (another sidecar?); waiting for it to be released");
  std::optional<uint64_t> confirmed;
  if (slot.confirmed) {
    confirmed = pgcqrs::parse_lsn(*slot.confirmed);
    if (!confirmed)
      return refuse(Server::postgresql, ErrorKind::transient,
                    "replication slot " + slot_name + " has a malformed confirmed_flush_lsn: " + *slot.confirmed);
  }

  StartupVerdict v;
  v.checkpoint_lsn = cp.value_or(0);
  v.action = StartupVerdict::Action::rebuild;
  const std::string layout = checkpoint.layout.value_or("2");  // 1 and 2 differ in no type
  if (slot.wal_status && *slot.wal_status == "lost") {
    v.explanation = "replication slot " + slot_name +
                    " is invalidated (wal_status lost, max_slot_wal_keep_size?): its changes are gone, rebuilding "
                    "the read models from a new snapshot";
    v.reason = "slot lost";
  } else if (checkpoint.rebuilding && serving) {
    interrupted(v);
  } else if (checkpoint.rebuild && serving) {
    v.explanation = "a rebuild was asked for (" + checkpoint::rebuild_cause(*checkpoint.rebuild) +
                    "): copying the write model into generation " + std::to_string(generation + 1) +
                    " while readers keep generation " + std::to_string(generation);
    v.reason = "asked for";
    v.asked = true;
  } else if (checkpoint.dirty) {
    v.explanation = "a projection call stopped midway (at " + *checkpoint.dirty +
                    ") and Redis keeps what it had written: the read models may hold part of a transaction; "
                    "rebuilding every read model from a new snapshot";
    v.reason = "a projection call stopped midway";
  } else if (cp && layout != current_layout) {
    v.explanation = "the read models in Redis have key layout " + layout + " and this sidecar writes layout " +
                    current_layout + " (docs/read-models.md says what each changed): rebuilding every read model from a new snapshot";
    v.reason = "read models of layout " + layout;
  } else if (!cp) {
    v.explanation = "Redis has no pgcqrs:checkpoint but slot " + slot_name +
                    " exists: Redis lost its data (or a snapshot copy was interrupted); rebuilding every read model "
                    "from a new snapshot";
    v.reason = "Redis has no checkpoint";
  } else if (confirmed && *cp < *confirmed) {
    v.explanation = "Redis is behind slot " + slot_name + ": its checkpoint " + pgcqrs::format_lsn(*cp) +
                    " is older than the confirmed position " + pgcqrs::format_lsn(*confirmed) +
                    ", so it lost acknowledged writes; rebuilding every read model from a new snapshot";
    v.reason = "Redis behind the slot";
  } else if (!confirmed) {
    // A slot still being created has no confirmed position yet: there is nothing to resume from.
    return refuse(Server::postgresql, ErrorKind::transient,
                  "replication slot " + slot_name + " has no confirmed position yet (being created?); waiting");
  } else {
    v.action = StartupVerdict::Action::resume;
    v.resume_lsn = *confirmed;
    v.generation = generation;
    v.serving = true;
    return v;
  }
  return copying(v);
}

}  // namespace pgcqrs::sidecar
