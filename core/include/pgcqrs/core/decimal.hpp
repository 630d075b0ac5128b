// Exact decimal arithmetic on the strings PostgreSQL's numeric prints ("19.98"): the plugin's
// order totals and the oracle's expected read models.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

class Decimal {
 public:
  Decimal() = default;

  // Parses what numeric prints, [-]digits[.digits]; nullopt for anything else (a '+' sign,
  // ".5", "5.", NaN, Infinity, exponents, more than 36 significant digits).
  static std::optional<Decimal> parse(std::string_view text);

  // -1, 0 or 1 as this value is below, equal to or above other's (1.5 equals 1.50); nullopt
  // when one cannot be brought to the other's scale.
  std::optional<int> compare(const Decimal& other) const;

  // Sum and product; nullopt on overflow of the 128-bit mantissa.
  std::optional<Decimal> plus(const Decimal& other) const;
  std::optional<Decimal> times(long long factor) const;

  // Plain notation with exactly scale() fractional digits: "24.98", "-0.50", "0".
  std::string to_string() const;
  int scale() const { return scale_; }

  // The value times 10^scale as an integer ("19.9" at scale 2 is 1990); nullopt if that
  // loses digits (scale() is larger) or does not fit 64 bits.
  std::optional<int64_t> scaled(int scale) const;

 private:
  Decimal(__int128 units, int scale) : units_(units), scale_(scale) {}
  std::optional<Decimal> rescaled(int scale) const;

  __int128 units_ = 0;  // value = units_ / 10^scale_
  int scale_ = 0;
};

}  // namespace pgcqrs
