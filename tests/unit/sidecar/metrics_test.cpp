// The Prometheus text the /metrics endpoint serves.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/http/metrics.hpp"

using pgcqrs::sidecar::http::Metrics;

TEST(Metrics, RendersCountersGaugesAndLabels) {
  Metrics m;
  m.events_applied["OrderPlaced"] = 3;
  m.events_ignored["InvalidMessage"] = 1;
  m.transactions_applied = 2;
  m.reconnects_redis = 1;
  m.cluster_resends.ask = 4;
  m.checkpoint_lsn = 100;
  m.received_lsn = 150;
  m.streaming = true;
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE pgcqrs_events_applied_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_events_applied_total{type=\"OrderPlaced\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_events_ignored_total{type=\"InvalidMessage\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_transactions_applied_total 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_reconnects_total{server=\"redis\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_redis_cluster_resends_total{reason=\"ask\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_redis_cluster_resends_total{reason=\"moved\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_lag_bytes 50\n"), std::string::npos);
  EXPECT_NE(text.find("pgcqrs_up 1\n"), std::string::npos);
  // Every line ends with a newline (the text format requires it) and every sample line
  // belongs to a declared metric family.
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n') << "the last line has no newline";
  std::string family;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    ASSERT_NE(end, std::string::npos) << "no newline after: " << text.substr(pos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ASSERT_FALSE(line.empty()) << "an empty line at byte " << end;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      EXPECT_EQ(line.rfind(family, 0), 0u) << line;
    }
  }
}

// The standard process metric, to the millisecond: rounded like the other gauges (%g) it would
// be a multiple of 10 s, and an alert's time() - process_start_time_seconds would be wrong.
TEST(Metrics, StartTimeKeepsItsSecondsWhenSet) {
  Metrics m;
  EXPECT_EQ(m.render().find("process_start_time_seconds"), std::string::npos);
  m.start_time_seconds = 1764900007.25;
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1764900007.250\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, SlotRetainedWalOnceRead) {
  Metrics m;
  EXPECT_EQ(m.render().find("pgcqrs_slot_wal_retained_bytes"), std::string::npos);
  m.slot_wal_retained_bytes = 123456;
  EXPECT_NE(m.render().find("\n# TYPE pgcqrs_slot_wal_retained_bytes gauge\npgcqrs_slot_wal_retained_bytes 123456\n"),
            std::string::npos);
}

TEST(Metrics, CheckpointDirtyIsZeroOrOne) {
  Metrics m;
  EXPECT_NE(m.render().find("\n# TYPE pgcqrs_checkpoint_dirty gauge\npgcqrs_checkpoint_dirty 0\n"), std::string::npos);
  m.checkpoint_dirty = true;
  EXPECT_NE(m.render().find("\npgcqrs_checkpoint_dirty 1\n"), std::string::npos);
}

TEST(Metrics, LagIsNeverNegative) {
  Metrics m;
  m.checkpoint_lsn = 200;
  m.received_lsn = 100;
  EXPECT_NE(m.render().find("pgcqrs_lag_bytes 0\n"), std::string::npos);
}

// A type name comes from whoever can write an application message: it must not forge lines,
// and each new name must not add a series forever.
TEST(Metrics, IgnoredTypesAreEscapedAndBounded) {
  Metrics m;
  m.count_ignored("A\"} 1\npgcqrs_up{x=\"\\");
  std::string text = m.render();
  EXPECT_NE(text.find("pgcqrs_events_ignored_total{type=\"A\\\"} 1\\npgcqrs_up{x=\\\"\\\\\"} 1\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\npgcqrs_up{"), std::string::npos);
  for (size_t i = 0; i < 3 * Metrics::kMaxIgnoredTypes; ++i) m.count_ignored("type" + std::to_string(i));
  m.count_ignored("type0");  // known: still its own series
  EXPECT_EQ(m.events_ignored.size(), Metrics::kMaxIgnoredTypes + 1);
  EXPECT_EQ(m.events_ignored["type0"], 2u);
  EXPECT_EQ(m.events_ignored["(other)"], 2 * Metrics::kMaxIgnoredTypes + 1);
}

TEST(Metrics, TheCopysProgressOnceOneStarts) {
  Metrics m;
  EXPECT_EQ(m.render().find("pgcqrs_copy_"), std::string::npos);
  pgcqrs::sidecar::snapshot::CopyProgress p;
  p.expected = {100, 10, 1000};
  p.copied = {100, 10, 390};
  p.seconds = 2;
  p.running = true;
  m.copy = p;
  const std::string text = m.render();
  for (const char* line :
       {"pgcqrs_copy_running 1\n", "pgcqrs_copy_rows{table=\"users\"} 100\n", "pgcqrs_copy_rows{table=\"orders\"} 390\n",
        "pgcqrs_copy_rows_expected{table=\"products\"} 10\n", "pgcqrs_copy_rows_per_second 250\n",
        "pgcqrs_copy_seconds_left 2.44\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
  p.running = false;
  m.copy = p;
  EXPECT_NE(m.render().find("pgcqrs_copy_running 0\n"), std::string::npos);
  EXPECT_NE(m.render().find("pgcqrs_copy_seconds_left 0\n"), std::string::npos);
}

TEST(Metrics, HealthSaysWhatReadersAreServedInEachState) {
  Metrics m;
  EXPECT_FALSE(m.healthy());
  EXPECT_EQ(m.health(), "not streaming\nreaders have no read models yet\n");
  m.copy_generation = 1;
  EXPECT_EQ(m.health(), "rebuilding\nstarting generation 1; readers have no read models yet\n");
  m.generation = 4;
  m.copy_generation = 5;
  pgcqrs::sidecar::snapshot::CopyProgress p;
  p.running = true;
  m.copy = p;
  EXPECT_EQ(m.health().rfind("rebuilding\ncopying generation 5, 0 of 0 users, ", 0), 0u) << m.health();
  EXPECT_NE(m.health().find(" s left); readers read generation 4\n"), std::string::npos) << m.health();
  EXPECT_NE(m.render().find("\npgcqrs_read_model_generation 4\n"), std::string::npos);
  m.copy_generation.reset();
  m.generation = 5;
  m.streaming = true;
  EXPECT_TRUE(m.healthy());
  EXPECT_EQ(m.health(), "ok\nstreaming; readers read generation 5\n");
}
