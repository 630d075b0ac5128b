// WAL positions (LSNs) as the X/Y text pg_lsn prints and reads, independent of any setting.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

// "16/B374D848": upper-case hex halves without leading zeros, as pg_lsn prints them.
std::string format_lsn(uint64_t lsn);

// What pg_lsn accepts: two halves of 1 to 8 hex digits (either case) around one '/';
// nullopt for anything else (signs, spaces, a missing or longer half).
std::optional<uint64_t> parse_lsn(std::string_view text);

}  // namespace pgcqrs
