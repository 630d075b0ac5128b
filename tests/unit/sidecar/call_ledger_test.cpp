// The ledger of calls in flight: replies go to calls in order, a pipeline's earlier replies
// are counted and their first error kept, and draining hands back every handler in order.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstring>

#include "pgcqrs/sidecar/redis/call_ledger.hpp"

using pgcqrs::sidecar::redis::CallLedger;

namespace {

struct FakeReply {
  explicit FakeReply(int type, const char* s = "") : text(s) {
    std::memset(&r, 0, sizeof r);
    r.type = type;
    r.str = text.data();
    r.len = text.size();
  }
  std::string text;
  redisReply r;
};

CallLedger::Clock::time_point at(int ms) { return CallLedger::Clock::time_point(std::chrono::milliseconds(ms)); }

}  // namespace

TEST(CallLedger, RepliesGoToCallsInOrder) {
  CallLedger ledger;
  std::vector<std::string> seen;
  ledger.push(1, [&](redisReply* r) { seen.push_back("a:" + std::string(r->str)); }, at(1));
  ledger.push(1, [&](redisReply* r) { seen.push_back("b:" + std::string(r->str)); }, at(2));
  EXPECT_EQ(ledger.calls(), 2u);
  FakeReply one(REDIS_REPLY_STATUS, "1"), two(REDIS_REPLY_STATUS, "2");
  auto d = ledger.take(one.r);
  ASSERT_TRUE(d);
  d->handler(&one.r);
  EXPECT_EQ(ledger.oldest(), at(2));
  d = ledger.take(two.r);
  ASSERT_TRUE(d);
  d->handler(&two.r);
  EXPECT_EQ(seen, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(ledger.empty());
  EXPECT_EQ(ledger.oldest(), std::nullopt);
}

TEST(CallLedger, APipelineFinishesOnItsLastReplyWithItsFirstError) {
  CallLedger ledger;
  int calls = 0;
  ledger.push(4, [&](redisReply*) { ++calls; }, at(1));
  ledger.push(1, [&](redisReply*) { ++calls; }, at(2));
  EXPECT_EQ(ledger.replies_pending(), 5u);
  FakeReply ok(REDIS_REPLY_STATUS, "QUEUED"), oom(REDIS_REPLY_ERROR, "OOM full"), ro(REDIS_REPLY_ERROR, "READONLY");
  EXPECT_FALSE(ledger.take(ok.r));
  EXPECT_FALSE(ledger.take(oom.r));
  EXPECT_FALSE(ledger.take(ro.r));
  EXPECT_EQ(ledger.replies_pending(), 2u);
  EXPECT_EQ(ledger.oldest(), at(1));  // still waiting for its last reply
  FakeReply exec(REDIS_REPLY_ERROR, "EXECABORT");
  auto d = ledger.take(exec.r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->queued_error, "OOM full");
  d->handler(&exec.r);
  // The next call starts clean.
  d = ledger.take(ok.r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->queued_error, "");
  d->handler(&ok.r);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ledger.replies_pending(), 0u);
}

TEST(CallLedger, DrainHandsBackEveryHandlerOldestFirst) {
  CallLedger ledger;
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) ledger.push(i == 1 ? 3 : 1, [&order, i](redisReply* r) { order.push_back(r ? -1 : i); }, at(i));
  FakeReply ok(REDIS_REPLY_STATUS, "OK");
  auto d = ledger.take(ok.r);  // call 0 answered
  d->handler(nullptr);
  EXPECT_FALSE(ledger.take(ok.r));  // call 1 half answered
  auto handlers = ledger.drain();
  for (auto& h : handlers) h(nullptr);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(ledger.empty());
  EXPECT_EQ(ledger.replies_pending(), 0u);
}

TEST(CallLedger, TheRingGrowsAndWrapsAroundInOrder) {
  CallLedger ledger;
  std::vector<int> seen;
  int next = 0, expected = 0;
  FakeReply ok(REDIS_REPLY_STATUS, "OK");
  // Interleave pushes and takes so the ring wraps several times and grows past 16 entries.
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < round % 7 + 1; ++k, ++next) ledger.push(1, [&seen, n = next](redisReply*) { seen.push_back(n); }, at(next));
    for (int k = 0; k < round % 5 + 1 && !ledger.empty(); ++k) {
      EXPECT_EQ(ledger.oldest(), at(expected++));
      ledger.take(ok.r)->handler(&ok.r);
    }
  }
  while (!ledger.empty()) ledger.take(ok.r)->handler(&ok.r);
  ASSERT_EQ(seen.size(), static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}
