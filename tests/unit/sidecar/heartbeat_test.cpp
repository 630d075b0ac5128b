// What the heartbeat's schedule says is due, tick by tick, without a server.
#include "pgcqrs/sidecar/heartbeat.hpp"

#include <gtest/gtest.h>

namespace pgcqrs::sidecar {
namespace {

using Due = HeartbeatSchedule::Due;

TEST(HeartbeatSchedule, WatchesTheSlotAtOnceThenEveryFewSeconds) {
  HeartbeatSchedule s(0, 1000);  // no heartbeat
  s.report_started(1000 + HeartbeatSchedule::kSlotWatchMs);  // not due in this test
  EXPECT_EQ(s.next(1000), Due::slot_watch);
  s.slot_watched(1000);
  EXPECT_EQ(s.next(1000 + HeartbeatSchedule::kSlotWatchMs - 1), Due::nothing);
  EXPECT_EQ(s.next(1000 + HeartbeatSchedule::kSlotWatchMs), Due::slot_watch);
  EXPECT_EQ(s.next(1000000), Due::slot_watch);  // never a heartbeat when disabled
}

TEST(HeartbeatSchedule, BeatsOnlyAfterAPeriodWithoutData) {
  HeartbeatSchedule s(10000, 0);
  s.report_started(100000);  // not due in this test
  s.slot_watched(0);
  s.data_seen(5000);
  s.slot_watched(5000);
  EXPECT_EQ(s.next(9999), Due::nothing);
  EXPECT_EQ(s.next(10000), Due::slot_watch);  // data 5 s ago: no heartbeat
  s.slot_watched(10000);
  EXPECT_EQ(s.next(14999), Due::nothing);
  EXPECT_EQ(s.next(15000), Due::slot_watch);
  s.slot_watched(15000);
  EXPECT_EQ(s.next(15000), Due::heartbeat);  // 10 s without data nor heartbeat
}

TEST(HeartbeatSchedule, TheSlotWatchAndTheReportGoFirstTheHeartbeatStaysDueUntilSent) {
  HeartbeatSchedule s(1000, 0);
  EXPECT_EQ(s.next(1000), Due::slot_watch);  // all due: the heartbeat waits its turn
  s.slot_watched(1000);
  EXPECT_EQ(s.next(1000), Due::report);
  s.report_started(1000);
  EXPECT_EQ(s.next(1000), Due::heartbeat);
  EXPECT_EQ(s.next(1500), Due::heartbeat);  // not sent (the channel was busy): still due
  s.heartbeat_sent(1500);
  EXPECT_EQ(s.next(2499), Due::nothing);
  EXPECT_EQ(s.next(2500), Due::heartbeat);  // idle: one per period
  s.heartbeat_sent(2500);
  EXPECT_EQ(s.next(6000), Due::slot_watch);  // each takes a turn, however often the heartbeat
  s.slot_watched(6000);
  EXPECT_EQ(s.next(6000), Due::report);
}

TEST(HeartbeatSchedule, ReportsTheProgressAfterTheSlotWatchThenEveryFewSeconds) {
  HeartbeatSchedule s(0, 0);
  EXPECT_EQ(s.next(0), Due::slot_watch);  // both due: the watch first
  s.slot_watched(0);
  EXPECT_EQ(s.next(0), Due::report);
  s.report_started(0);
  EXPECT_EQ(s.next(HeartbeatSchedule::kReportMs - 1), Due::nothing);
  s.slot_watched(HeartbeatSchedule::kReportMs);
  EXPECT_EQ(s.next(HeartbeatSchedule::kReportMs), Due::report);
}

}  // namespace
}  // namespace pgcqrs::sidecar
