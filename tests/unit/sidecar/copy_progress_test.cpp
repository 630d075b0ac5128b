// The copy's progress: its rate, the time left and its log line (snapshot/copy_progress.hpp).
#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

#include <gtest/gtest.h>

using pgcqrs::sidecar::snapshot::CopyProgress;

TEST(CopyProgress, TimeLeftAtTheRateSoFar) {
  CopyProgress p;
  p.expected = {1000, 100, 8900};
  p.copied = {1000, 100, 900};
  p.seconds = 4;
  p.running = true;
  EXPECT_EQ(p.copied_total(), 2000u);
  EXPECT_EQ(p.expected_total(), 10000u);
  EXPECT_DOUBLE_EQ(p.rows_per_second(), 500);
  EXPECT_DOUBLE_EQ(p.seconds_left(), 16);
  EXPECT_EQ(p.describe(), "1000 of 1000 users, 100 of 100 products, 900 of 8900 orders (500 rows/s, about 16 s left)");
}

TEST(CopyProgress, NothingLeftWhenDoneAndNoGuessBeforeTheFirstRow) {
  CopyProgress p;
  p.expected = {10, 0, 5};
  EXPECT_EQ(p.seconds_left(), 0);  // nothing copied: no rate yet
  p.seconds = 1;
  EXPECT_EQ(p.seconds_left(), 0);
  p.copied = {10, 0, 5};
  EXPECT_EQ(p.seconds_left(), 0);
  p.copied = {10, 0, 7};  // rows inserted under the snapshot cannot be; counted rows are a floor
  EXPECT_EQ(p.seconds_left(), 0);
}
