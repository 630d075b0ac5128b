#include "pgcqrs/timestamp.hpp"

#include <gtest/gtest.h>

#include <limits>

using pgcqrs::format_lsn;
using pgcqrs::format_timestamp;
using pgcqrs::parse_lsn;

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

TEST(Lsn, FormatsLikePgLsn) {
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(format_lsn(0xFFFFFFFFFFFFFFFFULL), "FFFFFFFF/FFFFFFFF");
  EXPECT_EQ(format_lsn(0x100000000ULL), "1/0");
  EXPECT_EQ(format_lsn(0x0000000A0000F00DULL), "A/F00D");
}

TEST(Lsn, ParsesWhatItFormats) {
  EXPECT_EQ(parse_lsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(parse_lsn("0/1a2b"), 0x1A2BULL);
  for (const char* bad : {"", "/", "1/", "/1", "1/2/3", "x/1", "123456789/0", "1 /2"})
    EXPECT_FALSE(parse_lsn(bad).has_value()) << bad;
}
