#include "pgcqrs/json.hpp"

#include <gtest/gtest.h>

using pgcqrs::json::append_string;

namespace {
std::string quoted(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}
}  // namespace

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(quoted("l1\nl2\r\t\b\f"), R"("l1\nl2\r\t\b\f")");
  EXPECT_EQ(quoted(std::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(quoted("\x7f"), "\"\x7f\"");
}

TEST(JsonString, PassesValidUtf8Through) {
  EXPECT_EQ(quoted("Zoë ☕ 𝄞"), "\"Zoë ☕ 𝄞\"");
}

TEST(JsonString, ReplacesEachInvalidByteWithReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(quoted("a\xff" "b"), "\"a" + fffd + "b\"");
  EXPECT_EQ(quoted("\xC0\xAF"), "\"" + fffd + fffd + "\"");            // overlong '/'
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");  // surrogate
  EXPECT_EQ(quoted("\xE2\x98"), "\"" + fffd + fffd + "\"");            // truncated
  EXPECT_EQ(quoted("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
}

TEST(JsonKey, AddsCommaOnlyAfterAValue) {
  std::string out = "{";
  pgcqrs::json::append_key(out, "a");
  pgcqrs::json::append_int(out, -9223372036854775807LL - 1);
  pgcqrs::json::append_key(out, "b");
  out += "[";
  pgcqrs::json::append_key(out, "c");
  EXPECT_EQ(out, R"({"a":-9223372036854775808,"b":["c":)");
}
