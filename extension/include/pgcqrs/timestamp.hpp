// PostgreSQL timestamps (microseconds since 2000-01-01 UTC) as ISO-8601 UTC text,
// independent of any session setting.
#pragma once
#include "pgcqrs/core/pure.hpp"

// Transitional: callers that still take format_lsn/parse_lsn from this header.
#include "pgcqrs/core/lsn.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

// "2026-11-28T09:15:02.123456Z"; "infinity" / "-infinity" for PostgreSQL's sentinels.
std::string format_timestamp(int64_t pg_micros);

}  // namespace pgcqrs
