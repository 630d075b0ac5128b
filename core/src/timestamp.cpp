// Setting-independent timestamp text both ways (see timestamp.hpp).
#include "pgcqrs/core/timestamp.hpp"

#include <algorithm>

namespace pgcqrs {
namespace {

constexpr int64_t usecs_per_day = 86400LL * 1000000LL;
constexpr int64_t days_1970_to_2000 = 10957;
// PostgreSQL's valid range (MIN_TIMESTAMP and END_TIMESTAMP in datatype/timestamp.h):
// 4714-11-24 00:00 BC up to, not including, 294277-01-01 00:00 AD.
constexpr int64_t min_pg_micros = -211813488000000000LL;
constexpr int64_t end_pg_micros = 9223371331200000000LL;

// Days since 1970-01-01 to a civil date and back (Howard Hinnant's algorithms).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return m == 2 && leap ? 29 : days[m - 1];
}

}  // namespace

std::string format_timestamp(int64_t pg_micros) {
  if (pg_micros == timestamp_infinity) return "infinity";
  if (pg_micros == timestamp_minus_infinity) return "-infinity";
  int64_t days = pg_micros / usecs_per_day;
  int64_t rem = pg_micros % usecs_per_day;
  if (rem < 0) {
    rem += usecs_per_day;
    --days;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days + days_1970_to_2000, year, month, day);
  int64_t secs = rem / 1000000;
  int64_t usec = rem % 1000000;
  // Written digit by digit: this runs for every timestamp of every event, and printf was
  // the plugin's largest cost in profiles.
  char buf[48];
  char* p = buf;
  auto digits = [&p](int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  if (year < 0 || year > 9999) {
    // Outside four digits (PostgreSQL allows 4713 BC to 294276 AD): rare, so the slow path.
    if (year < 0) *p++ = '-';
    std::string y = std::to_string(year < 0 ? -year : year);
    if (y.size() < 4) y.insert(0, 4 - y.size(), '0');
    std::copy(y.begin(), y.end(), p);
    p += y.size();
  } else {
    digits(year, 4);
  }
  *p++ = '-';
  digits(month, 2);
  *p++ = '-';
  digits(day, 2);
  *p++ = 'T';
  digits(secs / 3600, 2);
  *p++ = ':';
  digits(secs / 60 % 60, 2);
  *p++ = ':';
  digits(secs % 60, 2);
  *p++ = '.';
  digits(usec, 6);
  *p++ = 'Z';
  return std::string(buf, p);
}

std::optional<int64_t> parse_timestamp(std::string_view t) {
  if (t == "infinity") return timestamp_infinity;
  if (t == "-infinity") return timestamp_minus_infinity;
  size_t i = 0;
  auto num = [&](size_t n, int64_t& out) {
    out = 0;
    for (size_t k = 0; k < n; ++k, ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  auto lit = [&](char c) {
    if (i >= t.size() || t[i] != c) return false;
    ++i;
    return true;
  };
  const bool bc = lit('-');
  size_t year_digits = 0;
  while (i + year_digits < t.size() && t[i + year_digits] >= '0' && t[i + year_digits] <= '9') ++year_digits;
  if (year_digits < 4 || year_digits > 6) return std::nullopt;
  int64_t y, mo, d, h, mi, s;
  if (!num(year_digits, y) || !lit('-') || !num(2, mo) || !lit('-') || !num(2, d) || !lit('T') ||
      !num(2, h) || !lit(':') || !num(2, mi) || !lit(':') || !num(2, s))
    return std::nullopt;
  if (bc) y = -y;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 || s > 59)
    return std::nullopt;
  int64_t micros = 0;
  if (lit('.')) {
    size_t n = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++n) {
      if (n == 6) return std::nullopt;
      micros = micros * 10 + (t[i] - '0');
    }
    if (n == 0) return std::nullopt;
    for (; n < 6; ++n) micros *= 10;
  }
  if (!lit('Z') || i != t.size()) return std::nullopt;
  // Six-digit years keep days within +-366 million: no overflow before the range check.
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) - days_1970_to_2000;
  if (days < min_pg_micros / usecs_per_day - 1 || days > end_pg_micros / usecs_per_day) return std::nullopt;
  const int64_t v = days * usecs_per_day + ((h * 60 + mi) * 60 + s) * 1000000 + micros;
  if (v < min_pg_micros || v >= end_pg_micros) return std::nullopt;
  return v;
}

}  // namespace pgcqrs
