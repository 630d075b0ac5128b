#include "pgcqrs/boundary.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using pgcqrs::boundary::call;
using pgcqrs::boundary::last_error_message;

TEST(Boundary, ReturnsTrueWhenNothingThrows) {
  int ran = 0;
  EXPECT_TRUE(call([&] { ++ran; }));
  EXPECT_EQ(ran, 1);
}

TEST(Boundary, CatchesStandardExceptionsWithTheirMessage) {
  EXPECT_FALSE(call([] { throw std::runtime_error("user 42 is inactive"); }));
  EXPECT_STREQ(last_error_message, "user 42 is inactive");
}

TEST(Boundary, CatchesBadAllocAndForeignExceptions) {
  EXPECT_FALSE(call([] { throw std::bad_alloc(); }));
  EXPECT_STREQ(last_error_message, "out of memory in the pgcqrs C++ zone");
  EXPECT_FALSE(call([] { throw 7; }));
  EXPECT_STREQ(last_error_message, "unknown C++ exception");
}

TEST(Boundary, DestroysEveryObjectBeforeReturning) {
  // What the guard promises ereport: by the time call() returns, the lambda's objects are gone.
  static int alive = 0;
  struct Tracked {
    Tracked() { ++alive; }
    ~Tracked() { --alive; }
  };
  EXPECT_FALSE(call([] {
    Tracked a;
    std::vector<Tracked> many(3);
    throw std::runtime_error("boom");
  }));
  EXPECT_EQ(alive, 0);
}

TEST(Boundary, TruncatesLongMessagesSafely) {
  std::string long_message(2000, 'x');
  EXPECT_FALSE(call([&] { throw std::runtime_error(long_message); }));
  EXPECT_EQ(std::string(last_error_message), std::string(sizeof last_error_message - 1, 'x'));
}
