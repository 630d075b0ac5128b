#include "pgcqrs/core/json_number.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace pgcqrs {
namespace {

// from_chars reports overflow and underflow alike as out of range; the decimal exponent tells
// them apart (overflow needs about 1e308, underflow about 1e-324).
int64_t decimal_exponent(const char* b, const char* e) {
  if (b < e && *b == '-') ++b;
  while (b < e && *b == '0') ++b;
  int64_t exp = 0;
  const char* int_start = b;
  while (b < e && *b >= '0' && *b <= '9') ++b;
  if (b > int_start) {
    exp = b - int_start - 1;
  } else if (b < e && *b == '.') {
    for (++b, exp = -1; b < e && *b == '0'; ++b) --exp;
  }
  while (b < e && *b != 'e' && *b != 'E') ++b;
  if (b == e) return exp;
  ++b;
  const bool neg = b < e && *b == '-';
  if (b < e && (*b == '-' || *b == '+')) ++b;
  int64_t x = 0;
  for (; b < e && x < 1'000'000'000; ++b) x = x * 10 + (*b - '0');  // saturates; only the sign matters
  return neg ? exp - x : exp + x;
}

}  // namespace

bool json_number_is_finite(std::string_view text) {
  const char* b = text.data();
  const char* e = b + text.size();
  double d = 0;
  const auto r = std::from_chars(b, e, d);
  if (r.ec == std::errc()) return std::isfinite(d);
  return decimal_exponent(b, e) < 0;
}

}  // namespace pgcqrs
