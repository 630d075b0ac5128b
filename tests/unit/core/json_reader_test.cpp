// core's strict JSON reader as its callers walk it: members and elements at the cursor, the
// kinds and contents of scalars, the nesting limit, and what a failure says and where. The
// messages each side builds on it are tested beside them (app_message_test, event_test).
#include "pgcqrs/core/json_reader.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <list>
#include <map>
#include <string>
#include <vector>

using pgcqrs::json::Kind;
using pgcqrs::json::Reader;
using pgcqrs::json::Value;

namespace {

// The top-level object's members as the reader gives them, or the failure "what at offset".
struct Read {
  std::map<std::string, Value> members;
  std::string failure;
  std::list<std::string> decoded;  // what the members' texts may view
};

void read_object(const std::string& in, Read& out) {
  Reader r(in, out.decoded);
  r.ws();
  const bool ok = r.at('{') && r.object([&](std::string_view name) { return r.value(&out.members[std::string(name)]); });
  if (!ok) out.failure = std::string(r.error() ? r.error() : "not an object") + " at " + std::to_string(r.error_offset());
}

}  // namespace

TEST(JsonReader, GivesEachMembersKindAndContent) {
  Read r;
  read_object(R"({"s":"a\"b\u00e9","i":-42,"u":18446744073709551615,"f":1.5e3,"t":true,"n":null,"o":{"x":[1]},"a":[]})", r);
  ASSERT_EQ(r.failure, "");
  EXPECT_EQ(r.members["s"].kind, Kind::String);
  EXPECT_EQ(r.members["s"].text, "a\"b\xC3\xA9");
  EXPECT_EQ(r.members["i"].kind, Kind::Int);
  EXPECT_EQ(r.members["i"].integer, -42);
  EXPECT_EQ(r.members["u"].kind, Kind::Int);  // a uint64, wrapped
  EXPECT_EQ(r.members["u"].integer, -1);
  EXPECT_EQ(r.members["f"].kind, Kind::Float);
  EXPECT_EQ(r.members["t"].kind, Kind::Bool);
  EXPECT_TRUE(r.members["t"].boolean);
  EXPECT_EQ(r.members["n"].kind, Kind::Null);
  EXPECT_EQ(r.members["o"].kind, Kind::Object);
  EXPECT_EQ(r.members["a"].kind, Kind::Array);
}

TEST(JsonReader, WalksTheArraysItIsAskedTo) {
  std::list<std::string> decoded;
  const std::string in = R"([ "a" , {"k":2} , 3 ])";
  Reader r(in, decoded);
  std::vector<Kind> kinds;
  ASSERT_TRUE(r.array([&] {
    Value v;
    if (!r.value(&v)) return false;
    kinds.push_back(v.kind);
    return true;
  }));
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::String, Kind::Object, Kind::Int}));
}

// Below the top-level object, 64 containers are read and the 65th is refused where it opens,
// in a skipped value and in one walked with callbacks alike.
TEST(JsonReader, NestsUpToItsLimit) {
  const std::string head = R"({"x":)";
  auto nested = [&](size_t n) { return head + std::string(n, '[') + std::string(n, ']') + "}"; };
  Read ok, deep;
  read_object(nested(Reader::kMaxDepth), ok);
  EXPECT_EQ(ok.failure, "");
  read_object(nested(Reader::kMaxDepth + 1), deep);
  EXPECT_EQ(deep.failure, "nesting too deep at " + std::to_string(head.size() + Reader::kMaxDepth));

  std::list<std::string> decoded;
  const std::string walked = std::string(Reader::kMaxDepth + 2, '[');
  Reader r(walked, decoded);
  std::function<bool()> descend = [&] { return r.array(descend); };
  EXPECT_FALSE(descend());
  EXPECT_STREQ(r.error(), "nesting too deep");
  EXPECT_EQ(r.error_offset(), Reader::kMaxDepth + 1u);
}

TEST(JsonReader, SaysWhatFailedFirstAndWhere) {
  struct Case {
    std::string in, failure;
  };
  const Case cases[] = {
      {R"({"a":)", "expected a value at 5"},
      {R"({"a":1,})", "expected a member name at 7"},
      {R"({"a" 1})", "expected ':' at 5"},
      {R"({"a":[1 2]})", "expected ',' or ']' at 8"},
      {R"({"a":tru})", "unexpected character at 5"},
      {R"({"a":-})", "bad number at 5"},
      {R"({"a":1.})", "bad number at 7"},
      {R"({"a":1e400})", "number out of range at 5"},
      {R"({"a":"x)", "unterminated string at 7"},
      {R"({"a":"\q"})", "bad escape at 7"},
      {R"({"a":"\u12G4"})", "bad \\u escape at 8"},
      {R"({"a":"\udc00"})", "unpaired surrogate at 12"},
      {"{\"a\":\"x\xC3\"}", "invalid UTF-8 at 7"},
      {"{\"a\":\"\x01\"}", "control character in string at 6"},
  };
  for (const auto& c : cases) {
    Read r;
    read_object(c.in, r);
    EXPECT_EQ(r.failure, c.failure) << c.in;
  }
}
