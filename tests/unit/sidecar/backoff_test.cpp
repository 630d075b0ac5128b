#include "pgcqrs/sidecar/backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

using pgcqrs::sidecar::Backoff;

TEST(Backoff, DoublesUpToTheCapWhileSessionsFailFast) {
  Backoff b;
  std::vector<int64_t> got;
  // Sessions that fail before streaming, or a few seconds after it started (a slot that
  // errors on its first change), do not reset it.
  for (int64_t streamed : {0, 0, 5000, 100, 59999, 0, 0, 0, 0, 0})
    got.push_back(b.next(streamed));
  EXPECT_EQ(got, (std::vector<int64_t>{250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000}));
}

TEST(Backoff, ResetsAfterAHealthyStream) {
  Backoff b;
  for (int i = 0; i < 6; ++i) b.next(0);
  EXPECT_EQ(b.next(60000), 250);
  EXPECT_EQ(b.next(0), 500);
}
