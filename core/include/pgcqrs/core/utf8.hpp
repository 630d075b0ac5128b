// UTF-8 checks shared by the plugin and the sidecar (its reader and its oracle): well-formed
// sequences, copying bytes as valid UTF-8 within a size limit, and where a limit cuts a string.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgcqrs::utf8 {

// The replacement character U+FFFD, written for each byte that is not part of valid UTF-8.
inline constexpr std::string_view replacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, surrogates or code
// points above U+10FFFF) at s[i], or 0 if the bytes there are not one.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept;

// The longest prefix of the valid UTF-8 string s that is at most limit bytes and ends on a
// character boundary.
std::size_t cut(std::string_view s, std::size_t limit) noexcept;

// Appends the code point cp (at most U+10FFFF) to out as UTF-8.
void append(std::string& out, std::uint32_t cp);

struct CopyResult {
  std::size_t consumed = 0;  // bytes of the input copied (or replaced)
  std::size_t written = 0;   // bytes written to out
  std::size_t replaced = 0;  // invalid input bytes written as U+FFFD
};

// Copies in to out (capacity cap) as valid UTF-8: each byte that does not begin a
// well-formed sequence becomes U+FFFD. Stops before the first character that would not fit;
// consumed < in.size() then. Allocates nothing.
CopyResult copy_valid(std::string_view in, char* out, std::size_t cap) noexcept;

}  // namespace pgcqrs::utf8
