#include "pgcqrs/core/json_number.hpp"

#include <gtest/gtest.h>

using pgcqrs::json_number_is_finite;

TEST(JsonNumber, DoublesAndIntegersThatFit) {
  for (const char* n : {"0", "-0", "7", "-1.5e3", "1.7976931348623157e308", "-1.7976931348623157e308",
                        "18446744073709551616", "0.000001", "1E+2"})
    EXPECT_TRUE(json_number_is_finite(n)) << n;
}

TEST(JsonNumber, UnderflowToZeroIsFine) {
  for (const char* n : {"1e-400", "-1e-400", "0.0000e-999999999999", "0e999999"})
    EXPECT_TRUE(json_number_is_finite(n)) << n;
}

TEST(JsonNumber, OverflowToInfinityIsNot) {
  for (const char* n : {"1e400", "-1e400", "1.8e308", "1e999999999999", "100000000000000000000e300"})
    EXPECT_FALSE(json_number_is_finite(n)) << n;
}
