// The start-up verdict over every case of checkpoint and slot, without servers.
#include "pgcqrs/sidecar/startup_decision.hpp"

#include <gtest/gtest.h>

#include "pgcqrs/sidecar/checkpoint.hpp"

namespace pgcqrs::sidecar {
namespace {

using Action = StartupVerdict::Action;

CheckpointFound current(const std::string& lsn) { return {lsn, std::nullopt, std::string("4")}; }

SlotFound slot_at(const std::string& confirmed) {
  SlotFound s;
  s.exists = true;
  s.plugin = "pgcqrs";
  s.confirmed = confirmed;
  s.wal_status = "reserved";
  return s;
}

StartupVerdict decide(const CheckpointFound& c, const SlotFound& s) { return decide_startup(c, s, "pgcqrs", "4"); }

void expect_refused(const StartupVerdict& v, Server server, ErrorKind kind, const std::string& message) {
  ASSERT_EQ(v.action, Action::refuse);
  ASSERT_TRUE(v.failure.has_value());
  EXPECT_EQ(v.failure->server, server);
  EXPECT_EQ(v.failure->kind, kind);
  EXPECT_STREQ(v.failure->what(), message.c_str());
}

void expect_rebuild(const StartupVerdict& v, const std::string& reason, const std::string& explanation) {
  EXPECT_EQ(v.action, Action::rebuild);
  EXPECT_FALSE(v.failure.has_value());
  EXPECT_EQ(v.reason, reason);
  EXPECT_EQ(v.explanation, explanation);
}

TEST(StartupDecision, ResumesFromTheSlotsConfirmedPosition) {
  auto v = decide(current("0/1000"), slot_at("0/1000"));
  EXPECT_EQ(v.action, Action::resume);
  EXPECT_EQ(v.resume_lsn, 0x1000u);
  EXPECT_EQ(v.checkpoint_lsn, 0x1000u);
  EXPECT_TRUE(v.reason.empty());
  EXPECT_TRUE(v.explanation.empty());
}

TEST(StartupDecision, ACheckpointAheadOfTheSlotResumesFromTheSlot) {
  // Redis applied past what was confirmed: the replay is skipped by the checkpoint.
  auto v = decide(current("1/0"), slot_at("0/2000"));
  EXPECT_EQ(v.action, Action::resume);
  EXPECT_EQ(v.resume_lsn, 0x2000u);
  EXPECT_EQ(v.checkpoint_lsn, 0x100000000u);
}

TEST(StartupDecision, NoSlotCopiesWhateverRedisHolds) {
  SlotFound none;
  auto v = decide({}, none);
  EXPECT_EQ(v.action, Action::copy);
  EXPECT_EQ(v.reason, "slot pgcqrs does not exist");
  EXPECT_TRUE(v.explanation.empty());
  EXPECT_EQ(v.checkpoint_lsn, 0u);
  // A checkpoint without its slot (or dirty, or of another layout) changes nothing.
  auto w = decide({std::string("0/5"), std::string("0/5"), std::nullopt}, none);
  EXPECT_EQ(w.action, Action::copy);
  EXPECT_EQ(w.checkpoint_lsn, 5u);
}

TEST(StartupDecision, AMalformedCheckpointIsRefusedFirst) {
  expect_refused(decide({std::string("nonsense"), std::nullopt, std::nullopt}, SlotFound{}), Server::redis,
                 ErrorKind::permanent,
                 "pgcqrs:checkpoint has a malformed lsn: nonsense: rebuild the read models (docs/operations.md, "
                 "Verify and rebuild)");
}

TEST(StartupDecision, ASlotNameTakenElsewhereIsRefused) {
  SlotFound physical;
  physical.exists_elsewhere = true;
  expect_refused(decide({}, physical), Server::postgresql, ErrorKind::permanent,
                 "replication slot pgcqrs is a physical slot, not pgcqrs: choose another --slot or drop it");
  SlotFound other_db;
  other_db.exists_elsewhere = true;
  other_db.other_database = "shop";
  expect_refused(decide({}, other_db), Server::postgresql, ErrorKind::permanent,
                 "replication slot pgcqrs belongs to database shop: slot names are shared by the whole server, so "
                 "give each database's sidecar its own --slot");
}

TEST(StartupDecision, ASlotOfAnotherPluginIsRefused) {
  auto s = slot_at("0/1");
  s.plugin = "test_decoding";
  expect_refused(decide(current("0/1"), s), Server::postgresql, ErrorKind::permanent,
                 "replication slot pgcqrs uses plugin test_decoding, not pgcqrs: choose another --slot or drop it");
  s.plugin.reset();
  expect_refused(decide(current("0/1"), s), Server::postgresql, ErrorKind::permanent,
                 "replication slot pgcqrs uses plugin (physical), not pgcqrs: choose another --slot or drop it");
}

TEST(StartupDecision, ASlotInUseIsWaitedFor) {
  auto s = slot_at("0/1");
  s.active = true;
  s.wal_status = "lost";  // still not ours to rebuild
  expect_refused(decide(current("0/1"), s), Server::postgresql, ErrorKind::transient,
                 "replication slot pgcqrs is in use by another consumer (another sidecar?); waiting for it to be "
                 "released");
}

TEST(StartupDecision, ASlotWithoutAConfirmedPositionIsWaitedFor) {
  auto s = slot_at("0/1");
  s.confirmed.reset();
  expect_refused(decide(current("0/1"), s), Server::postgresql, ErrorKind::transient,
                 "replication slot pgcqrs has no confirmed position yet (being created?); waiting");
  s.confirmed = "x";
  expect_refused(decide(current("0/1"), s), Server::postgresql, ErrorKind::transient,
                 "replication slot pgcqrs has a malformed confirmed_flush_lsn: x");
}

TEST(StartupDecision, ALostSlotRebuildsBeforeAnyOtherReason) {
  auto s = slot_at("0/2");
  s.wal_status = "lost";
  const std::string why =
      "replication slot pgcqrs is invalidated (wal_status lost, max_slot_wal_keep_size?): its changes are gone, "
      "rebuilding the read models from a new snapshot";
  expect_rebuild(decide(current("0/2"), s), "slot lost", why);
  expect_rebuild(decide({std::string("0/1"), std::string("0/1"), std::nullopt}, s), "slot lost", why);
}

TEST(StartupDecision, ADirtyMarkRebuilds) {
  const std::string why =
      "a projection call stopped midway (at 0/7) and Redis keeps what it had written: the read models may hold "
      "part of a transaction; rebuilding every read model from a new snapshot";
  expect_rebuild(decide({std::string("0/9"), std::string("0/7"), std::string("4")}, slot_at("0/9")),
                 "a projection call stopped midway", why);
  // Before the layout, the missing checkpoint and the position are looked at.
  expect_rebuild(decide({std::string("0/1"), std::string("0/7"), std::string("2")}, slot_at("0/9")),
                 "a projection call stopped midway", why);
  expect_rebuild(decide({std::nullopt, std::string("0/7"), std::nullopt}, slot_at("0/9")),
                 "a projection call stopped midway", why);
}

TEST(StartupDecision, AnotherLayoutRebuilds) {
  expect_rebuild(decide({std::string("0/9"), std::nullopt, std::nullopt}, slot_at("0/9")), "read models of layout 2",
                 "the read models in Redis have key layout 2 and this sidecar writes layout 4 (docs/read-models.md "
                 "says what each changed): rebuilding every read model from a new snapshot");
  auto v = decide({std::string("0/9"), std::nullopt, std::string("3")}, slot_at("0/1"));
  expect_rebuild(v, "read models of layout 3",
                 "the read models in Redis have key layout 3 and this sidecar writes layout 4 (docs/read-models.md "
                 "says what each changed): rebuilding every read model from a new snapshot");
  EXPECT_EQ(v.checkpoint_lsn, 9u);
}

TEST(StartupDecision, NoCheckpointBesideASlotRebuilds) {
  expect_rebuild(decide({}, slot_at("0/9")), "Redis has no checkpoint",
                 "Redis has no pgcqrs:checkpoint but slot pgcqrs exists: Redis lost its data (or a snapshot copy was "
                 "interrupted); rebuilding every read model from a new snapshot");
}

TEST(StartupDecision, ACheckpointBehindTheSlotRebuilds) {
  expect_rebuild(decide(current("0/FFF"), slot_at("0/1000")), "Redis behind the slot",
                 "Redis is behind slot pgcqrs: its checkpoint 0/FFF is older than the confirmed position 0/1000, so it "
                 "lost acknowledged writes; rebuilding every read model from a new snapshot");
}

CheckpointFound serving(const std::string& generation) {
  CheckpointFound c = current("0/1000");
  c.generation = generation;
  return c;
}

TEST(StartupDecision, AResumeStreamsIntoTheGenerationReadersRead) {
  auto v = decide(serving("4"), slot_at("0/1000"));
  EXPECT_EQ(v.action, Action::resume);
  EXPECT_EQ(v.generation, 4u);
  EXPECT_TRUE(v.serving);
  EXPECT_EQ(decide(current("0/1000"), slot_at("0/1000")).generation, 0u);  // names from before generations
}

// One parser for the generation fields: the start-up, the retirement of an old generation and
// the readers agree on what is one.
TEST(StartupDecision, AGenerationIsOneToEighteenDecimalDigits) {
  EXPECT_EQ(checkpoint::parse_generation("0"), 0u);
  EXPECT_EQ(checkpoint::parse_generation("17"), 17u);
  EXPECT_EQ(checkpoint::parse_generation("999999999999999999"), 999999999999999999u);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "0x1", "1.0", "1000000000000000000"})
    EXPECT_EQ(checkpoint::parse_generation(bad), std::nullopt) << bad;
}

TEST(StartupDecision, ARebuildBesideACheckpointWritesTheNextGenerationWhileReadersKeepTheirs) {
  auto v = decide(serving("4"), slot_at("0/2000"));  // Redis behind the slot
  EXPECT_EQ(v.action, Action::rebuild);
  EXPECT_TRUE(v.serving);
  EXPECT_EQ(v.generation, 4u);
  EXPECT_EQ(v.copy_generation, 5u);
  SlotFound none;
  auto c = decide(serving("4"), none);
  EXPECT_EQ(c.action, Action::copy);
  EXPECT_TRUE(c.serving);
  EXPECT_EQ(c.copy_generation, 5u);
}

TEST(StartupDecision, WithoutACheckpointNothingIsServedAndTheCopyWritesGenerationZero) {
  CheckpointFound lost;
  lost.generation = "4";  // a checkpoint without lsn vouches for nothing
  auto v = decide(lost, slot_at("0/9"));
  EXPECT_EQ(v.action, Action::rebuild);
  EXPECT_FALSE(v.serving);
  EXPECT_EQ(v.copy_generation, 0u);
  SlotFound none;
  EXPECT_EQ(decide({}, none).copy_generation, 0u);
}

CheckpointFound c_with_rebuilding() {
  CheckpointFound c = serving("4");
  c.rebuilding = "5";
  return c;
}

TEST(StartupDecision, AnInterruptedRebuildStartsAgain) {
  CheckpointFound c = c_with_rebuilding();
  auto v = decide(c, slot_at("0/2000"));
  expect_rebuild(v, "a rebuild was interrupted",
                 "a rebuild into generation 5 stopped before it finished: starting it again; readers keep generation 4");
  EXPECT_EQ(v.copy_generation, 5u);
  // Stopped after the slot was dropped, before it was made again: the same rebuild, as a copy.
  SlotFound none;
  auto copy = decide(c_with_rebuilding(), none);
  EXPECT_EQ(copy.action, Action::copy);
  EXPECT_EQ(copy.reason, "a rebuild was interrupted");
  EXPECT_EQ(copy.explanation,
            "a rebuild into generation 5 stopped before it finished: starting it again; readers keep generation 4");
  EXPECT_EQ(copy.copy_generation, 5u);
}

TEST(StartupDecision, ARebuildAskedForIsDoneEvenWhenEverythingElseWouldResume) {
  CheckpointFound c = serving("4");
  c.rebuild = "2026-12-06 12:00:00+00";
  auto v = decide(c, slot_at("0/1000"));
  expect_rebuild(v, "asked for",
                 "a rebuild was asked for (pgcqrs-sidecar rebuild, at 2026-12-06 12:00:00+00): copying the write model "
                 "into generation 5 while readers keep generation 4");
  EXPECT_TRUE(v.asked);
  EXPECT_EQ(v.copy_generation, 5u);
}

TEST(StartupDecision, ARebuildAskedForByAModelsRegistrationSaysSo) {
  CheckpointFound c = serving("4");
  c.rebuild = "2026-12-07T19:00:00.000000Z, when read model ticket_cards";
  auto v = decide(c, slot_at("0/1000"));
  expect_rebuild(v, "asked for",
                 "a rebuild was asked for (read model ticket_cards registered at 2026-12-07T19:00:00.000000Z): copying "
                 "the write model into generation 5 while readers keep generation 4");
}

TEST(StartupDecision, ARebuildAskedForByAModelsReplacementSaysSo) {
  CheckpointFound c = serving("4");
  c.rebuild = "2026-12-07T19:00:00.000000Z, when read model ticket_cards was replaced";
  auto v = decide(c, slot_at("0/1000"));
  expect_rebuild(v, "asked for",
                 "a rebuild was asked for (read model ticket_cards replaced at 2026-12-07T19:00:00.000000Z): copying "
                 "the write model into generation 5 while readers keep generation 4");
}

TEST(StartupDecision, AMalformedGenerationIsRefusedByName) {
  for (const char* bad : {"", "x", "-1", "4a", " 4", "1234567890123456789"})
    expect_refused(decide(serving(bad), slot_at("0/1000")), Server::redis, ErrorKind::permanent,
                   std::string("pgcqrs:checkpoint has a malformed generation: ") + bad +
                       ": delete pgcqrs:checkpoint to copy the read models again (docs/operations.md, Verify and "
                       "rebuild)");
}

}  // namespace
}  // namespace pgcqrs::sidecar
