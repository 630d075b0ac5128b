// The cluster's write-ahead intent: positions, the intent's bytes and back, what a restart
// applies again from it, and the slots a failover left behind what was acknowledged.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

using namespace pgcqrs::sidecar;
using cluster::Position;

namespace {

Position at(uint64_t lsn, uint64_t seq = Position::kWhole) { return Position{lsn, seq}; }

cluster::Intent sample() {
  redis::RespWriter w;
  w.cmd("HSET", "order_details:{7}:7", "items", std::string("[\"a\\n\"]\r\n\0x", 12));
  w.cmd("SADD", "{8}:ids", "8");
  w.cmd("HINCRBY", "user:{7}:7", "order_count", "1");
  redis::RespWriter finish;
  finish.cmd("HSET", "pgcqrs:checkpoint", "lsn", "0/16B3748");
  finish.cmd("DEL", cluster::intent_key("pgcqrs:checkpoint"));
  auto f = redis::split_by_slot(finish.buffer(), finish.starts(), "", {});
  return cluster::Intent{at(0x16B3748), redis::split_by_slot(w.buffer(), w.starts(), "", {"lsn", "0/16B3748"}),
                         std::move(f.at(0))};
}

}  // namespace

TEST(ClusterIntent, Positions) {
  EXPECT_EQ(cluster::format_position(at(0x16B3748)), "0/16B3748");
  EXPECT_EQ(cluster::format_position(at((uint64_t{0x1F} << 32) | 0xA, 12)), "1F/A#12");
  EXPECT_EQ(cluster::parse_position("1F/A#12"), at((uint64_t{0x1F} << 32) | 0xA, 12));
  EXPECT_EQ(cluster::parse_position("0/16B3748"), at(0x16B3748));
  EXPECT_LT(at(5, 0), at(5, 1));
  EXPECT_LT(at(5, 1000), at(5));  // every part of a transaction comes before all of it
  EXPECT_LT(at(5), at(6, 0));
  for (const char* bad : {"", "0/1#", "0/1#x", "0/1#1x", "x/1", "0/1 ", "0/1#18446744073709551615", "0/1#-1"})
    EXPECT_FALSE(cluster::parse_position(bad)) << bad;
}

TEST(ClusterIntent, BytesAndBack) {
  cluster::Intent intent = sample();
  ASSERT_EQ(intent.transactions.size(), 2u);
  std::string bytes = cluster::encode_intent(intent);
  auto decoded = cluster::decode_intent(bytes);
  ASSERT_TRUE(decoded.intent) << decoded.error;
  EXPECT_EQ(decoded.intent->position, intent.position);
  ASSERT_EQ(decoded.intent->transactions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(decoded.intent->transactions[i].slot, intent.transactions[i].slot);
    EXPECT_EQ(decoded.intent->transactions[i].commands, intent.transactions[i].commands);
    EXPECT_EQ(decoded.intent->transactions[i].resp, intent.transactions[i].resp);
  }
  EXPECT_EQ(decoded.intent->finish.slot, redis::key_slot("pgcqrs:checkpoint"));
  EXPECT_EQ(decoded.intent->finish.commands, 2u);  // no fence: the checkpoint is its own
  EXPECT_EQ(decoded.intent->finish.resp, intent.finish.resp);
  auto empty = cluster::decode_intent(cluster::encode_intent(cluster::Intent{at(1, 3), {}, {}}));
  ASSERT_TRUE(empty.intent) << empty.error;
  EXPECT_EQ(empty.intent->position, at(1, 3));
  EXPECT_TRUE(empty.intent->transactions.empty());
}

TEST(ClusterIntent, UnreadableIntentsSayWhy) {
  std::string good = cluster::encode_intent(sample());
  auto error = [](std::string_view bytes) { return cluster::decode_intent(bytes).error; };
  EXPECT_EQ(error("garbage"), "the intent is unreadable: it does not start with \"pgcqrs-intent 1\"");
  EXPECT_EQ(error("pgcqrs-intent 1\nzz\n0\n"), "the intent is unreadable: no position on its second line");
  EXPECT_EQ(error("pgcqrs-intent 1\n0/1\nx\n"), "the intent is unreadable: no transaction count on its third line");
  EXPECT_EQ(error("pgcqrs-intent 1\n0/1\n1\n16384 1 0\n"),
            "the intent is unreadable: transaction 0 has no valid slot, command count and length");
  EXPECT_EQ(error(good.substr(0, good.size() - 1)), "the intent is unreadable: the finish is cut short");
  EXPECT_EQ(error("pgcqrs-intent 1\n0/1\n0\n"),
            "the intent is unreadable: the finish has no valid slot, command count and length");
  EXPECT_EQ(error(good + "x"), "the intent is unreadable: 1 bytes after its finish");
  EXPECT_EQ(cluster::intent_key("app1:pgcqrs:checkpoint"), "{app1:pgcqrs:checkpoint}:intent");
  EXPECT_EQ(redis::key_slot(cluster::intent_key("app1:pgcqrs:checkpoint")), redis::key_slot("app1:pgcqrs:checkpoint"));
}

TEST(ClusterIntent, ARestartAppliesWhatIsBehind) {
  cluster::Intent intent = sample();
  intent.transactions.push_back(intent.transactions[0]);
  intent.transactions.back().slot = 100;
  // No fence yet, a fence of an earlier batch, the intent's own, and one of a later batch.
  intent.transactions.push_back(intent.transactions[0]);
  intent.transactions.back().slot = 101;
  auto r = cluster::replay(intent, {std::nullopt, at(0x16B3747), at(0x16B3748), at(0x16B3749)});
  EXPECT_EQ(r.apply, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.ahead, (std::vector<uint16_t>{101}));
  // A part of the same transaction is behind it.
  auto part = cluster::replay(intent, {at(0x16B3748, 5), at(0x16B3748), at(0x16B3748), at(0x16B3748)});
  EXPECT_EQ(part.apply, (std::vector<size_t>{0}));
  EXPECT_TRUE(part.ahead.empty());
}

TEST(ClusterIntent, AFailoverThatLostAcknowledgedWrites) {
  cluster::FenceLedger ledger;
  ledger.acknowledged(1, at(10));
  ledger.acknowledged(2, at(20));
  ledger.acknowledged(2, at(15));  // an older acknowledgement arriving late changes nothing
  EXPECT_EQ(ledger.at(2), at(20));
  EXPECT_FALSE(ledger.at(3));
  // Slot 1 kept its write, slot 2 came back with an older one, slot 3 was never written, and
  // slot 4 lost its fence with everything else.
  ledger.acknowledged(4, at(5));
  auto lost = ledger.lost({{1, at(10)}, {2, at(19)}, {3, std::nullopt}, {4, std::nullopt}});
  EXPECT_EQ(lost, (std::vector<uint16_t>{2, 4}));
}
