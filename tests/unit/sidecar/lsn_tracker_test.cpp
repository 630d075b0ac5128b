// Confirmations only after apply and, with a hold, after Redis's fsync window.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/replication/lsn_tracker.hpp"

using pgcqrs::sidecar::replication::LsnTracker;

TEST(LsnTracker, WithoutHoldFlushedFollowsApplied) {
  LsnTracker t(100, 0);
  t.on_received(500);
  EXPECT_EQ(t.written(), 500u);
  EXPECT_EQ(t.flushed(), 100u);
  t.on_applied(200, 0);
  EXPECT_EQ(t.applied(), 200u);
  EXPECT_EQ(t.flushed(), 200u);
  EXPECT_TRUE(t.all_flushed());
}

TEST(LsnTracker, HoldsConfirmationsPastTheFsyncWindow) {
  LsnTracker t(100, 2000);
  t.on_applied(200, 1000);
  t.on_applied(300, 1500);
  EXPECT_EQ(t.flushed(), 100u);
  EXPECT_FALSE(t.all_flushed());
  EXPECT_EQ(t.next_due_ms(), 3000);
  EXPECT_FALSE(t.tick(2999));
  EXPECT_TRUE(t.tick(3000));
  EXPECT_EQ(t.flushed(), 200u);
  EXPECT_TRUE(t.tick(4000));
  EXPECT_EQ(t.flushed(), 300u);
  EXPECT_TRUE(t.all_flushed());
  EXPECT_EQ(t.next_due_ms(), -1);
}

TEST(LsnTracker, IgnoresPositionsGoingBackwards) {
  LsnTracker t(100, 0);
  t.on_applied(300, 0);
  t.on_applied(200, 0);
  t.on_received(50);
  EXPECT_EQ(t.applied(), 300u);
  EXPECT_EQ(t.flushed(), 300u);
  EXPECT_EQ(t.written(), 300u);
}
