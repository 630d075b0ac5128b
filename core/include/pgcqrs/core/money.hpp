// Money of the event contract (numeric text with at most two decimals, docs/events.md) as
// integer cents and back: the read models count in cents and print amounts this way.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs {

// "19.98" -> 1998, "7.5" -> 750, "-0.05" -> -5: numeric text as Decimal::parse reads it, with
// at most two decimals and within 64-bit cents; nullopt for anything else ("1.234", "1.",
// ".5", "+1", "NaN", "1e3").
std::optional<int64_t> money_to_cents(std::string_view text);

// 1998 -> "19.98", -5 -> "-0.05", 0 -> "0.00": always two decimals.
std::string cents_to_money(int64_t cents);
// The same, appended to out (the projector writes amounts into longer texts).
void append_money(std::string& out, int64_t cents);

}  // namespace pgcqrs
