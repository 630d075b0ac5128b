// The cluster's write-ahead intent: a projector's batch cut by slot, the intent's bytes and
// back, what a restart applies again from it, and the slots a failover left behind what was
// acknowledged.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/cluster/batch_plan.hpp"
#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"
#include "redis_text.hpp"

using namespace pgcqrs::sidecar;

namespace {

cluster::Intent sample() {
  redis::RespWriter w;
  w.cmd("HSET", "order_details:{7}:7", "items", std::string("[\"a\\n\"]\r\n\0x", 12));
  w.cmd("SADD", "{8}:ids", "8");
  w.cmd("HINCRBY", "user:{7}:7", "order_count", "1");
  redis::RespWriter finish;
  finish.cmd("HSET", "pgcqrs:checkpoint", "lsn", "0/16B3748");
  finish.cmd("DEL", cluster::intent_key("", "pgcqrs:checkpoint"));
  auto f = redis::split_by_slot(finish.buffer(), finish.starts(), "", {});
  return cluster::Intent{7, redis::split_by_slot(w.buffer(), w.starts(), "", {cluster::kFenceField, "7"}),
                         std::move(f.at(0))};
}

}  // namespace

TEST(ClusterIntent, BatchNumbers) {
  EXPECT_EQ(cluster::parse_batch("0"), 0u);
  EXPECT_EQ(cluster::parse_batch("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "-1", "1x", " 1", "18446744073709551616", "0/16B3748"})
    EXPECT_FALSE(cluster::parse_batch(bad)) << bad;
}

// The projector's batch for one Redis, cut for a cluster: each slot's read-model commands in
// their order with its fence last; the checkpoint's commands, the batch's number, the intent's
// deletion and the PUBLISH in the finish.
TEST(ClusterIntent, AProjectorsBatchIsCutBySlotWithTheCheckpointInTheFinish) {
  const Keys keys("app1:");
  redis::RespWriter w;
  w.cmd("MULTI");
  w.cmd("HSET", keys.product(int64_t{1}), "revenue", "9.00");
  w.cmd("ZADD", keys.top_products(1), "9.00", "1");
  w.cmd("HSET", keys.order(int64_t{7}), "total", "3.00");
  w.cmd("HSET", keys.checkpoint(), "lsn", "0/100");
  w.cmd("SADD", keys.product_orders("1"), "7");
  w.cmd("PUBLISH", keys.channel(), "0/100");
  w.cmd("HDEL", keys.checkpoint(), "partial_lsn");
  w.cmd("EXEC");
  cluster::Intent intent = cluster::plan_batch(w.buffer(), w.starts(), 42, keys);
  EXPECT_EQ(intent.batch, 42u);
  ASSERT_EQ(intent.transactions.size(), 2u);
  EXPECT_EQ(intent.transactions[0].slot, redis::key_slot("{1}"));
  EXPECT_EQ(intent.transactions[0].commands, 4u);
  EXPECT_EQ(resp_commands(intent.transactions[0].resp),
            (std::vector<std::string>{"MULTI", "HSET app1:product:{1}:1 revenue 9.00", "ZADD app1:top_products:{1} 9.00 1",
                                      "SADD app1:product_orders:{1}:1 7", "HSET app1:pgcqrs:fence:{1} batch 42", "EXEC"}));
  EXPECT_EQ(intent.transactions[1].slot, redis::key_slot("{7}"));
  EXPECT_EQ(resp_commands(intent.transactions[1].resp),
            (std::vector<std::string>{"MULTI", "HSET app1:order_details:{7}:7 total 3.00",
                                      "HSET app1:pgcqrs:fence:{7} batch 42", "EXEC"}));
  EXPECT_EQ(intent.finish.slot, redis::key_slot("app1:pgcqrs:checkpoint"));
  EXPECT_EQ(intent.finish.commands, 5u);
  EXPECT_EQ(resp_commands(intent.finish.resp),
            (std::vector<std::string>{"MULTI", "HSET app1:pgcqrs:checkpoint lsn 0/100",
                                      "HDEL app1:pgcqrs:checkpoint partial_lsn", "HSET app1:pgcqrs:checkpoint batch 42",
                                      "DEL " + cluster::intent_key("app1:", "app1:pgcqrs:checkpoint"),
                                      "PUBLISH app1:pgcqrs:applied 0/100", "EXEC"}));
}

TEST(ClusterIntent, ABatchWithoutReadModelWritesIsItsFinishAlone) {
  const Keys keys;
  redis::RespWriter w;
  w.cmd("MULTI");
  w.cmd("HSET", keys.checkpoint(), "partial_cursor", "users5:0");
  w.cmd("EXEC");
  cluster::Intent intent = cluster::plan_batch(w.buffer(), w.starts(), 3, keys);
  EXPECT_TRUE(intent.transactions.empty());
  EXPECT_EQ(resp_commands(intent.finish.resp),
            (std::vector<std::string>{"MULTI", "HSET pgcqrs:checkpoint partial_cursor users5:0",
                                      "HSET pgcqrs:checkpoint batch 3",
                                      "DEL " + cluster::intent_key("", "pgcqrs:checkpoint"), "EXEC"}));
  redis::RespWriter bad;
  bad.cmd("HSET", keys.checkpoint(), "lsn", "0/1");
  EXPECT_THROW(cluster::plan_batch(bad.buffer(), bad.starts(), 1, keys), std::invalid_argument);
}

TEST(ClusterIntent, BytesAndBack) {
  cluster::Intent intent = sample();
  ASSERT_EQ(intent.transactions.size(), 2u);
  std::string bytes = cluster::encode_intent(intent);
  auto decoded = cluster::decode_intent(bytes);
  ASSERT_TRUE(decoded.intent) << decoded.error;
  EXPECT_EQ(decoded.intent->batch, intent.batch);
  ASSERT_EQ(decoded.intent->transactions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(decoded.intent->transactions[i].slot, intent.transactions[i].slot);
    EXPECT_EQ(decoded.intent->transactions[i].commands, intent.transactions[i].commands);
    EXPECT_EQ(decoded.intent->transactions[i].resp, intent.transactions[i].resp);
  }
  EXPECT_EQ(decoded.intent->finish.slot, redis::key_slot("pgcqrs:checkpoint"));
  EXPECT_EQ(decoded.intent->finish.commands, 2u);  // no fence: the checkpoint is its own
  EXPECT_EQ(decoded.intent->finish.resp, intent.finish.resp);
  auto empty = cluster::decode_intent(cluster::encode_intent(cluster::Intent{13, {}, {}}));
  ASSERT_TRUE(empty.intent) << empty.error;
  EXPECT_EQ(empty.intent->batch, 13u);
  EXPECT_TRUE(empty.intent->transactions.empty());
}

TEST(ClusterIntent, TheSetCommandCarriesTheBytes) {
  auto joined = [](std::string_view key, const cluster::Intent& intent) {
    std::string frame, out;
    for (std::string_view piece : cluster::set_intent_pieces(key, intent, frame)) out += piece;
    return out;
  };
  const cluster::Intent intent = sample();
  redis::RespWriter set;
  set.cmd("SET", "pgcqrs:intent:{1}", cluster::encode_intent(intent));
  EXPECT_EQ(joined("pgcqrs:intent:{1}", intent), set.buffer());
  std::string frame;
  auto pieces = cluster::set_intent_pieces("k", intent, frame);
  ASSERT_EQ(pieces.size(), 2 * intent.transactions.size() + 3);  // a piece before each, and the CRLF
  EXPECT_EQ(pieces[1].data(), intent.transactions[0].resp.data()) << "the transaction's bytes are not copied";
  redis::RespWriter empty;
  empty.cmd("SET", "k", cluster::encode_intent(cluster::Intent{1234567, {}, {}}));
  EXPECT_EQ(joined("k", cluster::Intent{1234567, {}, {}}), empty.buffer());
}

TEST(ClusterIntent, UnreadableIntentsSayWhy) {
  std::string good = cluster::encode_intent(sample());
  auto error = [](std::string_view bytes) { return cluster::decode_intent(bytes).error; };
  EXPECT_EQ(error("garbage"), "the intent is unreadable: it does not start with \"pgcqrs-intent 1\"");
  EXPECT_EQ(error("pgcqrs-intent 1\n0/1\n0\n"), "the intent is unreadable: no batch number on its second line");
  EXPECT_EQ(error("pgcqrs-intent 1\n1\nx\n"), "the intent is unreadable: no transaction count on its third line");
  EXPECT_EQ(error("pgcqrs-intent 1\n1\n1\n16384 1 0\n"),
            "the intent is unreadable: transaction 0 has no valid slot, command count and length");
  EXPECT_EQ(error(good.substr(0, good.size() - 1)), "the intent is unreadable: the finish is cut short");
  EXPECT_EQ(error("pgcqrs-intent 1\n1\n0\n"),
            "the intent is unreadable: the finish has no valid slot, command count and length");
  EXPECT_EQ(error(good + "x"), "the intent is unreadable: 1 bytes after its finish");
  const std::string intent = cluster::intent_key("app1:", "app1:pgcqrs:checkpoint");
  EXPECT_EQ(intent.rfind("app1:pgcqrs:intent:{", 0), 0u) << intent;
  EXPECT_EQ(redis::key_slot(intent), redis::key_slot("app1:pgcqrs:checkpoint"));
}

TEST(ClusterIntent, ARestartAppliesWhatIsBehind) {
  cluster::Intent intent = sample();
  intent.transactions.push_back(intent.transactions[0]);
  intent.transactions.back().slot = 100;
  // No fence yet, a fence of an earlier batch, the intent's own, and one of a later batch.
  intent.transactions.push_back(intent.transactions[0]);
  intent.transactions.back().slot = 101;
  auto r = cluster::replay(intent, {std::nullopt, 6, 7, 8});
  EXPECT_EQ(r.apply, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.ahead, (std::vector<uint16_t>{101}));
}

TEST(ClusterIntent, AFailoverThatLostAcknowledgedWrites) {
  cluster::FenceLedger ledger;
  ledger.acknowledged(1, 10);
  ledger.acknowledged(2, 20);
  ledger.acknowledged(2, 15);  // an older acknowledgement arriving late changes nothing
  EXPECT_EQ(ledger.at(2), 20u);
  EXPECT_FALSE(ledger.at(3));
  // Slot 1 kept its write, slot 2 came back with an older one, slot 3 was never written, and
  // slot 4 lost its fence with everything else.
  ledger.acknowledged(4, 5);
  auto lost = ledger.lost({{1, 10}, {2, 19}, {3, std::nullopt}, {4, std::nullopt}});
  EXPECT_EQ(lost, (std::vector<uint16_t>{2, 4}));
}
