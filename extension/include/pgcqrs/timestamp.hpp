// PostgreSQL timestamps (microseconds since 2000-01-01 UTC) as ISO-8601 UTC text, and LSNs
// as X/Y text: both independent of any session setting.
#pragma once
#include "pgcqrs/pure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

// "2026-11-28T09:15:02.123456Z"; "infinity" / "-infinity" for PostgreSQL's sentinels.
std::string format_timestamp(int64_t pg_micros);

// "16/B374D848", as pg_lsn prints it.
std::string format_lsn(uint64_t lsn);
std::optional<uint64_t> parse_lsn(std::string_view text);

}  // namespace pgcqrs
