// LSN text both ways (see lsn.hpp).
#include "pgcqrs/core/lsn.hpp"

#include <charconv>

namespace pgcqrs {

std::string format_lsn(uint64_t lsn) {
  static constexpr char hex[] = "0123456789ABCDEF";
  char buf[20];
  char* p = buf;
  auto half = [&p](uint32_t v) {
    int shift = 28;
    while (shift > 0 && ((v >> shift) & 0xF) == 0) shift -= 4;  // no leading zeros
    for (; shift >= 0; shift -= 4) *p++ = hex[(v >> shift) & 0xF];
  };
  half(static_cast<uint32_t>(lsn >> 32));
  *p++ = '/';
  half(static_cast<uint32_t>(lsn));
  return std::string(buf, p);
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
