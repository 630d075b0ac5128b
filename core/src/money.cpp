// Amounts as cents and back (see money.hpp).
#include "pgcqrs/core/money.hpp"

#include <charconv>

#include "pgcqrs/core/decimal.hpp"

namespace pgcqrs {

std::optional<int64_t> money_to_cents(std::string_view text) {
  auto d = Decimal::parse(text);
  if (!d) return std::nullopt;
  return d->scaled(2);
}

void append_money(std::string& out, int64_t cents) {
  const bool negative = cents < 0;
  const uint64_t a = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  char buf[32];
  char* p = buf;
  if (negative) *p++ = '-';
  p = std::to_chars(p, buf + sizeof buf, a / 100).ptr;
  const unsigned frac = static_cast<unsigned>(a % 100);
  p[0] = '.';
  p[1] = static_cast<char>('0' + frac / 10);
  p[2] = static_cast<char>('0' + frac % 10);
  out.append(buf, static_cast<size_t>(p + 3 - buf));
}

std::string cents_to_money(int64_t cents) {
  std::string s;
  append_money(s, cents);
  return s;
}

}  // namespace pgcqrs
