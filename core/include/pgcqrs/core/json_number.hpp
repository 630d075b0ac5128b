// Whether a JSON number, as both sides of the plugin's stream read it, is one they can hold.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <string_view>

namespace pgcqrs {

// `text` matches JSON's number grammar. False when a double would overflow to infinity
// (1e400): the sidecar reads numbers as doubles, so the plugin refuses such a number in an
// application message rather than emit what the sidecar cannot read. One that underflows to
// 0 (1e-400) is fine.
bool json_number_is_finite(std::string_view text);

}  // namespace pgcqrs
