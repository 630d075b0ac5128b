// PostgreSQL timestamps (microseconds since 2000-01-01 UTC) as the ISO-8601 UTC text of the
// event contract (docs/events.md), both ways, independent of any session setting.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

// PostgreSQL's sentinels for 'infinity' and '-infinity'.
inline constexpr int64_t timestamp_infinity = std::numeric_limits<int64_t>::max();
inline constexpr int64_t timestamp_minus_infinity = std::numeric_limits<int64_t>::min();

// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
inline constexpr int64_t unix_to_pg_epoch_micros = 946684800LL * 1000000LL;

// "2026-11-28T09:15:02.123456Z": the year in at least four digits (astronomical numbering,
// so 1 BC is "0000" and 2 BC "-0001"), always six fractional digits, always "Z";
// "infinity" / "-infinity" for the sentinels.
std::string format_timestamp(int64_t pg_micros);

// Reads what format_timestamp writes, and the same with 0 to 6 fractional digits:
// [-]YYYY[Y[Y]]-MM-DDTHH:MM:SS[.f]Z, "infinity", "-infinity". Strict: only "Z" as the zone,
// real calendar dates (no February 30), seconds up to 59, and only instants inside
// PostgreSQL's range (4714-11-24 BC to 294276 AD); nullopt for anything else.
std::optional<int64_t> parse_timestamp(std::string_view text);

}  // namespace pgcqrs
