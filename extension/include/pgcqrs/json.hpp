// Appending JSON tokens to a std::string: strings escaped and made valid UTF-8.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pgcqrs::json {

// Appends s as a JSON string literal. Quotes, backslashes and control characters are escaped;
// valid UTF-8 passes through; each byte of an invalid sequence becomes U+FFFD.
void append_string(std::string& out, std::string_view s);

void append_int(std::string& out, int64_t v);

// Appends ,"key": (the comma only when out does not end an opening brace or bracket).
// key must be a plain ASCII literal needing no escapes.
void append_key(std::string& out, std::string_view key);

}  // namespace pgcqrs::json
