// The strict JSON reader (json_reader.hpp): scalars, strings and the skipping of nested values.
#include "pgcqrs/core/json_reader.hpp"

#include <array>
#include <charconv>
#include <cstring>

#include "pgcqrs/core/json_number.hpp"
#include "pgcqrs/core/utf8.hpp"

namespace pgcqrs::json {
namespace {

// The bytes a string's scan stops at: its closing quote, an escape, a control character
// (refused) and any byte of a multi-byte UTF-8 sequence (checked); plain ASCII runs through.
constexpr std::array<bool, 256> kStringStop = [] {
  std::array<bool, 256> stop{};
  for (size_t c = 0; c < stop.size(); ++c) stop[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return stop;
}();

// The high bit of each of the 8 bytes at p that kStringStop holds, all tested at once (the
// has-zero-byte and has-byte-below tests on a 64-bit word). A borrow only runs upwards, so
// the lowest bit set is exact; the ones above it may not be.
inline uint64_t stop_bits(const char* p) {
  constexpr uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  const uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((w - ones * 0x20) & ~w) | w) & high;
}

// The next byte at or after p that kStringStop holds, or end: a word at a time where a whole
// word is left (the first stop byte is the lowest bit set, little-endian).
inline const char* skip_plain(const char* p, const char* end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; end - p >= 8; p += 8)
    if (const uint64_t bits = stop_bits(p)) return p + __builtin_ctzll(bits) / 8;
#endif
  while (p < end && !kStringStop[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

constexpr char closer(char open) { return open == '{' ? '}' : ']'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool Reader::value(Value* v) {
  ws();
  if (at('{') || at('[')) {
    if (v) *v = Value{at('{') ? Kind::Object : Kind::Array};
    return skip_nested();
  }
  Value scratch;
  return scalar(v ? *v : scratch, v != nullptr);
}

// A nested array or object nobody reads, with a stack of its unclosed brackets instead of
// recursion.
bool Reader::skip_nested() {
  std::string open;  // innermost last
  Value scratch;
  auto member_name = [&] {
    if (!at('"')) return fail("expected a member name");
    if (!string(nullptr)) return false;
    ws();
    if (!at(':')) return fail("expected ':'");
    ++p_;
    ws();
    return true;
  };
  while (true) {
    // At a value.
    if (at('{') || at('[')) {
      const char bracket = *p_;
      if (!enter()) return false;
      open.push_back(bracket);
      ws();
      if (!at(closer(bracket))) {
        if (bracket == '{' && !member_name()) return false;
        continue;
      }
      leave();
      open.pop_back();
    } else if (!scalar(scratch, false)) {
      return false;
    }
    // After a value: close what ends here, then go on to the next member or element.
    while (true) {
      if (open.empty()) return true;
      ws();
      if (at(',')) {
        ++p_;
        ws();
        if (open.back() == '{' && !member_name()) return false;
        break;
      }
      if (!at(closer(open.back()))) return fail(open.back() == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
      leave();
      open.pop_back();
    }
  }
}

// At a scalar, whitespace skipped.
bool Reader::scalar(Value& v, bool want_text) {
  v = Value{};
  if (p_ == end_) return fail("expected a value");
  auto literal = [&](std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return fail("unexpected character");
    p_ += word.size();
    return true;
  };
  switch (*p_) {
    case '"':
      v.kind = Kind::String;
      return string(want_text ? &v.text : nullptr);
    case 't':
      v = Value{Kind::Bool, true};
      return literal("true");
    case 'f':
      v = Value{Kind::Bool, false};
      return literal("false");
    case 'n':
      v.kind = Kind::Null;
      return literal("null");
    default:
      if (*p_ == '-' || is_digit(*p_)) return number(v);
      return fail("unexpected character");
  }
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, within what a double holds.
bool Reader::number(Value& v) {
  const char* start = p_;
  const bool negative = at('-');
  if (negative) ++p_;
  auto digits = [&] {
    const char* from = p_;
    while (p_ < end_ && is_digit(*p_)) ++p_;
    return p_ != from;
  };
  if (at('0')) {
    ++p_;
  } else if (!digits()) {
    p_ = start;
    return fail("bad number");
  }
  bool integral = true;
  if (at('.')) {
    ++p_;
    if (!digits()) return fail("bad number");
    integral = false;
  }
  if (at('e') || at('E')) {
    ++p_;
    if (at('+') || at('-')) ++p_;
    if (!digits()) return fail("bad number");
    integral = false;
  }
  if (integral) {
    // An int64 if negative, else a uint64 (wrapped into the int64).
    bool fits;
    if (negative) {
      fits = std::from_chars(start, p_, v.integer).ec == std::errc();
    } else {
      uint64_t u = 0;
      fits = std::from_chars(start, p_, u).ec == std::errc();
      v.integer = static_cast<int64_t>(u);
    }
    if (fits) {
      v.kind = Kind::Int;
      return true;
    }
  }
  v.kind = Kind::Float;
  if (json_number_is_finite(std::string_view(start, static_cast<size_t>(p_ - start)))) return true;
  p_ = start;
  return fail("number out of range");
}

bool Reader::string(std::string_view* text) {
  const char* start = ++p_;
  const char* pending = start;  // bytes not yet appended to copy
  std::string* copy = nullptr;
  while (true) {
    p_ = skip_plain(p_, end_);
    if (p_ == end_) return fail("unterminated string");
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      if (text && copy) *text = copy->append(pending, p_);
      if (text && !copy) *text = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (text && !copy) copy = &decoded_.emplace_back();
      if (copy) copy->append(pending, p_);
      if (!escape(copy)) return false;
      pending = p_;
    } else if (c < 0x20) {
      return fail("control character in string");
    } else if (!utf8()) {
      return false;
    }
  }
}

// A backslash escape at the cursor, appended decoded to out (if given).
bool Reader::escape(std::string* out) {
  ++p_;
  if (p_ == end_) return fail("unterminated string");
  char c = *p_;
  switch (c) {
    case '"': case '\\': case '/': break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
      // \uXXXX; a UTF-16 surrogate pair makes one code point, a lone surrogate is an error.
      ++p_;
      uint32_t cp = 0;
      if (!hex4(cp)) return fail("bad \\u escape");
      if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired surrogate");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return fail("unpaired surrogate");
        p_ += 2;
        uint32_t low = 0;
        if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      if (out) utf8::append(*out, cp);
      return true;
    }
    default:
      return fail("bad escape");
  }
  ++p_;
  if (out) out->push_back(c);
  return true;
}

// Four hex digits at the cursor, passed only when all four are.
bool Reader::hex4(uint32_t& cp) {
  if (end_ - p_ < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p_[i];
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return false;
    v = v << 4 | d;
  }
  cp = v;
  p_ += 4;
  return true;
}

// One multi-byte UTF-8 sequence at the cursor, well-formed per RFC 3629 (no overlong forms,
// surrogates or code points above U+10FFFF).
bool Reader::utf8() {
  const char* lead_at = p_;
  const auto lead = static_cast<unsigned char>(*p_++);
  unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
  int continuations = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuations = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuations = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuations = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  }
  bool ok = continuations > 0;
  for (int i = 0; ok && i < continuations; ++i, lo = 0x80, hi = 0xBF) {
    const auto c = p_ < end_ ? static_cast<unsigned char>(*p_++) : 0;
    ok = c >= lo && c <= hi;
  }
  if (ok) return true;
  p_ = lead_at;
  return fail("invalid UTF-8");
}

}  // namespace pgcqrs::json
