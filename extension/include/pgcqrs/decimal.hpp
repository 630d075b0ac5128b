// Exact decimal arithmetic on the strings PostgreSQL's numeric prints ("19.98"), for totals.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

class Decimal {
 public:
  Decimal() = default;

  // Parses [-]digits[.digits]; nullopt for anything else (NaN, Infinity, exponents, overflow
  // past 38 digits).
  static std::optional<Decimal> parse(std::string_view text);

  // Sum and product; nullopt on overflow of the 128-bit mantissa.
  std::optional<Decimal> plus(const Decimal& other) const;
  std::optional<Decimal> times(long long factor) const;

  // Plain notation with exactly scale() fractional digits: "24.98", "-0.50", "0".
  std::string to_string() const;
  int scale() const { return scale_; }

 private:
  Decimal(__int128 units, int scale) : units_(units), scale_(scale) {}
  std::optional<Decimal> rescaled(int scale) const;

  __int128 units_ = 0;  // value = units_ / 10^scale_
  int scale_ = 0;
};

}  // namespace pgcqrs
