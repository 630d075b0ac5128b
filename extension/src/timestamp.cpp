// Setting-independent text for timestamps.
#include "pgcqrs/timestamp.hpp"

#include <algorithm>
#include <limits>

namespace pgcqrs {
namespace {

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
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

}  // namespace

std::string format_timestamp(int64_t pg_micros) {
  if (pg_micros == std::numeric_limits<int64_t>::max()) return "infinity";
  if (pg_micros == std::numeric_limits<int64_t>::min()) return "-infinity";
  constexpr int64_t usecs_per_day = 86400LL * 1000000LL;
  constexpr int64_t days_1970_to_2000 = 10957;
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
  char buf[40];
  char* p = buf;
  auto digits = [&p](int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  if (year < 0 || year > 9999) {
    // Outside four digits (PostgreSQL allows up to 294276 AD): rare, so the slow path.
    std::string y = std::to_string(year);
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

}  // namespace pgcqrs
