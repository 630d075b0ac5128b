#include "pgcqrs/core/utf8.hpp"

#include <gtest/gtest.h>

#include <vector>

#include <string>

using namespace pgcqrs;

namespace {

struct Copied {
  std::string text;
  utf8::CopyResult r;
};

Copied copy(std::string_view in, std::size_t cap) {
  std::string out(cap, '\0');
  auto r = utf8::copy_valid(in, out.data(), cap);
  out.resize(r.written);
  return {out, r};
}

}  // namespace

TEST(Utf8, SequenceLengthFollowsRfc3629) {
  EXPECT_EQ(utf8::sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8::sequence_length("\xC3\xA9", 0), 2u);
  EXPECT_EQ(utf8::sequence_length("\xE6\x97\xA5", 0), 3u);
  EXPECT_EQ(utf8::sequence_length("\xF0\x9F\x99\x82", 0), 4u);
  EXPECT_EQ(utf8::sequence_length("\xC0\x80", 0), 0u);          // overlong
  EXPECT_EQ(utf8::sequence_length("\xED\xA0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(utf8::sequence_length("\xF4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8::sequence_length("\xE6\x97", 0), 0u);          // incomplete
  EXPECT_EQ(utf8::sequence_length("\x81", 0), 0u);
}

TEST(Utf8, CutEndsOnACharacterBoundary) {
  std::string s = "ab\xE6\x97\xA5";  // 5 bytes
  EXPECT_EQ(utf8::cut(s, 5), 5u);
  EXPECT_EQ(utf8::cut(s, 9), 5u);
  EXPECT_EQ(utf8::cut(s, 4), 2u);
  EXPECT_EQ(utf8::cut(s, 3), 2u);
  EXPECT_EQ(utf8::cut(s, 2), 2u);
  EXPECT_EQ(utf8::cut(s, 0), 0u);
}

TEST(Utf8, CopyReplacesEachInvalidByteAndCountsThem) {
  auto c = copy("a\x81\xE6\x97\xA5\xFF\xE6\x97", 64);
  EXPECT_EQ(c.text, "a\xEF\xBF\xBD\xE6\x97\xA5\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(c.r.replaced, 4u);
  EXPECT_EQ(c.r.consumed, 8u);
}

TEST(Utf8, CopyStopsBeforeTheFirstCharacterThatDoesNotFit) {
  auto exact = copy("abc", 3);
  EXPECT_EQ(exact.text, "abc");
  EXPECT_EQ(exact.r.consumed, 3u);
  auto over = copy("abcd", 3);
  EXPECT_EQ(over.text, "abc");
  EXPECT_EQ(over.r.consumed, 3u);
  auto split = copy("ab\xE6\x97\xA5", 4);  // the 3-byte character does not fit whole
  EXPECT_EQ(split.text, "ab");
  EXPECT_EQ(split.r.consumed, 2u);
  auto replacement = copy("ab\x81", 4);     // nor does the U+FFFD for an invalid byte
  EXPECT_EQ(replacement.text, "ab");
  EXPECT_EQ(replacement.r.replaced, 0u);
  EXPECT_EQ(replacement.r.consumed, 2u);
}

TEST(Utf8, AppendWritesEachLengthOfSequence) {
  std::string out;
  for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) pgcqrs::utf8::append(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  std::vector<size_t> lengths;
  for (size_t i = 0; i < out.size(); i += lengths.back()) {
    lengths.push_back(pgcqrs::utf8::sequence_length(out, i));
    if (lengths.back() == 0) break;  // not well formed: the check below names it
  }
  EXPECT_EQ(lengths, (std::vector<size_t>{1, 2, 3, 4}));
}
