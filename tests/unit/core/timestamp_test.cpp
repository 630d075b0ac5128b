// Timestamp text of the event contract: what the plugin prints and what the sidecar reads.
#include "pgcqrs/core/timestamp.hpp"

#include <gtest/gtest.h>

#include <limits>

using pgcqrs::format_timestamp;
using pgcqrs::parse_timestamp;

namespace {
constexpr int64_t kMin = -211813488000000000LL;     // 4714-11-24 00:00 BC, PostgreSQL's lowest
constexpr int64_t kEnd = 9223371331200000000LL;     // 294277-01-01 00:00, one past its highest
constexpr int64_t kYear1 = -63082281600000000LL;    // 0001-01-01 00:00
constexpr int64_t kYearMinus1 = kYear1 - 731LL * 86400 * 1000000;  // -0001-01-01: years 0 (leap) and -1
}  // namespace

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
  // Before year 0: a sign and at least four digits (ISO 8601's expanded years).
  EXPECT_EQ(format_timestamp(kYearMinus1), "-0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(kMin), "-4713-11-24T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(kEnd - 1), "294276-12-31T23:59:59.999999Z");
}

TEST(Timestamp, FormatsInfinities) {
  EXPECT_EQ(format_timestamp(std::numeric_limits<int64_t>::max()), "infinity");
  EXPECT_EQ(format_timestamp(std::numeric_limits<int64_t>::min()), "-infinity");
}

TEST(Timestamp, ParsesWhatItFormats) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{762525296789012}, kYear1, kYear1 - 1, kYearMinus1,
                    kMin, kMin + 1, kEnd - 1, int64_t{252455616000000000}, pgcqrs::timestamp_infinity,
                    pgcqrs::timestamp_minus_infinity})
    EXPECT_EQ(parse_timestamp(format_timestamp(v)), v) << format_timestamp(v);
}

TEST(Timestamp, ParsesFewerFractionalDigits) {
  EXPECT_EQ(parse_timestamp("2000-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("2000-01-01T00:00:00.5Z"), 500000);
  EXPECT_EQ(parse_timestamp("2000-01-01T00:00:00.000001Z"), 1);
  EXPECT_EQ(parse_timestamp("1999-12-31T23:59:59.9Z"), -100000);
  EXPECT_EQ(parse_timestamp("2024-02-29T12:34:56.789012Z"), 762525296789012LL);
}

TEST(Timestamp, RefusesWhatThePluginNeverPrints) {
  for (const char* bad : {
           "", "Infinity", "+infinity", "2000-01-01", "2000-01-01T00:00:00", "2000-01-01 00:00:00Z",
           "2000-01-01t00:00:00Z", "2000-01-01T00:00:00z", "2000-01-01T00:00:00+00", "2000-01-01T00:00:00+00:00",
           "2000-01-01T00:00:00.Z", "2000-01-01T00:00:00.1234567Z", "2000-01-01T00:00:00Z ",
           "200-01-01T00:00:00Z", "1234567-01-01T00:00:00Z", "+2000-01-01T00:00:00Z", "--2000-01-01T00:00:00Z",
           "2000-1-01T00:00:00Z", "2000-01-01T0:00:00Z", "2000-00-01T00:00:00Z", "2000-13-01T00:00:00Z",
           "2000-01-00T00:00:00Z", "2000-01-32T00:00:00Z", "2001-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
           "2000-04-31T00:00:00Z", "2000-01-01T24:00:00Z", "2000-01-01T00:60:00Z", "2000-01-01T00:00:60Z",
           // Outside PostgreSQL's range, and far enough out to overflow 64-bit microseconds.
           "-4713-11-23T23:59:59.999999Z", "294277-01-01T00:00:00Z", "999999-12-31T23:59:59Z",
           "-999999-01-01T00:00:00Z"})
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  EXPECT_FALSE(parse_timestamp(std::string_view("2000-01-01T00:00:00Z\0", 21)).has_value());
  // Leap days exist where the Gregorian rule says so.
  EXPECT_TRUE(parse_timestamp("2000-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_timestamp("0000-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_timestamp("-0004-02-29T00:00:00Z").has_value());
}
