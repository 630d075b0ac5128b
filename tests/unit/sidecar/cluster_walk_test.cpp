// TRUNCATE's walk over the masters of the buckets' slots on a cluster (cluster/walk.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "pgcqrs/sidecar/cluster/walk.hpp"
#include "pgcqrs/sidecar/redis/key_slot.hpp"

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

uint16_t slot_of(int bucket) { return pgcqrs::sidecar::redis::key_slot("{" + std::to_string(bucket) + "}"); }

std::string owner_by_slots(uint16_t slot) { return slot <= 5460 ? "b1" : slot <= 10922 ? "a2" : "c3"; }

uint64_t buckets_of(const std::string& id) {
  uint64_t m = 0;
  for (int b = 0; b < 64; ++b)
    if (owner_by_slots(slot_of(b)) == id) m |= uint64_t{1} << b;
  return m;
}

// A whole walk under a layout that may change between pages: the masters SCANned, in order.
std::vector<std::string> walk(const std::function<Layout(int page)>& layout_at, int pages_per_master = 2) {
  std::vector<std::string> scanned;
  WalkCursor c = parse_walk_cursor("0");
  for (int page = 0; page < 100; ++page) {
    auto at = before_page(c, layout_at(page));
    if (!at) break;
    if (scanned.empty() || scanned.back() != at->master || at->cursor == "0") scanned.push_back(at->master);
    const int n = at->cursor == "0" ? 1 : std::stoi(at->cursor) + 1;
    c = after_page(*at, layout_at(page), n >= pages_per_master ? "0" : std::to_string(n));
    if (format_walk_cursor(c) == "0") return scanned;
    c = parse_walk_cursor(format_walk_cursor(c));  // through the checkpoint's text
  }
  scanned.push_back("(no end)");
  return scanned;
}

}  // namespace

TEST(ClusterWalk, TheLayoutSaysWhoServesEachBucket) {
  const Layout l = parse_layout(kNodes);
  for (int b = 0; b < 64; ++b) EXPECT_EQ(l.owner[b], owner_by_slots(slot_of(b))) << b;
  EXPECT_EQ(l.migrating, 0u);
  EXPECT_EQ(l.held_by("a2"), buckets_of("a2"));
  EXPECT_EQ(l.held_by("r1"), 0u);  // a replica serves nothing
}

TEST(ClusterWalk, AQuietClusterIsWalkedOnceMasterByMaster) {
  const Layout l = parse_layout(kNodes);
  // Bucket 0's master first, then the master of the first bucket left.
  auto scanned = walk([&](int) { return l; });
  ASSERT_EQ(scanned.size(), 3u);
  EXPECT_EQ(scanned[0], owner_by_slots(slot_of(0)));
  std::sort(scanned.begin(), scanned.end());
  EXPECT_EQ(scanned, (std::vector<std::string>{"a2", "b1", "c3"}));
}

TEST(ClusterWalk, ABucketThatMovesToAMasterAlreadyWalkedIsWalkedThereAgain) {
  const Layout quiet = parse_layout(kNodes);
  const std::string first = owner_by_slots(slot_of(0));
  // After the first master's walk, a bucket of a master not walked yet moves to it.
  int moved = -1;
  for (int b = 0; b < 64 && moved < 0; ++b)
    if (owner_by_slots(slot_of(b)) != first) moved = b;
  Layout after = quiet;
  after.owner[moved] = first;
  auto scanned = walk([&](int page) { return page < 2 ? quiet : after; });
  // The first master, the two others, and the first again for the bucket that arrived after
  // its walk: four walks, in some order after the first.
  EXPECT_EQ(scanned.front(), first);
  EXPECT_EQ(scanned.size(), 4u);
  EXPECT_EQ(std::count(scanned.begin(), scanned.end(), first), 2);
}

TEST(ClusterWalk, AMigratingBucketIsNotDoneUntilItsSlotStaysPut) {
  std::string migrating = kNodes;
  const uint16_t s = slot_of(5);
  const std::string from = owner_by_slots(s), to = from == "a2" ? "c3" : "a2";
  // "[N->-id]" on the source's line.
  const size_t line = migrating.find(from + " ");
  const size_t eol = migrating.find('\n', line);
  migrating.insert(eol, " [" + std::to_string(s) + "->-" + to + "]");
  const Layout l = parse_layout(migrating);
  EXPECT_EQ(l.migrating, uint64_t{1} << 5);
  EXPECT_EQ(l.held_by(from) >> 5 & 1, 0u);
  // While it migrates, the walk does not end; once done, it does.
  auto endless = walk([&](int) { return l; });
  EXPECT_EQ(endless.back(), "(no end)");
  const Layout quiet = parse_layout(kNodes);
  auto scanned = walk([&](int page) { return page < 6 ? l : quiet; });
  EXPECT_NE(scanned.back(), "(no end)");
}

TEST(ClusterWalk, AFailoverStartsTheNewMastersScanAnew) {
  const Layout quiet = parse_layout(kNodes);
  WalkCursor c = *before_page(parse_walk_cursor("0"), quiet);
  c = after_page(c, quiet, "17");
  EXPECT_EQ(c.cursor, "17");
  // Its replica takes over: same buckets, another id.
  Layout promoted = quiet;
  const std::string old = c.master;
  for (auto& o : promoted.owner)
    if (o == old) o = "r9";
  auto next = before_page(c, promoted);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->master, "r9");
  EXPECT_EQ(next->cursor, "0");
}

TEST(ClusterWalk, CursorsRoundTripAndOthersStartTheWalk) {
  WalkCursor c;
  c.done = 0x5;
  c.held = 0xf0;
  c.master = "9f3a";
  c.cursor = "1536";
  EXPECT_EQ(format_walk_cursor(c), "w5.f0.9f3a.1536");
  const WalkCursor back = parse_walk_cursor("w5.f0.9f3a.1536");
  EXPECT_EQ(back.done, 5u);
  EXPECT_EQ(back.held, 0xf0u);
  EXPECT_EQ(back.master, "9f3a");
  EXPECT_EQ(back.cursor, "1536");
  c.done = kAllBuckets;
  EXPECT_EQ(format_walk_cursor(c), "0");
  for (const char* other : {"0", "17", "", "w", "w5.f0.9f3a", "w5.f0.9F3A.1", "wx.0..0", "w5.f0.9f3a.", "w5.f0.9f3a.1x"}) {
    const WalkCursor start = parse_walk_cursor(other);
    EXPECT_EQ(start.done, 0u) << other;
    EXPECT_EQ(start.master, "") << other;
  }
  EXPECT_EQ(parse_walk_cursor("w0.0..0").master, "");  // between two masters
}
