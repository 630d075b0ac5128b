// Setting-independent text for timestamps and LSNs.
#include "pgcqrs/timestamp.hpp"

#include <charconv>
#include <cstdio>
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
  char buf[64];
  // Years before 1 AD are rare enough to print as astronomical years.
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(year), month, day, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                static_cast<long long>(usec));
  return buf;
}

std::string format_lsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xFFFFFFFFu));
  return buf;
}

std::optional<uint64_t> parse_lsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  auto hex32 = [](std::string_view part) -> std::optional<uint64_t> {
    if (part.size() > 8) return std::nullopt;
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v, 16);
    if (ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    return v;
  };
  auto hi = hex32(text.substr(0, slash));
  auto lo = hex32(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return (*hi << 32) | *lo;
}

}  // namespace pgcqrs
