// What the sidecar reports of its read models, from what Redis holds.
#include "pgcqrs/sidecar/progress_report.hpp"

#include <gtest/gtest.h>

namespace pgcqrs::sidecar {
namespace {

const char* kPlan =
    R"({"version":2,"key":"card:{id}","tables":[)"
    R"({"key":["id"],"join":"root","reads":["id","title"],"table":"public.tickets"}],)"
    R"("columns":[{"name":"id","table":0,"column":"id"},{"name":"title","table":0,"column":"title"}]})";

TEST(ProgressReport, ReportsTheCheckpointTheGenerationAndEachModelsVersion) {
  const auto p = progress_of({{"lsn", "0/16B3748"}, {"generation", "3"}, {"slot", "s"}},
                             {{"cards", kPlan}, {"broken", "{"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->lsn, "0/16B3748");
  EXPECT_EQ(p->generation, 3u);
  EXPECT_EQ(p->models, (std::map<std::string, int64_t>{{"broken", 0}, {"cards", 2}}));
  EXPECT_EQ(models_json(p->models), R"({"broken": 0, "cards": 2})");
  EXPECT_EQ(models_json({}), "{}");
}

TEST(ProgressReport, GenerationZeroWhenTheCheckpointNamesNone) {
  const auto p = progress_of({{"lsn", "0/1"}}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->generation, 0u);
  EXPECT_TRUE(p->models.empty());
}

TEST(ProgressReport, NothingWhileWhatReadersReadIsAboutToBeReplaced) {
  EXPECT_FALSE(progress_of({}, {}));  // no checkpoint
  EXPECT_FALSE(progress_of({{"lsn", "0/1"}, {"dirty", "0/1"}}, {}));
  // A model registered while streaming is in the registry before the rebuild copies its rows.
  EXPECT_FALSE(progress_of({{"lsn", "0/1"}, {"rebuild", "2026-12-08T00:00:00Z, when read model cards"}},
                           {{"cards", kPlan}}));
  EXPECT_FALSE(progress_of({{"lsn", "0/1"}, {"generation", "x"}}, {}));
}

TEST(ProgressReport, UpsertsTheSlotsRowInTheTableFound) {
  EXPECT_EQ(progress_upsert("pgcqrs.read_model_progress"),
            "INSERT INTO pgcqrs.read_model_progress AS p (slot, lsn, generation, models, reported_at) "
            "VALUES ($1, $2::pg_catalog.pg_lsn, $3::pg_catalog.int8, $4::pg_catalog.jsonb, pg_catalog.now()) "
            "ON CONFLICT (slot) DO UPDATE SET lsn = EXCLUDED.lsn, generation = EXCLUDED.generation, "
            "models = EXCLUDED.models, reported_at = EXCLUDED.reported_at");
}

}  // namespace
}  // namespace pgcqrs::sidecar
