#include "pgcqrs/timestamp.hpp"

#include <gtest/gtest.h>

#include <limits>

using pgcqrs::format_timestamp;

TEST(Timestamp, FormatsPostgresEpochAsUtc) {
  EXPECT_EQ(format_timestamp(0), "2000-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1), "2000-01-01T00:00:00.000001Z");
  EXPECT_EQ(format_timestamp(-1), "1999-12-31T23:59:59.999999Z");
  // 2024-02-29 12:34:56.789012 UTC: a leap day.
  EXPECT_EQ(format_timestamp(762525296789012LL), "2024-02-29T12:34:56.789012Z");
}

TEST(Timestamp, FormatsYearsOutsideFourDigits) {
  EXPECT_EQ(format_timestamp(252455616000000000LL), "10000-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(-63082281600000000LL), "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(-63082281600000000LL - 1), "0000-12-31T23:59:59.999999Z");
}

TEST(Timestamp, FormatsInfinities) {
  EXPECT_EQ(format_timestamp(std::numeric_limits<int64_t>::max()), "infinity");
  EXPECT_EQ(format_timestamp(std::numeric_limits<int64_t>::min()), "-infinity");
}
