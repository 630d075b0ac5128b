// LSN text: exactly what pg_lsn prints and accepts.
#include "pgcqrs/core/lsn.hpp"

#include <gtest/gtest.h>

using pgcqrs::format_lsn;
using pgcqrs::parse_lsn;

TEST(Lsn, FormatsLikePgLsn) {
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(format_lsn(0xFFFFFFFFFFFFFFFFULL), "FFFFFFFF/FFFFFFFF");
  EXPECT_EQ(format_lsn(0x100000000ULL), "1/0");
  EXPECT_EQ(format_lsn(0xFFFFFFFFULL), "0/FFFFFFFF");
  EXPECT_EQ(format_lsn(0x0000000A0000F00DULL), "A/F00D");
  EXPECT_EQ(format_lsn(0x8000000000000001ULL), "80000000/1");
}

TEST(Lsn, ParsesWhatItFormats) {
  for (uint64_t v : {0ULL, 1ULL, 0xFFFFFFFFULL, 0x100000000ULL, 0x16B374D848ULL, 0x8000000000000001ULL,
                     0xFFFFFFFFFFFFFFFFULL})
    EXPECT_EQ(parse_lsn(format_lsn(v)), v) << format_lsn(v);
  EXPECT_EQ(parse_lsn("0/0"), 0u);
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), 0xFFFFFFFFFFFFFFFFULL);
  EXPECT_EQ(parse_lsn("16/B374D848"), 0x16B374D848ULL);
  // Either case, and leading zeros up to 8 digits, as pg_lsn reads them.
  EXPECT_EQ(parse_lsn("0/1a2b"), 0x1A2BULL);
  EXPECT_EQ(parse_lsn("ffffffff/0000000a"), 0xFFFFFFFF0000000AULL);
}

TEST(Lsn, RejectsWhatPgLsnRejects) {
  for (const char* bad : {"", "/", "0", "1/", "/1", "1/2/3", "x/1", "1/g", "0x1/0", "123456789/0", "0/123456789",
                          "000000001/0", "1 /2", " 1/2", "1/2 ", "+1/2", "-1/2", "1/-2", "1//2", "1\n/2"})
    EXPECT_FALSE(parse_lsn(bad).has_value()) << bad;
  EXPECT_FALSE(parse_lsn(std::string_view("1/2\0", 4)).has_value());
}
