// Amounts of the event contract as cents and back.
#include "pgcqrs/core/money.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using pgcqrs::cents_to_money;
using pgcqrs::money_to_cents;

TEST(Money, ConvertsToCents) {
  EXPECT_EQ(money_to_cents("19.98"), 1998);
  EXPECT_EQ(money_to_cents("0"), 0);
  EXPECT_EQ(money_to_cents("0.00"), 0);
  EXPECT_EQ(money_to_cents("-0.00"), 0);
  EXPECT_EQ(money_to_cents("7.5"), 750);
  EXPECT_EQ(money_to_cents("-0.05"), -5);
  EXPECT_EQ(money_to_cents("-12.30"), -1230);
  EXPECT_EQ(money_to_cents("007.50"), 750);
  EXPECT_EQ(money_to_cents("9999999999.99"), 999999999999);  // numeric(12,2)'s largest
  // The ends of 64-bit cents.
  EXPECT_EQ(money_to_cents("92233720368547758.07"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(money_to_cents("-92233720368547758.08"), std::numeric_limits<int64_t>::min());
}

TEST(Money, RefusesWhatIsNotAnAmountInCents) {
  for (const char* bad : {"", "-", ".", "1.", ".5", "-.5", "+1", "+1.00", "1.234", "0.001", "1.230", "NaN",
                          "Infinity", "-Infinity", "1e3", "1,00", " 1", "1 ", "--1", "1.2.3", "0x10",
                          "92233720368547758.08", "-92233720368547758.09", "100000000000000000000"})
    EXPECT_FALSE(money_to_cents(bad).has_value()) << bad;
}

TEST(Money, PrintsCentsWithTwoDecimals) {
  EXPECT_EQ(cents_to_money(1998), "19.98");
  EXPECT_EQ(cents_to_money(5), "0.05");
  EXPECT_EQ(cents_to_money(-5), "-0.05");
  EXPECT_EQ(cents_to_money(-100), "-1.00");
  EXPECT_EQ(cents_to_money(0), "0.00");
  EXPECT_EQ(cents_to_money(std::numeric_limits<int64_t>::max()), "92233720368547758.07");
  EXPECT_EQ(cents_to_money(std::numeric_limits<int64_t>::min()), "-92233720368547758.08");
  std::string text = "total ";
  pgcqrs::append_money(text, -1998);
  EXPECT_EQ(text, "total -19.98");
  for (int64_t c : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{99}, int64_t{-101}, int64_t{123456789012345}})
    EXPECT_EQ(money_to_cents(cents_to_money(c)), c) << c;
}
