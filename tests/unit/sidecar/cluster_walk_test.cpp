// TRUNCATE's walk over a cluster's masters: the layout it runs under and its cursor.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/cluster/walk.hpp"

using namespace pgcqrs::sidecar::cluster;

namespace {

// CLUSTER NODES of three masters with a replica each (as Redis 7.0 prints it).
const char* kNodes =
    "b1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460\n"
    "a2 127.0.0.1:7002@17002 master - 0 1700000000000 2 connected 5461-10922\n"
    "c3 127.0.0.1:7003@17003 master - 0 1700000000000 3 connected 10923-16383\n"
    "r1 127.0.0.1:7004@17004 slave b1 0 1700000000000 1 connected\n"
    "r2 127.0.0.1:7005@17005 slave a2 0 1700000000000 2 connected\n"
    "r3 127.0.0.1:7006@17006 slave c3 0 1700000000000 3 connected\n";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

}  // namespace

TEST(ClusterWalk, TheMastersWithSlotsInIdOrder) {
  auto layout = parse_layout(kNodes);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->masters, (std::vector<std::string>{"a2", "b1", "c3"}));
  EXPECT_EQ(layout->digest.size() > 0, true);
}

TEST(ClusterWalk, TheDigestIgnoresTimingsRolesOfReplicasAndLineOrder) {
  const auto a = parse_layout(kNodes);
  // Another node's view: other ping times, another "myself", lines in another order.
  const std::string other =
      "r3 127.0.0.1:7006@17006 slave c3 0 1700000009999 3 connected\n"
      "c3 127.0.0.1:7003@17003 myself,master - 0 0 3 connected 10923-16383\n"
      "a2 127.0.0.1:7002@17002 master - 0 1700000005555 2 connected 5461-10922\n"
      "b1 127.0.0.1:7001@17001 master - 0 1700000005555 1 connected 0-5460\n"
      "r1 127.0.0.1:7004@17004 slave b1 0 1700000000000 1 disconnected\n"
      "r2 127.0.0.1:7005@17005 slave a2 0 1700000000000 2 connected\n";
  EXPECT_EQ(parse_layout(other)->digest, a->digest);
}

TEST(ClusterWalk, TheDigestChangesWhenASlotMovesOrMigratesOrAReplicaTakesOver) {
  const std::string base = parse_layout(kNodes)->digest;
  // One slot moved from b1 to a2.
  const std::string moved = replaced(replaced(kNodes, "0-5460", "0-5459"), "5461-10922", "5460-10922");
  EXPECT_NE(parse_layout(moved)->digest, base);
  // Slot 100 migrating from b1 to a2 (the keys move before the slot does).
  const std::string migrating = replaced(replaced(kNodes, "0-5460", "0-5460 [100->-a2]"), "5461-10922", "5461-10922 [100-<-b1]");
  EXPECT_NE(parse_layout(migrating)->digest, base);
  // r1 promoted: b1 failed, without slots.
  std::string promoted = replaced(kNodes, "b1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460",
                                  "b1 127.0.0.1:7001@17001 master,fail - 0 0 1 disconnected");
  promoted = replaced(promoted, "r1 127.0.0.1:7004@17004 slave b1 0 1700000000000 1 connected",
                      "r1 127.0.0.1:7004@17004 master - 0 1700000000000 4 connected 0-5460");
  const auto p = parse_layout(promoted);
  EXPECT_NE(p->digest, base);
  EXPECT_EQ(p->masters, (std::vector<std::string>{"a2", "c3", "r1"}));
}

TEST(ClusterWalk, NoMasterWithSlotsIsNoLayout) {
  EXPECT_FALSE(parse_layout(""));
  EXPECT_FALSE(parse_layout("b1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected\n"));
}

TEST(ClusterWalk, CursorsRoundTripAndOthersStartTheWalk) {
  WalkCursor c{"9f3a", 2, "1536"};
  EXPECT_EQ(format_walk_cursor(c), "c9f3a.2.1536");
  auto back = parse_walk_cursor("c9f3a.2.1536");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->digest, "9f3a");
  EXPECT_EQ(back->master, 2u);
  EXPECT_EQ(back->cursor, "1536");
  for (const char* other : {"0", "17", "", "c", "c.1.0", "c9f3a.x.0", "c9f3a.1", "c9f3a.1.", "c9f3a.1.2x"})
    EXPECT_FALSE(parse_walk_cursor(other)) << other;
}
