// Amounts as cents and back (see money.hpp).
#include "pgcqrs/core/money.hpp"

#include "pgcqrs/core/decimal.hpp"

namespace pgcqrs {

std::optional<int64_t> money_to_cents(std::string_view text) {
  auto d = Decimal::parse(text);
  if (!d) return std::nullopt;
  return d->scaled(2);
}

std::string cents_to_money(int64_t cents) {
  const bool negative = cents < 0;
  const uint64_t a = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  std::string frac = std::to_string(a % 100);
  if (frac.size() < 2) frac.insert(0, "0");
  return (negative ? "-" : "") + std::to_string(a / 100) + "." + frac;
}

}  // namespace pgcqrs
