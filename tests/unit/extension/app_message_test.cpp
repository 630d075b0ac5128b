#include "pgcqrs/app_message.hpp"

#include <gtest/gtest.h>

using pgcqrs::check_app_message;

TEST(AppMessage, AcceptsObjectWithTypeString) {
  auto c = check_app_message(R"( {"type":"CartAbandoned","cart":7,"tags":["a",{"b":null}],"x":-1.5e3,"tiny":1e-400} )");
  EXPECT_TRUE(c.valid) << c.reason;
  EXPECT_EQ(c.type, "CartAbandoned");
}

TEST(AppMessage, DecodesEscapesInType) {
  auto c = check_app_message(R"({"type":"Caf\u00e9\ud834\udd1e"})");
  EXPECT_TRUE(c.valid) << c.reason;
  EXPECT_EQ(c.type, "Café𝄞");
}

TEST(AppMessage, OnlyTopLevelTypeCounts) {
  auto c = check_app_message(R"({"inner":{"type":"X"}})");
  EXPECT_FALSE(c.valid);
  EXPECT_EQ(c.reason, "payload has no \"type\" string member");
}

TEST(AppMessage, ExplainsEachKindOfInvalidPayload) {
  struct Case { const char* in; const char* reason; };
  const Case cases[] = {
      {"", "payload is empty"},
      {"   ", "payload is empty"},
      {"[1]", "payload is not a JSON object"},
      {R"({"type":)", "payload is not valid JSON: expected a value at end of input"},
      {R"({"type":"A",})", "payload is not valid JSON: expected a member name at byte 12"},
      {R"({"type":"A"} x)", "payload is not valid JSON: unexpected data after the JSON object at byte 13"},
      {R"({"type":"A","n":01})", "payload is not valid JSON: expected ',' or '}' at byte 17"},
      {R"({"type":"A","s":"\x"})", "payload is not valid JSON: bad escape at byte 18"},
      {"{\"type\":\"A\",\"s\":\"\n\"}", "payload is not valid JSON: control character in string at byte 17"},
      {"{\"type\":\"\xff\"}", "payload is not valid JSON: invalid UTF-8 at byte 9"},
      {R"({"type":"A","s":"\ud800"})", "payload is not valid JSON: unpaired surrogate at byte 23"},
      // The sidecar reads numbers as doubles: one that overflows is refused here, not there.
      {R"({"type":"A","n":1e400})", "payload is not valid JSON: number out of range at byte 16"},
      {R"({"type":"A","n":[-2e308]})", "payload is not valid JSON: number out of range at byte 17"},
      {R"({"type":""})", "payload \"type\" is empty"},
      {R"({"type":7})", "payload has no \"type\" string member"},
      {R"({"type":"OrderPlaced"})", "payload \"type\" \"OrderPlaced\" is reserved for pgcqrs events"},
      {R"({"type":"commit"})", "payload \"type\" \"commit\" is reserved for pgcqrs events"},
  };
  for (const auto& c : cases) {
    auto r = check_app_message(c.in);
    EXPECT_FALSE(r.valid) << c.in;
    EXPECT_EQ(r.reason, c.reason) << c.in;
  }
}

TEST(AppMessage, RefusesDeepNestingWithoutRecursingIntoIt) {
  std::string deep = R"({"type":"A","x":)" + std::string(100000, '[');
  auto r = check_app_message(deep);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.reason, "payload is not valid JSON: nesting too deep at byte 80");
}
