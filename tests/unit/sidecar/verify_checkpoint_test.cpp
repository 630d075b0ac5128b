// The oracle's checks of pgcqrs:checkpoint and of infinite timestamps (verify/model.hpp).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pgcqrs/sidecar/verify/model.hpp"

using namespace pgcqrs::sidecar::verify;

namespace {

const std::string kKey = "pgcqrs:checkpoint";

Fields settled() {
  return {{"lsn", "0/1A2B3C4"}, {"slot", "pgcqrs"}, {"layout", "4"}, {"updated_at", "2026-01-01T00:00:00.000000Z"},
          {"commit_time", ""}};
}

}  // namespace

TEST(VerifyCheckpoint, ASettledCheckpointHasNoDifferences) {
  EXPECT_TRUE(check_checkpoint(settled(), {"pgcqrs"}, kKey).empty());
  EXPECT_EQ(checkpoint_unsettled(settled()), "");
}

TEST(VerifyCheckpoint, DirtyAndPartialFieldsAreDifferences) {
  Fields cp = settled();
  cp["dirty"] = "0/1A2B3C4";
  cp["partial_lsn"] = "0/1A2B400";
  cp["partial_seq"] = "99";
  EXPECT_EQ(check_checkpoint(cp, {"pgcqrs"}, kKey),
            (std::vector<std::string>{
                R"(pgcqrs:checkpoint field dirty: "0/1A2B3C4": a projection call stopped midway, the read models may hold part of a transaction)",
                R"(pgcqrs:checkpoint field partial_lsn: "0/1A2B400": a transaction or fan-out is half applied)",
                R"(pgcqrs:checkpoint field partial_seq: "99": a transaction or fan-out is half applied)"}));
  EXPECT_EQ(checkpoint_unsettled(cp), "marked dirty at 0/1A2B3C4 (a projection call stopped midway; a rebuild follows)");
  cp.erase("dirty");
  EXPECT_EQ(checkpoint_unsettled(cp), "a call series is under way (partial_lsn 0/1A2B400)");
  Fields fanout = settled();
  fanout["partial_cursor"] = "7";
  EXPECT_EQ(check_checkpoint(fanout, {"pgcqrs"}, kKey).size(), 1u);
  EXPECT_NE(checkpoint_unsettled(fanout), "");
}

TEST(VerifyCheckpoint, FieldsAreCheckedAgainstTheLayout) {
  EXPECT_EQ(check_checkpoint({}, {"pgcqrs"}, kKey), (std::vector<std::string>{"pgcqrs:checkpoint: missing (no valid read model)"}));
  // Under a key prefix, each difference names the key as it is in Redis.
  EXPECT_EQ(check_checkpoint({}, {"pgcqrs"}, "app1:pgcqrs:checkpoint"),
            (std::vector<std::string>{"app1:pgcqrs:checkpoint: missing (no valid read model)"}));
  Fields cp = settled();
  cp["lsn"] = "12";
  cp["layout"] = "2";
  cp.erase("updated_at");
  cp["extra"] = "x";
  EXPECT_EQ(check_checkpoint(cp, {"other_slot"}, kKey),
            (std::vector<std::string>{R"(pgcqrs:checkpoint field lsn: "12" is not an LSN)",
                                      R"(pgcqrs:checkpoint field slot: "pgcqrs" is not a pgcqrs slot of this database)",
                                      R"(pgcqrs:checkpoint field layout: expected "4", found "2")",
                                      "pgcqrs:checkpoint field updated_at: missing",
                                      R"(pgcqrs:checkpoint field extra: should not exist ("x"))"}));
}

// created_at 'infinity' scores +inf, '-infinity' -inf (the projection's timestamp_score); the
// page lists them in sorted-set order: +inf first, -inf last.
TEST(VerifyModel, InfiniteTimestampsScoreWithTheirSign) {
  WriteModel wm;
  wm.users = {{1, "Ada", "ada@example.com", true}};
  wm.orders = {{1, 1, "pending", "-infinity", "-infinity", std::nullopt},
               {2, 1, "pending", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", 1767225600000},
               {3, 1, "pending", "infinity", "infinity", std::nullopt}};
  Model m = expected_model(wm);
  EXPECT_EQ(m.at("user_orders:{1}:1").zset.at("1"), "-inf");
  EXPECT_EQ(m.at("user_orders:{1}:1").zset.at("3"), "inf");
  EXPECT_EQ(m.at("order_details:{1}:1").hash.at("created_at"), "-infinity");
  std::vector<int64_t> ids;
  for (const auto& e : m.at("user_latest:{1}:1").list) ids.push_back(nlohmann::json::parse(e).at("order_id").get<int64_t>());
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 2, 1}));

  Model actual = m;
  for (auto& [key, kv] : actual)
    if (kv.type == KeyValue::Type::Hash) kv.hash["lsn"] = "0/100";
  for (auto& e : actual["user_latest:{1}:1"].list) e.insert(e.size() - 1, R"(,"lsn":"0/100")");
  CompareOptions at;
  at.checkpoint = 0x100;
  EXPECT_TRUE(compare(m, actual, at).empty());
  actual["user_orders:{1}:1"].zset["1"] = "inf";  // what the oracle expected before: a false difference
  actual["user_orders:{1}:1"].zset["3"] = "5";  // an infinite score matched any score before
  EXPECT_EQ(compare(m, actual, at), (std::vector<std::string>{"user_orders:{1}:1 member 1: expected score -inf, found inf",
                                                              "user_orders:{1}:1 member 3: expected score inf, found 5"}));
}
