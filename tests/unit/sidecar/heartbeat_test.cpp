// What the heartbeat's schedule says is due, tick by tick, without a server.
#include "pgcqrs/sidecar/heartbeat.hpp"

#include <gtest/gtest.h>

namespace pgcqrs::sidecar {
namespace {

using Due = HeartbeatSchedule::Due;

TEST(HeartbeatSchedule, WatchesTheSlotAtOnceThenEveryFewSeconds) {
  HeartbeatSchedule s(0, 1000);  // no heartbeat
  EXPECT_EQ(s.next(1000), Due::slot_watch);
  s.slot_watched(1000);
  EXPECT_EQ(s.next(1000 + HeartbeatSchedule::kSlotWatchMs - 1), Due::nothing);
  EXPECT_EQ(s.next(1000 + HeartbeatSchedule::kSlotWatchMs), Due::slot_watch);
  EXPECT_EQ(s.next(1000000), Due::slot_watch);  // never a heartbeat when disabled
}

TEST(HeartbeatSchedule, BeatsOnlyAfterAPeriodWithoutData) {
  HeartbeatSchedule s(10000, 0);
  s.slot_watched(0);
  s.data_seen(5000);
  s.slot_watched(5000);
  EXPECT_EQ(s.next(9999), Due::nothing);
  EXPECT_EQ(s.next(10000), Due::slot_watch);  // data 5 s ago: no heartbeat
  s.slot_watched(10000);
  EXPECT_EQ(s.next(14999), Due::nothing);
  EXPECT_EQ(s.next(15000), Due::heartbeat);  // 10 s without data nor heartbeat
}

TEST(HeartbeatSchedule, HeartbeatComesBeforeTheSlotWatchAndStaysDueUntilSent) {
  HeartbeatSchedule s(1000, 0);
  EXPECT_EQ(s.next(1000), Due::heartbeat);  // both due: the heartbeat first
  EXPECT_EQ(s.next(1500), Due::heartbeat);  // not sent (the channel was busy): still due
  s.heartbeat_sent(1500);
  EXPECT_EQ(s.next(1500), Due::slot_watch);
  s.slot_watched(1500);
  EXPECT_EQ(s.next(2499), Due::nothing);
  EXPECT_EQ(s.next(2500), Due::heartbeat);  // idle: one per period
}

}  // namespace
}  // namespace pgcqrs::sidecar
