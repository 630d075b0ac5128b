// A batch's writes cut into one MULTI/EXEC per hash slot with the slot's fence, and the tags
// that put a fence into each slot.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/sidecar/redis/slot_split.hpp"

using namespace pgcqrs::sidecar::redis;

TEST(SlotSplit, ATagForEverySlot) {
  size_t longest = 0;
  for (uint32_t s = 0; s < kSlotCount; ++s) {
    auto slot = static_cast<uint16_t>(s);
    ASSERT_EQ(key_slot(slot_tag(slot)), slot);
    ASSERT_EQ(key_slot(fence_key("app1:", slot)), slot);
    longest = std::max(longest, slot_tag(slot).size());
  }
  EXPECT_LE(longest, 6u);
  EXPECT_EQ(fence_key("", key_slot("0")), "pgcqrs:fence:{0}");
}

TEST(SlotSplit, OneTransactionPerSlotInTheOrderWritten) {
  RespWriter w;
  w.cmd("HSET", "user:{7}", "name", "Ada");
  w.cmd("SADD", "other:{8}", "1");
  w.cmd("LPUSH", "user_latest:{7}", "x");
  w.cmd("DEL", "{8}:gone");
  w.cmd("LTRIM", "user_latest:{7}", "0", "9");
  auto t = split_by_slot(w.buffer(), w.starts(), "", {"lsn", "0/16B3748"});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].slot, key_slot("7"));
  EXPECT_EQ(t[0].commands, 4u);
  RespWriter first;
  first.cmd("MULTI");
  first.cmd("HSET", "user:{7}", "name", "Ada");
  first.cmd("LPUSH", "user_latest:{7}", "x");
  first.cmd("LTRIM", "user_latest:{7}", "0", "9");
  first.cmd("HSET", fence_key("", key_slot("7")), "lsn", "0/16B3748");
  first.cmd("EXEC");
  EXPECT_EQ(t[0].resp, first.buffer());
  EXPECT_EQ(t[1].slot, key_slot("8"));
  EXPECT_EQ(t[1].commands, 3u);
  RespWriter second;
  second.cmd("MULTI");
  second.cmd("SADD", "other:{8}", "1");
  second.cmd("DEL", "{8}:gone");
  second.cmd("HSET", fence_key("", key_slot("8")), "lsn", "0/16B3748");
  second.cmd("EXEC");
  EXPECT_EQ(t[1].resp, second.buffer());
  EXPECT_TRUE(split_by_slot("", {}, "", {"lsn", "0/1"}).empty());
}

TEST(SlotSplit, RefusesCommandsWithoutAKey) {
  RespWriter w;
  w.cmd("HSET", "a", "f", "v");
  w.cmd("MULTI");
  try {
    split_by_slot(w.buffer(), w.starts(), "", {"lsn", "0/1"});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "a command without a key at offset 35");
  }
  EXPECT_THROW(split_by_slot("*2\r\n$4\r\nHGET\r\n$9\r\nshort\r\n", {0}, "", {}), std::invalid_argument);
  EXPECT_THROW(split_by_slot("PING\r\n", {0}, "", {}), std::invalid_argument);
}
