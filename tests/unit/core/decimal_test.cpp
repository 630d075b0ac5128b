// Exact decimals on numeric text.
#include "pgcqrs/core/decimal.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using pgcqrs::Decimal;

TEST(Decimal, ParsesAndPrintsWithItsScale) {
  EXPECT_EQ(Decimal::parse("19.98")->to_string(), "19.98");
  EXPECT_EQ(Decimal::parse("0.05")->to_string(), "0.05");
  EXPECT_EQ(Decimal::parse("-0.50")->to_string(), "-0.50");
  EXPECT_EQ(Decimal::parse("7")->to_string(), "7");
  EXPECT_EQ(Decimal::parse("0")->to_string(), "0");
}

TEST(Decimal, ComparesValuesWhateverTheirScale) {
  const auto d = [](const char* t) { return *Decimal::parse(t); };
  EXPECT_EQ(d("1.5").compare(d("1.50")), 0);
  EXPECT_EQ(d("-2").compare(d("1.25")), -1);
  EXPECT_EQ(d("10").compare(d("9.99")), 1);
  EXPECT_EQ(d("-0.01").compare(d("0")), -1);
  // 36 digits cannot take two more decimals.
  EXPECT_EQ(d("123456789012345678901234567890123456").compare(d("0.01")), std::nullopt);
}

TEST(Decimal, RejectsWhatIsNotAPlainDecimal) {
  for (const char* bad : {"", "-", ".", "NaN", "Infinity", "1e5", "1.2.3", " 1", "1,5", "--1"})
    EXPECT_FALSE(Decimal::parse(bad).has_value()) << bad;
  // Only what numeric prints: the extension's former parser also took these.
  for (const char* bad : {"+1", "+0.5", ".5", "-.5", "5.", "-5.", "1.-5"})
    EXPECT_FALSE(Decimal::parse(bad).has_value()) << bad;
}

TEST(Decimal, ScalesToIntegersExactly) {
  EXPECT_EQ(Decimal::parse("19.9")->scaled(2), 1990);
  EXPECT_EQ(Decimal::parse("-0.05")->scaled(2), -5);
  EXPECT_EQ(Decimal::parse("12")->scaled(0), 12);
  EXPECT_FALSE(Decimal::parse("0.001")->scaled(2).has_value());  // would lose a digit
  EXPECT_EQ(Decimal::parse("9223372036854775807")->scaled(0), INT64_MAX);
  EXPECT_FALSE(Decimal::parse("9223372036854775808")->scaled(0).has_value());
  EXPECT_EQ(Decimal::parse("-9223372036854775808")->scaled(0), INT64_MIN);
}

TEST(Decimal, SumsAndMultipliesExactly) {
  auto price = *Decimal::parse("9.99");
  auto line = *price.times(3);
  EXPECT_EQ(line.to_string(), "29.97");
  auto total = *line.plus(*Decimal::parse("0.01"));
  EXPECT_EQ(total.to_string(), "29.98");
  EXPECT_EQ(Decimal::parse("0.1")->plus(*Decimal::parse("0.2"))->to_string(), "0.3");
  EXPECT_EQ(Decimal::parse("1.5")->plus(*Decimal::parse("2.25"))->to_string(), "3.75");
}

TEST(Decimal, LargestMoneyTimesLargestQuantityFits) {
  auto price = *Decimal::parse("9999999999.99");  // numeric(12,2) maximum
  auto line = price.times(2147483647);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->to_string(), "21474836469978525163.53");
  auto twice = line->plus(*line);
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->to_string(), "42949672939957050327.06");
}

TEST(Decimal, ReportsOverflowInsteadOfWrapping) {
  auto huge = Decimal::parse(std::string(36, '9'));
  ASSERT_TRUE(huge.has_value());
  EXPECT_FALSE(huge->times(1000).has_value());
  EXPECT_FALSE(Decimal::parse(std::string(37, '9')).has_value());
}
