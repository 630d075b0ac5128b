// UTF-8 well-formedness, cutting and repair (see utf8.hpp).
#include "pgcqrs/core/utf8.hpp"

#include <cstring>

namespace pgcqrs::utf8 {

std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

std::size_t cut(std::string_view s, std::size_t limit) noexcept {
  if (s.size() <= limit) return s.size();
  std::size_t end = limit;
  // Back off over continuation bytes to the start of the character that would not fit.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return end;
}

CopyResult copy_valid(std::string_view in, char* out, std::size_t cap) noexcept {
  CopyResult r;
  while (r.consumed < in.size()) {
    // The longest run of ASCII first: the common case, copied in one go.
    std::size_t run = r.consumed;
    std::size_t room = cap - r.written;
    std::size_t stop = in.size() - run < room ? in.size() : run + room;
    while (run < stop && static_cast<unsigned char>(in[run]) < 0x80) ++run;
    std::memcpy(out + r.written, in.data() + r.consumed, run - r.consumed);
    r.written += run - r.consumed;
    r.consumed = run;
    if (r.consumed == in.size() || r.written == cap) break;
    if (static_cast<unsigned char>(in[r.consumed]) < 0x80) continue;
    std::size_t n = sequence_length(in, r.consumed);
    std::string_view piece = n ? in.substr(r.consumed, n) : replacement;
    if (piece.size() > cap - r.written) break;
    std::memcpy(out + r.written, piece.data(), piece.size());
    r.written += piece.size();
    r.consumed += n ? n : 1;
    if (!n) ++r.replaced;
  }
  return r;
}

void append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace pgcqrs::utf8
