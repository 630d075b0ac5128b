// One strict RFC 8259 reader for both sides of the stream: the plugin checks an application
// message's payload with it, the sidecar reads the plugin's messages with it, so a text one
// side accepts the other accepts too. It reads at a cursor; the caller walks the objects and
// arrays it looks into with callbacks, and every other value is checked and skipped, without
// recursion. Containers nest at most kMaxDepth deep below the top-level value. Strings are
// views of the input, or of a decoded copy once an escape turns up.
//
// Every function returns false on malformed input; error() then says what was wrong and
// error_offset() where (the input's size: at its end). The first failure is the one kept.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>

namespace pgcqrs::json {

enum class Kind : uint8_t { Missing, Null, Bool, Int, Float, String, Array, Object };

struct Value {
  Kind kind = Kind::Missing;
  bool boolean = false;
  // Int: a number without fraction or exponent that fits an int64, or a uint64 (wrapped).
  int64_t integer = 0;
  std::string_view text;  // String
};

class Reader {
 public:
  static constexpr int kMaxDepth = 64;  // containers below the top-level value

  // `decoded` keeps the decoded copies of strings with escapes; a list, so that views into
  // them stay valid while more are added.
  Reader(std::string_view input, std::list<std::string>& decoded)
      : begin_(input.data()), p_(input.data()), end_(input.data() + input.size()), decoded_(decoded) {}

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool at(char c) const { return p_ < end_ && *p_ == c; }
  bool at_end() const { return p_ == end_; }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }

  // Records what is wrong at the cursor, unless a failure is already recorded; returns false.
  bool fail(const char* what) {
    if (!error_) {
      error_ = what;
      error_offset_ = offset();
    }
    return false;
  }
  const char* error() const { return error_; }
  size_t error_offset() const { return error_offset_; }

  // '{' ... '}' at the cursor, calling member(name) with the cursor on each member's value.
  template <class OnMember>
  bool object(OnMember&& member) {
    if (!enter()) return false;
    ws();
    if (at('}')) return leave();
    while (true) {
      std::string_view name;
      if (!at('"')) return fail("expected a member name");
      if (!string(&name)) return false;
      ws();
      if (!at(':')) return fail("expected ':'");
      ++p_;
      ws();
      if (!member(name)) return false;
      ws();
      if (at('}')) return leave();
      if (!at(',')) return fail("expected ',' or '}'");
      ++p_;
      ws();
    }
  }

  // '[' ... ']' at the cursor, calling element() with the cursor on each element.
  template <class OnElement>
  bool array(OnElement&& element) {
    if (!enter()) return false;
    ws();
    if (at(']')) return leave();
    while (true) {
      if (!element()) return false;
      ws();
      if (at(']')) return leave();
      if (!at(',')) return fail("expected ',' or ']'");
      ++p_;
      ws();
    }
  }

  // Any value at the cursor; v (if given) gets its kind and, for a scalar, its content. An
  // object or an array is checked and skipped.
  bool value(Value* v);

 private:
  // A string at its opening quote; its text if wanted.
  bool string(std::string_view* text);
  // The cursor is on '{' or '[': one level deeper, if allowed.
  bool enter() {
    if (depth_ > kMaxDepth) return fail("nesting too deep");
    ++depth_;
    ++p_;
    return true;
  }
  bool leave() {
    ++p_;
    --depth_;
    return true;
  }
  bool skip_nested();
  bool scalar(Value& v, bool want_text);
  bool number(Value& v);
  bool escape(std::string* out);
  bool hex4(uint32_t& cp);
  bool utf8();

  const char* begin_;
  const char* p_;
  const char* end_;
  std::list<std::string>& decoded_;
  int depth_ = 0;  // containers open
  const char* error_ = nullptr;
  size_t error_offset_ = 0;
};

}  // namespace pgcqrs::json
