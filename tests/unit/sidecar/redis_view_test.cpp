// The projector's view of Redis: what a run sees of a hash it changes, what its commit writes,
// and what the next batch knows, without Redis.
#include "pgcqrs/sidecar/projection/redis_view.hpp"

#include <gtest/gtest.h>

#include "redis_text.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

// A view that knows user:{1}:1 as Redis holds it: Ann, one order.
RedisView view_with_ann() {
  RedisView v;
  v.absorb({"HGETALL", "user:{1}:1"}, array({"name", "Ann", "order_count", "1"}));
  v.begin_batch();
  return v;
}

// The commands a commit writes, one string each ("HSET k f v").
std::vector<std::string> commit(RedisView& v) {
  pgcqrs::sidecar::redis::RespWriter out;
  v.commit(out);
  return resp_commands(out.buffer());
}

using Hash = std::map<std::string, std::string>;

TEST(RedisView, ARunSeesItsOwnFieldsOverWhatRedisHeldAndWritesOnlyThose) {
  RedisView v = view_with_ann();
  v.hset("user:{1}:1", "order_count", "2");
  EXPECT_EQ(v.hget("user:{1}:1", "order_count"), "2");
  EXPECT_EQ(v.hget("user:{1}:1", "name"), "Ann");
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Ann"}, {"order_count", "2"}}));
  EXPECT_EQ(commit(v), (std::vector<std::string>{"HSET user:{1}:1 order_count 2"}));
  // The next batch knows the result without reading it.
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Ann"}, {"order_count", "2"}}));
  EXPECT_TRUE(v.take_reads().empty());
}

TEST(RedisView, ARunStartedOverForgetsItsChangesButNotWhatRedisHeld) {
  RedisView v = view_with_ann();
  v.hset("user:{1}:1", "name", "Bob");
  v.hdel("user:{1}:1", "order_count");
  v.begin_run();
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Ann"}, {"order_count", "1"}}));
  v.hset("user:{1}:1", "order_count", "3");
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Ann"}, {"order_count", "3"}}));
  EXPECT_EQ(commit(v), (std::vector<std::string>{"HSET user:{1}:1 order_count 3"}));
}

TEST(RedisView, DeletingEveryFieldRedisHeldLeavesTheHashAbsent) {
  RedisView v = view_with_ann();
  v.hdel("user:{1}:1", "name");
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"order_count", "1"}}));
  v.hdel("user:{1}:1", "order_count");
  EXPECT_EQ(v.known_hash("user:{1}:1"), Hash{});
  EXPECT_EQ(commit(v), (std::vector<std::string>{"HDEL user:{1}:1 name order_count"}));
  EXPECT_EQ(v.known_hash("user:{1}:1"), Hash{});
  EXPECT_EQ(v.hget("user:{1}:1", "name"), std::nullopt);
  EXPECT_TRUE(v.take_reads().empty());
}

TEST(RedisView, ADeleteHidesWhatRedisHeldFromTheFieldsWrittenAfterIt) {
  RedisView v = view_with_ann();
  v.del("user:{1}:1");
  v.hset("user:{1}:1", "name", "Bob");
  EXPECT_EQ(v.hget("user:{1}:1", "order_count"), std::nullopt);  // known gone, not read
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Bob"}}));
  EXPECT_EQ(commit(v), (std::vector<std::string>{"DEL user:{1}:1", "HSET user:{1}:1 name Bob"}));
  EXPECT_EQ(v.known_hash("user:{1}:1"), (Hash{{"name", "Bob"}}));
  EXPECT_TRUE(v.take_reads().empty());
}

// A user with more orders than a page, as the first ZREVRANGE of a batch tells: the top 11,
// scores 20 down to 10, members o20 .. o10.
Reply top_eleven() {
  std::vector<std::string> items;
  for (int i = 20; i >= 10; --i) {
    items.push_back("o" + std::to_string(i));
    items.push_back(std::to_string(i));
  }
  return array(std::move(items));
}

// An order deleted then another placed in one batch: the run removes a member from the top
// it knows, so that top no longer covers a page and one more. The view must ask for what does
// (the whole set), not again for the top it already has, which would tell it nothing new.
TEST(RedisView, ARunThatRemovedFromAKnownTopAsksForTheWholeSet) {
  RedisView v;
  v.begin_batch();
  const Command top{"ZREVRANGE", "user_orders:{1}:1", "0", "10", "WITHSCORES"};
  EXPECT_TRUE(v.prefetch_top("user_orders:{1}:1", 11));
  EXPECT_EQ(v.take_reads(), (std::vector<Command>{top}));
  v.absorb(top, top_eleven());
  v.begin_run();
  EXPECT_FALSE(v.prefetch_top("user_orders:{1}:1", 11));
  v.zrem("user_orders:{1}:1", "o15");
  EXPECT_TRUE(v.prefetch_top("user_orders:{1}:1", 11));
  const Command whole{"ZREVRANGE", "user_orders:{1}:1", "0", "-1", "WITHSCORES"};
  EXPECT_EQ(v.take_reads(), (std::vector<Command>{whole}));
  Reply all = top_eleven();
  for (int i = 9; i >= 1; --i) {
    all.elements.push_back(array({"o" + std::to_string(i)}).elements[0]);
    all.elements.push_back(array({std::to_string(i)}).elements[0]);
  }
  v.absorb(whole, std::move(all));
  v.begin_run();
  v.zrem("user_orders:{1}:1", "o15");
  EXPECT_FALSE(v.prefetch_top("user_orders:{1}:1", 11));
  EXPECT_TRUE(v.take_reads().empty());
  const auto page = v.ztop("user_orders:{1}:1", 11);
  ASSERT_EQ(page.size(), 11u);
  EXPECT_EQ(page.front().member, "o20");
  EXPECT_EQ(page.back().member, "o9");
}

}  // namespace
