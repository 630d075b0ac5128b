// Hash slots as Redis Cluster computes them: the values below are what CLUSTER KEYSLOT of
// Redis 7.0 answered.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/redis/key_slot.hpp"

using namespace pgcqrs::sidecar::redis;

TEST(KeySlot, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value of CRC-16/XMODEM
  EXPECT_EQ(crc16(""), 0);
}

TEST(KeySlot, AsClusterKeyslotAnswers) {
  EXPECT_EQ(key_slot("123456789"), 12739);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(key_slot("{}x"), 10595);
  EXPECT_EQ(key_slot("x{"), 3596);
  EXPECT_EQ(key_slot("{a}{b}"), 15495);
  EXPECT_EQ(key_slot("a{}b{c}"), 7353);
  EXPECT_EQ(key_slot("{{x}}"), 11068);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(KeySlot, TheFirstNonEmptyTagIsHashed) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(hash_tag("a{b}c{d}"), "b");
  EXPECT_EQ(hash_tag("{}{b}"), "{}{b}");  // an empty first tag: the whole key, not the next tag
  EXPECT_EQ(hash_tag("a{}b{c}"), "a{}b{c}");
  EXPECT_EQ(hash_tag("{{x}}"), "{x");
  EXPECT_EQ(hash_tag("no}tag{"), "no}tag{");
  EXPECT_EQ(hash_tag("plain"), "plain");
}
