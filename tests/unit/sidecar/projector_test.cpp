// The projector without Redis: the reads it asks for, the writes it makes from the replies
// it is given, the checkpoint's verdicts, and what its view saves the next batch.
#include "pgcqrs/sidecar/projection/projector.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "pgcqrs/sidecar/projection/event.hpp"
#include "redis_text.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

const ProjectorContext kCtx{"pgcqrs", "2026-01-01T00:00:00.000000Z", 0, 1000};

// One transaction placing order 7 of user 1: two pens at 1.50.
ScriptCall placement(const std::string& lsn_text, uint64_t lsn, int64_t order = 7) {
  ScriptCall c;
  c.lsn = lsn;
  c.lsn_text = lsn_text;
  c.commit_time = "2026-01-01T00:00:01.000000Z";
  c.final = true;
  c.events = {{0, ev::OrderPlaced{order, 1, "pending", "2026-01-01T00:00:01.000000Z", "2026-01-01T00:00:01.000000Z",
                                  "1767225601000", {{1, 2, 150}}}}};
  return c;
}

// The commands of a Write step, one string each ("HSET k f v ...").
std::vector<std::string> commands(Projector::Step& step) { return resp_commands(step.writes.buffer()); }

const Reply kCheckpoint = array({"lsn", "0/50", "slot", "pgcqrs", "layout", "4"});

TEST(Projector, AsksForEverythingAnOrderNeedsInTheFirstRound) {
  Projector p;
  auto step = p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Read);
  EXPECT_EQ(step.reads, (std::vector<Command>{{"WATCH", "pgcqrs:checkpoint"},
                                              {"HGETALL", "pgcqrs:checkpoint"},
                                              {"HGETALL", "user:{1}:1"},
                                              {"ZREVRANGE", "user_orders:{1}:1", "0", "10", "WITHSCORES"},
                                              {"HGETALL", "product:{1}:1"},
                                              {"EXISTS", "order_details:{7}:7"}}));
}

TEST(Projector, WritesTheOrderItsIndexesCountersAndCheckpointInOneExec) {
  Projector p;
  p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, kCtx);
  auto step = p.advance({ok(), kCheckpoint,
                         array({"user_id", "1", "name", "ann", "email", "a@x", "order_count", "2",
                                "lifetime_value", "10.00", "is_active", "true", "lsn", "0/40"}),
                         array({}), array({"product_id", "1", "name", "pen", "units_sold", "4", "revenue", "6.00"}),
                         integer(0)},
                        kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write);
  const std::string items = R"([{"product_id":1,"product_name":"pen","quantity":2,"unit_price":"1.50","line_total":"3.00"}])";
  EXPECT_EQ(commands(step),
            (std::vector<std::string>{
                "MULTI",
                "HSET product:{1}:1 lsn 0/100 revenue 9.00 units_sold 6",
                "ZADD top_products:{1} 9.00 1",
                "HSET user:{1}:1 lifetime_value 13.00 lsn 0/100 order_count 3",
                "HSET order_details:{7}:7 created_at 2026-01-01T00:00:01.000000Z item_count 1 items " + items +
                    " lsn 0/100 order_id 7 status pending total 3.00 updated_at 2026-01-01T00:00:01.000000Z user_email "
                    "a@x user_id 1 user_name ann",
                "SADD product_orders:{1}:1 7",
                "ZADD user_orders:{1}:1 1767225601000 7",
                R"(LPUSH user_latest:{1}:1 {"order_id":7,"user_id":1,"user_name":"ann","user_email":"a@x","status":"pending","created_at":"2026-01-01T00:00:01.000000Z","updated_at":"2026-01-01T00:00:01.000000Z","item_count":1,"total":"3.00","items":)" +
                    items + R"(,"lsn":"0/100"})",
                "LTRIM user_latest:{1}:1 0 9",
                "HSET pgcqrs:checkpoint commit_time 2026-01-01T00:00:01.000000Z lsn 0/100 slot pgcqrs updated_at "
                "2026-01-01T00:00:00.000000Z",
                "PUBLISH pgcqrs:applied 0/100",
                "EXEC"}));
  EXPECT_EQ(p.outcome().applied_transactions, 1u);
  EXPECT_EQ(p.outcome().applied_events, 1u);
  EXPECT_FALSE(p.outcome().more);

  // The next order of the same user and product: decided on the view, confirmed in one round.
  auto next = p.start({placement("0/110", 0x110, 8)}, Projector::Mode::Transaction, kCtx);
  EXPECT_EQ(next.reads, (std::vector<Command>{{"WATCH", "pgcqrs:checkpoint"},
                                              {"HGETALL", "pgcqrs:checkpoint"},
                                              {"EXISTS", "order_details:{8}:8"}}));
}

TEST(Projector, StopsWithoutWritingWhenTheCheckpointSaysSo) {
  auto verdict = [](Reply cp, uint64_t floor) {
    Projector p;
    ProjectorContext ctx = kCtx;
    ctx.floor = floor;
    p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, ctx);
    auto step = p.advance({ok(), std::move(cp), array({}), array({}), array({}), integer(0)}, ctx);
    if (step.kind != Projector::Step::Kind::Stop) return std::string("no stop");
    return step.reason + " " + step.detail;
  };
  EXPECT_EQ(verdict(array({}), 0), "nocheckpoint ");
  EXPECT_EQ(verdict(kCheckpoint, 0x60), "behind 0/50");
  EXPECT_EQ(verdict(array({"lsn", "0/50", "dirty", "0/48"}), 0), "dirty 0/48");
}

TEST(Projector, SkipsWhatTheCheckpointCovers) {
  Projector p;
  p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, kCtx);
  auto step = p.advance({ok(), array({"lsn", "0/100"}), array({}), array({}), array({}), integer(1)}, kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write);
  EXPECT_EQ(commands(step), (std::vector<std::string>{"MULTI", "EXEC"}));
  EXPECT_EQ(p.outcome().skipped_transactions, 1u);
  EXPECT_EQ(p.outcome().applied_transactions, 0u);
}

// Under a key prefix every key it reads and writes, the checkpoint and the channel included,
// carries the prefix.
TEST(Projector, KeepsEveryKeyInsideItsPrefix) {
  Projector p(pgcqrs::sidecar::Keys("app1:"));
  auto step = p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, kCtx);
  EXPECT_EQ(step.reads, (std::vector<Command>{{"WATCH", "app1:pgcqrs:checkpoint"},
                                              {"HGETALL", "app1:pgcqrs:checkpoint"},
                                              {"HGETALL", "app1:user:{1}:1"},
                                              {"ZREVRANGE", "app1:user_orders:{1}:1", "0", "10", "WITHSCORES"},
                                              {"HGETALL", "app1:product:{1}:1"},
                                              {"EXISTS", "app1:order_details:{7}:7"}}));
  step = p.advance({ok(), kCheckpoint, array({"user_id", "1", "name", "ann", "email", "a@x"}), array({}),
                    array({"product_id", "1", "name", "pen", "units_sold", "4", "revenue", "6.00"}), integer(0)},
                   kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write);
  for (const auto& c : commands(step)) {
    if (c == "MULTI" || c == "EXEC") continue;
    const std::string key = c.substr(c.find(' ') + 1);
    EXPECT_EQ(key.rfind("app1:", 0), 0u) << c;
  }
  EXPECT_EQ(commands(step).size(), 12u);  // as without a prefix: MULTI, 10 writes, EXEC
}

// The copy into wiped read models reads only what it wrote and forgot: a user's sorted set
// of orders that the view never met is empty, with no ZREVRANGE; once the view forgets,
// it reads again.
TEST(Projector, ACopyIntoAnEmptyRedisDoesNotReadWhatItNeverWrote) {
  Projector p;
  p.view().assume_empty();
  ScriptCall user;
  user.lsn = 0x90;
  user.lsn_text = "0/90";
  user.events = {{0, ev::UserRegistered{1, "ann", "a@x", true}}, {1, ev::ProductAdded{1, "pen", 150, true}}};
  auto step = p.start({user}, Projector::Mode::Snapshot, kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write);
  step = p.start({placement("0/90", 0x90)}, Projector::Mode::Snapshot, kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write) << (step.reads.empty() ? "" : step.reads[0][0] + " " + step.reads[0][1]);
  EXPECT_TRUE(step.checks.empty());
  p.forget();
  step = p.start({placement("0/90", 0x90, 8)}, Projector::Mode::Snapshot, kCtx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Read);
  EXPECT_EQ(step.reads, (std::vector<Command>{{"HGETALL", "user:{1}:1"},
                                              {"ZREVRANGE", "user_orders:{1}:1", "0", "10", "WITHSCORES"},
                                              {"HGETALL", "product:{1}:1"}}));
}

// A rename over more orders than the budget stops there and says where to resume.
TEST(Projector, ARenamePastItsBudgetStopsAndRecordsWhereToResume) {
  Projector p;
  ProjectorContext ctx = kCtx;
  ctx.fanout_budget = 2;
  ScriptCall rename;
  rename.lsn = 0x200;
  rename.lsn_text = "0/200";
  rename.final = true;
  rename.events = {{0, ev::UserRenamed{1, "bo"}}};
  p.start({rename}, Projector::Mode::Transaction, ctx);
  auto step = p.advance({ok(), kCheckpoint, array({"user_id", "1", "name", "ann"})}, ctx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Read);
  EXPECT_EQ(step.reads, (std::vector<Command>{{"ZREVRANGE", "user_orders:{1}:1", "0", "-1", "WITHSCORES"}}));
  step = p.advance({array({"9", "3", "8", "2", "7", "1"})}, ctx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Read);  // the page's orders
  std::vector<Reply> orders;
  for (const auto& r : step.reads) {
    ASSERT_EQ(r[0], "HGETALL");
    orders.push_back(array({"user_id", "1", "items", "[]", "status", "paid"}));
  }
  step = p.advance(std::move(orders), ctx);
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write) << (step.reads.empty() ? "" : step.reads[0][0] + " " + step.reads[0][1]);
  auto cmds = commands(step);
  EXPECT_TRUE(p.outcome().more);
  EXPECT_EQ(p.outcome().applied_transactions, 0u);
  // The two oldest orders (ranks 0 and 1 from the bottom) now, the rest in the next batch.
  EXPECT_NE(std::find(cmds.begin(), cmds.end(), "HSET order_details:{7}:7 lsn 0/200 user_name bo"), cmds.end());
  EXPECT_NE(std::find(cmds.begin(), cmds.end(), "HSET order_details:{8}:8 lsn 0/200 user_name bo"), cmds.end());
  EXPECT_EQ(std::find(cmds.begin(), cmds.end(), "HSET order_details:{9}:9 lsn 0/200 user_name bo"), cmds.end());
  EXPECT_NE(std::find(cmds.begin(), cmds.end(), "HSET pgcqrs:checkpoint partial_cursor 2 partial_lsn 0/200 partial_seq -1"),
            cmds.end());
}

// An order of a user with 12 deleted, then one placed for her, in one batch: the deletion
// leaves 10 of the 11 orders the first read told, one short of what the placement needs, and
// the batch must read on (the whole set) rather than wait for a read it never sends.
TEST(Projector, PlacesAnOrderAfterADeletionOfTheSameUsersOrderInOneBatch) {
  auto answer = [](const Command& c) {
    const std::string& key = c.size() > 1 ? c[1] : c[0];
    if (c[0] == "WATCH") return ok();
    if (c[0] == "EXISTS") return integer(key == "order_details:{20}:20" ? 0 : 1);
    if (key == "pgcqrs:checkpoint") return kCheckpoint;
    if (key == "user:{1}:1")
      return array({"user_id", "1", "name", "ann", "email", "a@x", "order_count", "12", "lifetime_value", "0.00",
                    "is_active", "true", "lsn", "0/40"});
    if (key == "product:{1}:1") return array({"product_id", "1", "name", "pen", "units_sold", "0", "revenue", "0.00"});
    if (key.rfind("order_details:", 0) == 0)
      return array({"order_id", key.substr(key.find("}:") + 2), "user_id", "1", "status", "pending", "items", "[]", "item_count", "0",
                    "total", "0.00", "lsn", "0/40"});
    if (key == "user_orders:{1}:1") {  // orders 1 to 12, scored by their ids
      const long last = c[3] == "-1" ? 12 : std::stol(c[3]) + 1;
      std::vector<std::string> top;
      for (long o = 12; o >= 1 && 12 - o < last; --o) {
        top.push_back(std::to_string(o));
        top.push_back(std::to_string(o));
      }
      return array(std::move(top));
    }
    return array({});
  };
  ScriptCall batch = placement("0/100", 0x100, 20);
  batch.events[0].seq = 1;  // the placement is the second event
  batch.events.insert(batch.events.begin(), {0, ev::OrderDeleted{12}});
  Projector p;
  auto step = p.start({batch}, Projector::Mode::Transaction, kCtx);
  for (int round = 0; round < 5 && step.kind == Projector::Step::Kind::Read; ++round) {
    std::vector<Reply> replies;
    for (const auto& c : step.reads) replies.push_back(answer(c));
    step = p.advance(std::move(replies), kCtx);
  }
  ASSERT_EQ(step.kind, Projector::Step::Kind::Write);
  const auto cmds = commands(step);
  auto has = [&](const std::string& cmd) { return std::find(cmds.begin(), cmds.end(), cmd) != cmds.end(); };
  EXPECT_TRUE(has("DEL order_details:{12}:12"));
  EXPECT_TRUE(has("ZREM user_orders:{1}:1 12"));
  EXPECT_TRUE(has("ZADD user_orders:{1}:1 1767225601000 20"));
  EXPECT_TRUE(has("HSET user:{1}:1 lifetime_value 3.00 lsn 0/100 order_count 12"));
  EXPECT_EQ(p.outcome().applied_events, 2u);
}

// On a Redis Cluster the sink keeps the number of the last batch in the checkpoint, which moves
// with every batch: the next batch's speculation on what the view knows still stands, with no
// read of the user or the product again.
TEST(Projector, TheClusterSinksBatchNumberIsNoChangeOfTheCheckpoint) {
  Projector p;
  p.start({placement("0/100", 0x100)}, Projector::Mode::Transaction, kCtx);
  auto first = p.advance({ok(), array({"lsn", "0/50", "slot", "pgcqrs", "layout", "4", "batch", "1"}),
                          array({"user_id", "1", "name", "ann", "email", "a@x", "order_count", "2", "lifetime_value",
                                 "10.00", "is_active", "true", "lsn", "0/40"}),
                          array({}), array({"product_id", "1", "name", "pen", "units_sold", "4", "revenue", "6.00"}),
                          integer(0)},
                         kCtx);
  ASSERT_EQ(first.kind, Projector::Step::Kind::Write);
  auto second = p.start({placement("0/200", 0x200, 8)}, Projector::Mode::Transaction, kCtx);
  ASSERT_EQ(second.kind, Projector::Step::Kind::Read);
  EXPECT_EQ(second.reads, (std::vector<Command>{{"WATCH", "pgcqrs:checkpoint"},
                                                {"HGETALL", "pgcqrs:checkpoint"},
                                                {"EXISTS", "order_details:{8}:8"}}));
  // Redis holds what the first batch wrote, and the sink's next number.
  auto written = p.advance({ok(),
                            array({"lsn", "0/100", "slot", "pgcqrs", "layout", "4", "batch", "2", "updated_at",
                                   kCtx.now_iso, "commit_time", "2026-01-01T00:00:01.000000Z"}),
                            integer(0)},
                           kCtx);
  EXPECT_EQ(written.kind, Projector::Step::Kind::Write);
}

TEST(CjsonString, EscapesAsRedisCjsonDid) {
  EXPECT_EQ(cjson_string("a\"b\\c/d\n\t\x01\x7f\xc3\xa9"), "\"a\\\"b\\\\c\\/d\\n\\t\\u0001\\u007f\xc3\xa9\"");
}

}  // namespace
