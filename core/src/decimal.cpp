// Exact decimal sums and products for order totals.
#include "pgcqrs/core/decimal.hpp"

#include <algorithm>
#include <cstdint>

namespace pgcqrs {
namespace {

constexpr int max_digits = 36;  // keeps products with a 32-bit quantity inside 128 bits

// 10^0 .. 10^38, computed once: rescaling runs for every item of every order.
const __int128* powers_of_ten() {
  static const auto table = [] {
    static __int128 t[39];
    t[0] = 1;
    for (int i = 1; i < 39; ++i) t[i] = t[i - 1] * 10;
    return t;
  }();
  return table;
}

__int128 pow10(int n) { return powers_of_ten()[n]; }

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
  std::size_t i = 0;
  const bool negative = i < text.size() && text[i] == '-';
  if (negative) ++i;
  __int128 units = 0;
  int digits = 0, scale = 0;
  // Digits on both sides of the point, as numeric prints them: not "5." and not ".5".
  auto run = [&](bool fraction) {
    const std::size_t start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (units != 0 || text[i] != '0') ++digits;
      if (digits > max_digits) return false;
      units = units * 10 + (text[i] - '0');
      if (fraction) ++scale;
    }
    return i > start;
  };
  if (!run(false)) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!run(true)) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return Decimal(negative ? -units : units, scale);
}

std::optional<Decimal> Decimal::rescaled(int scale) const {
  if (scale == scale_) return *this;
  if (scale < scale_ || scale - scale_ > max_digits) return std::nullopt;
  __int128 factor = pow10(scale - scale_);
  __int128 limit = pow10(max_digits + 1);
  if (units_ > limit / factor || units_ < -limit / factor) return std::nullopt;
  return Decimal(units_ * factor, scale);
}

std::optional<int> Decimal::compare(const Decimal& other) const {
  const int scale = std::max(scale_, other.scale_);
  const auto a = rescaled(scale), b = other.rescaled(scale);
  if (!a || !b) return std::nullopt;
  return a->units_ < b->units_ ? -1 : a->units_ > b->units_ ? 1 : 0;
}

std::optional<Decimal> Decimal::plus(const Decimal& other) const {
  int scale = std::max(scale_, other.scale_);
  auto a = rescaled(scale), b = other.rescaled(scale);
  if (!a || !b) return std::nullopt;
  __int128 limit = pow10(max_digits + 1);
  __int128 sum = a->units_ + b->units_;
  if (sum > limit || sum < -limit) return std::nullopt;
  return Decimal(sum, scale);
}

std::optional<Decimal> Decimal::times(long long factor) const {
  __int128 limit = pow10(max_digits + 1);
  __int128 f = factor;
  if (f != 0 && (units_ > limit / (f < 0 ? -f : f) || units_ < -limit / (f < 0 ? -f : f)))
    return std::nullopt;
  return Decimal(units_ * f, scale_);
}

std::optional<int64_t> Decimal::scaled(int scale) const {
  auto d = rescaled(scale);
  if (!d || d->units_ > INT64_MAX || d->units_ < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(d->units_);
}

std::string Decimal::to_string() const {
  bool negative = units_ < 0;
  unsigned __int128 u = negative ? static_cast<unsigned __int128>(-units_)
                                 : static_cast<unsigned __int128>(units_);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  while (static_cast<int>(digits.size()) <= scale_) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  if (scale_ > 0) digits.insert(digits.end() - scale_, '.');
  if (negative) digits.insert(digits.begin(), '-');
  return digits;
}

}  // namespace pgcqrs
