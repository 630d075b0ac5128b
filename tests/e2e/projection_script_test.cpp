// The projection script against a real Redis (started by run_with_redis.sh): checkpoint
// checks, replays skipped, a chunked transaction interrupted and replayed applies once. Also the
// transaction projection (--apply multi, MultiBatch) driven round by round against the same
// Redis: what it refuses and where it hands a batch to the script.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>

#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/multi_batch.hpp"
#include "pgcqrs/sidecar/projection/script.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/timestamp.hpp"

using namespace pgcqrs::sidecar;
using projection::ScriptCall;
using projection::ScriptMode;

namespace {

class ProjectionScript : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* port = std::getenv("PGCQRS_REDIS_PORT");
    ASSERT_NE(port, nullptr) << "run through run_with_redis.sh";
    redis::Endpoint ep;
    ep.port = std::atoi(port);
    redis_ = std::make_unique<redis::SyncClient>(ep, 5000);
    redis_->command({"FLUSHALL"});
    sha_ = redis_->command({"SCRIPT", "LOAD", projection::kApplyScript})->str;
  }

  // Parses plugin messages of one or more transactions into calls (chunked at max_events).
  std::vector<ScriptCall> calls(const std::vector<std::string>& messages, size_t max_events = 500) {
    projection::TransactionAssembler a(projection::AssemblerLimits{max_events, 1 << 20});
    std::vector<ScriptCall> out;
    for (const auto& m : messages) {
      auto r = projection::parse_message(m);
      EXPECT_TRUE(r.message) << r.error;
      EXPECT_EQ(a.feed(*r.message, out), "");
    }
    return out;
  }

  std::vector<std::string> run(ScriptMode mode, std::vector<ScriptCall> cs, const std::string& floor = "0/0",
                               int budget = 1000) {
    projection::ScriptBatch batch;
    for (auto& c : cs) batch.add(std::move(c));
    auto r = redis_->command(batch.take_argv(sha_, mode, "pgcqrs", "2026-01-01T00:00:00.000000Z", floor, budget));
    std::vector<std::string> out;
    for (size_t i = 0; i < r->elements; ++i) out.push_back(redis::reply_string(r->element[i]));
    return out;
  }

  void mark(const std::string& lsn) {
    ScriptCall c;
    c.lsn_text = lsn;
    c.final = true;
    run(ScriptMode::Mark, {c});
  }

  // Drives a transaction batch to its end: "applied", "fallback: why" or "stop: word".
  // prerendered: whether it was rendered from the cache before any read.
  std::string run_multi(std::vector<ScriptCall> cs, projection::MultiCache* cache = nullptr,
                        const std::string& floor = "0/0", bool* prerendered = nullptr) {
    projection::MultiBatch batch(std::move(cs), cache);
    projection::MultiContext ctx{sha_, "pgcqrs", "2026-01-01T00:00:00.000000Z", *pgcqrs::parse_lsn(floor), floor, 1000};
    auto first = batch.start_prerendered(ctx);
    if (prerendered) *prerendered = first.has_value();
    auto out = first ? *first : batch.start();
    while (out.step == projection::MultiBatch::Step::Read) {
      std::vector<projection::Reply> replies;
      for (const auto& c : out.commands) replies.push_back(projection::copy_reply(*redis_->command(c, true)));
      out = batch.advance(replies, ctx);
    }
    if (out.step == projection::MultiBatch::Step::Fallback) {
      redis_->command({"UNWATCH"});
      return "fallback: " + out.reason;
    }
    if (out.step == projection::MultiBatch::Step::Stop) return "stop: " + out.reason;
    redis_->append_formatted(out.resp);
    redis::ReplyPtr last;
    for (size_t i = 0; i < out.starts.size(); ++i) last = redis_->read_reply();
    EXPECT_EQ(last->type, REDIS_REPLY_ARRAY) << "EXEC did not run";
    for (size_t i = 0; last->type == REDIS_REPLY_ARRAY && i < last->elements; ++i)
      EXPECT_NE(last->element[i]->type, REDIS_REPLY_ERROR) << redis::reply_string(last->element[i]);
    return "applied";
  }

  std::string hget(const std::string& key, const std::string& field) {
    return redis::reply_string(redis_->command({"HGET", key, field}).get());
  }

  std::unique_ptr<redis::SyncClient> redis_;
  std::string sha_;
};

std::string begin(const std::string& lsn) {
  return R"({"type":"begin","v":1,"xid":1,"lsn":")" + lsn + R"(","commit_time":"2026-01-01T00:00:00.000000Z"})";
}
std::string commit(const std::string& lsn, int events) {
  return R"({"type":"commit","xid":1,"lsn":")" + lsn + R"(","events":)" + std::to_string(events) + "}";
}
std::string ev(const std::string& lsn, int seq, const std::string& type, const std::string& fields) {
  return R"({"type":")" + type + R"(","xid":1,"lsn":")" + lsn + R"(","seq":)" + std::to_string(seq) + "," + fields + "}";
}

std::vector<std::string> setup_txn(const std::string& lsn) {
  return {begin(lsn),
          ev(lsn, 0, "UserRegistered", R"("user_id":1,"name":"ann","email":"a@x","is_active":true,"created_at":"2026-01-01T00:00:00Z")"),
          ev(lsn, 1, "ProductAdded", R"("product_id":1,"name":"pen","price":"1.50","is_active":true)"),
          ev(lsn, 2, "OrderPlaced", R"("order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":2,"unit_price":"1.50"}],"total":"3.00")"),
          commit(lsn, 3)};
}

}  // namespace

TEST_F(ProjectionScript, MarkRecordsTheKeyLayout) {
  mark("0/50");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "layout"), projection::kLayout);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/50");
}

TEST_F(ProjectionScript, RefusesToStreamIntoARedisWithoutCheckpoint) {
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("0/100")))[0], "nocheckpoint");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:1"}).get()), "0");
}

TEST_F(ProjectionScript, AppliesOnceAndSkipsReplays) {
  mark("0/50");
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("0/100"))),
            (std::vector<std::string>{"applied", "1", "0", "3"}));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/100");
  EXPECT_EQ(hget("order_details:1", "total"), "3.00");
  EXPECT_EQ(hget("product:1", "units_sold"), "2");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "3.00");
  EXPECT_EQ(hget("user:1", "lsn"), "0/100");
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("0/100"))),
            (std::vector<std::string>{"applied", "0", "1", "0"}));
  EXPECT_EQ(hget("product:1", "units_sold"), "2");
  EXPECT_EQ(hget("user:1", "order_count"), "1");
}

TEST_F(ProjectionScript, ComparesLsnsAsNumbers) {
  mark("0/FFFFFFFF");
  // 1/0 > 0/FFFFFFFF although "1/0" < "0/F..." is false as strings only by accident; 0/9 vs 0/10 is the trap.
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("1/0")))[1], "1");
  mark("0/9");
  auto replay = calls({begin("0/10"), ev("0/10", 0, "UserRenamed", R"("user_id":1,"old_name":"ann","name":"Ann")"), commit("0/10", 1)});
  EXPECT_EQ(run(ScriptMode::Transaction, replay)[1], "1");  // 0/10 is after 0/9
  EXPECT_EQ(hget("user:1", "name"), "Ann");
}

TEST_F(ProjectionScript, DetectsARedisBehindTheSlot) {
  mark("0/50");
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("0/100")), "0/60"),
            (std::vector<std::string>{"behind", "0/50"}));
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:1"}).get()), "0");
}

TEST_F(ProjectionScript, InterruptedChunkedTransactionReplaysExactlyOnce) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  // One transaction of 6 item additions to order 1, in chunks of 2 events.
  std::vector<std::string> big = {begin("0/200")};
  big.push_back(ev("0/200", 0, "ProductAdded", R"("product_id":2,"name":"ink","price":"2.00","is_active":true)"));
  for (int i = 0; i < 5; ++i)
    big.push_back(ev("0/200", i + 1, "OrderItemAdded",
                     R"("order_id":1,"product_id":2,"quantity":)" + std::to_string(i + 1) + R"(,"unit_price":"2.00")"));
  big.push_back(commit("0/200", 6));
  auto cs = calls(big, 2);
  ASSERT_EQ(cs.size(), 4u);  // three full chunks and the commit
  // The sidecar dies after the first chunk reached Redis.
  EXPECT_EQ(run(ScriptMode::Transaction, {cs[0]})[3], "2");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_seq"), "1");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/100");
  // After a restart PostgreSQL sends the whole transaction again.
  EXPECT_EQ(run(ScriptMode::Transaction, calls(big, 2)), (std::vector<std::string>{"applied", "1", "0", "4"}));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_lsn"), "");
  // OrderItemAdded for an existing line replaces it (last one wins: quantity 5).
  EXPECT_EQ(hget("product:2", "units_sold"), "5");
  EXPECT_EQ(hget("product:2", "revenue"), "10.00");
  EXPECT_EQ(hget("order_details:1", "total"), "13.00");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "13.00");
}

TEST_F(ProjectionScript, CancelAndDeleteSubtractOnce) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  auto cancel = calls({begin("0/110"),
                       ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"user_id":1,"from":"pending","to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                       commit("0/110", 1)});
  auto del = calls({begin("0/120"), ev("0/120", 0, "OrderDeleted", R"("order_id":1,"user_id":1,"status":"cancelled")"),
                    ev("0/120", 1, "OrderItemRemoved", R"("order_id":1,"product_id":1,"quantity":2,"unit_price":"1.50")"),
                    commit("0/120", 2)});
  auto both = cancel;
  both.insert(both.end(), del.begin(), del.end());
  EXPECT_EQ(run(ScriptMode::Transaction, both)[1], "2");
  EXPECT_EQ(run(ScriptMode::Transaction, calls({begin("0/110"),
                                                ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"user_id":1,"from":"pending","to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                                                commit("0/110", 1)}))[2], "1");
  EXPECT_EQ(hget("product:1", "units_sold"), "0");
  EXPECT_EQ(hget("product:1", "revenue"), "0.00");
  EXPECT_EQ(hget("user:1", "order_count"), "0");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "0.00");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"SCARD", "product_orders:1"}).get()), "0");
}

TEST_F(ProjectionScript, LargeFanOutRunsInBoundedCallsAndBlocksWhatFollows) {
  mark("0/50");
  std::vector<std::string> setup = setup_txn("0/100");
  setup.pop_back();
  for (int o = 2; o <= 5; ++o)
    setup.push_back(ev("0/100", o + 1, "OrderPlaced",
                       R"("order_id":)" + std::to_string(o) +
                           R"(,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:0)" + std::to_string(o) +
                           R"(.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.50"}],"total":"1.50")"));
  setup.push_back(commit("0/100", 7));
  ASSERT_EQ(run(ScriptMode::Transaction, calls(setup))[0], "applied");

  auto rename = calls({begin("0/200"), ev("0/200", 0, "UserRenamed", R"("user_id":1,"old_name":"ann","name":"Ann")"),
                       ev("0/200", 1, "ProductRenamed", R"("product_id":1,"old_name":"pen","name":"Pen")"),
                       commit("0/200", 2)});
  auto after = calls({begin("0/300"), ev("0/300", 0, "UserEmailChanged", R"("user_id":1,"old_email":"a@x","email":"b@x")"),
                      commit("0/300", 1)});
  const int budget = 2;
  EXPECT_EQ(run(ScriptMode::Transaction, rename, "0/0", budget)[0], "more");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "2");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_seq"), "-1");
  // Pipelined behind it, the next transaction must not overtake the unfinished rename.
  EXPECT_EQ(run(ScriptMode::Transaction, after, "0/0", budget)[0], "blocked");
  EXPECT_EQ(hget("user:1", "email"), "a@x");
  // Sent again until done: 5 orders renamed for the user, 2 per call, then the product's 5
  // re-rendered in the third call: a set this small is an intset, which SSCAN returns whole.
  int calls_made = 1;
  std::string status;
  do {
    status = run(ScriptMode::Transaction, rename, "0/0", budget)[0];
    ++calls_made;
  } while (status == "more" && calls_made < 20);
  EXPECT_EQ(status, "applied");
  EXPECT_EQ(calls_made, 3);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "");
  for (int o = 1; o <= 5; ++o) {
    EXPECT_EQ(hget("order_details:" + std::to_string(o), "user_name"), "Ann") << o;
    EXPECT_NE(hget("order_details:" + std::to_string(o), "items").find("\"product_name\":\"Pen\""), std::string::npos) << o;
    EXPECT_EQ(hget("order_details:" + std::to_string(o), "lsn"), "0/200") << o;
  }
  EXPECT_EQ(hget("product:1", "units_sold"), "6");
  EXPECT_EQ(run(ScriptMode::Transaction, after, "0/0", budget)[0], "more");  // its own fan-out
  EXPECT_EQ(run(ScriptMode::Transaction, after, "0/0", budget)[0], "more");
  EXPECT_EQ(run(ScriptMode::Transaction, after, "0/0", budget)[0], "applied");
  for (int o = 1; o <= 5; ++o) EXPECT_EQ(hget("order_details:" + std::to_string(o), "user_email"), "b@x") << o;
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/300");
}

// An order's lines live only in its items JSON: the script reads them back from it, so the
// sidecar's rendering (OrderPlaced) and the script's (after an item change) must be one text,
// and a product name that looks like a line must not be read as one.
TEST_F(ProjectionScript, ItemsJsonIsOneFormatAndNamesCannotForgeLines) {
  mark("0/50");
  const std::string tricky = R"(x\",\"quantity\":9,\"unit_price\":\"1.00\"} ,\"quantity\":7 \\)";
  run(ScriptMode::Transaction,
      calls({begin("0/100"),
             ev("0/100", 0, "UserRegistered", R"("user_id":1,"name":"ann","email":"a@x","is_active":true)"),
             ev("0/100", 1, "ProductAdded", R"("product_id":1,"name":")" + tricky + R"(","price":"1.50","is_active":true)"),
             ev("0/100", 2, "ProductAdded", R"("product_id":10,"name":"ink","price":"9.99","is_active":true)"),
             ev("0/100", 3, "OrderPlaced", R"("order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":10,"quantity":1,"unit_price":"9.99"},{"product_id":1,"quantity":2,"unit_price":"1.50"}],"total":"12.99")"),
             commit("0/100", 4)}));
  const std::string placed = hget("order_details:1", "items");
  EXPECT_EQ(placed, R"([{"product_id":1,"product_name":")" + tricky +
                        R"(","quantity":2,"unit_price":"1.50","line_total":"3.00"},)"
                        R"({"product_id":10,"product_name":"ink","quantity":1,"unit_price":"9.99","line_total":"9.99"}])");
  EXPECT_EQ(hget("order_details:1", "total"), "12.99");
  // The same line written again: the script re-renders every line from what it read back.
  EXPECT_EQ(run(ScriptMode::Transaction,
                calls({begin("0/200"),
                       ev("0/200", 0, "OrderItemChanged", R"("order_id":1,"product_id":10,"quantity":1,"unit_price":"9.99")"),
                       commit("0/200", 1)}))[0],
            "applied");
  EXPECT_EQ(hget("order_details:1", "items"), placed);
  EXPECT_EQ(hget("order_details:1", "item_count"), "2");
  EXPECT_EQ(hget("order_details:1", "lsn"), "0/200");
  // Removing a line subtracts what the order really held (2 x 1.50), whatever the name says.
  run(ScriptMode::Transaction,
      calls({begin("0/300"), ev("0/300", 0, "OrderItemRemoved", R"("order_id":1,"product_id":1)"), commit("0/300", 1)}));
  EXPECT_EQ(hget("order_details:1", "total"), "9.99");
  EXPECT_EQ(hget("order_details:1", "item_count"), "1");
  EXPECT_EQ(hget("product:1", "units_sold"), "0");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "9.99");
}

TEST_F(ProjectionScript, TruncateOfItemsEmptiesEveryOrder) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  EXPECT_EQ(run(ScriptMode::Transaction,
                calls({begin("0/200"), ev("0/200", 0, "Truncated", R"("tables":["order_items"])"), commit("0/200", 1)}))[0],
            "applied");
  EXPECT_EQ(hget("order_details:1", "items"), "[]");
  EXPECT_EQ(hget("order_details:1", "item_count"), "0");
  EXPECT_EQ(hget("order_details:1", "total"), "0.00");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "0.00");
  EXPECT_EQ(hget("product:1", "units_sold"), "0");
  run(ScriptMode::Transaction,
      calls({begin("0/300"), ev("0/300", 0, "Truncated", R"("tables":["orders","order_items"])"), commit("0/300", 1)}));
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user_orders:1"}).get()), "0");
  EXPECT_EQ(hget("user:1", "order_count"), "0");
}

// Redis keeps what a script wrote before it failed. A call that fails midway leaves the
// checkpoint marked dirty, and no later call applies anything on top of it.
TEST_F(ProjectionScript, ACallThatFailsMidwayLeavesTheCheckpointDirty) {
  mark("0/50");
  auto cs = calls(setup_txn("0/100"));
  ScriptCall bad;  // a second transaction whose event the script cannot apply
  bad.lsn_text = "0/200";
  bad.final = true;
  bad.events = 1;
  bad.tokens = {"NoSuchEvent", "0", "0"};
  cs.push_back(bad);
  projection::ScriptBatch batch;
  for (auto& c : cs) batch.add(std::move(c));
  auto r = redis_->command(batch.take_argv(sha_, ScriptMode::Transaction, "pgcqrs", "2026-01-01T00:00:00.000000Z", "0/0", 1000),
                           true);
  ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  // The first transaction's order was written, its counters (flushed at the end) were not:
  // an inconsistent read model, which only a rebuild repairs.
  EXPECT_EQ(hget("order_details:1", "total"), "3.00");
  EXPECT_EQ(hget("user:1", "order_count"), "0");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/50");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "dirty"), "0/100");
  // A retry applies nothing on top of it.
  EXPECT_EQ(run(ScriptMode::Transaction, calls(setup_txn("0/100"))), (std::vector<std::string>{"dirty", "0/100"}));
  EXPECT_EQ(hget("user:1", "order_count"), "0");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/50");
  // A finished rebuild (its mark) clears it.
  mark("0/300");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "dirty"), "");
}

// A product in more orders than an intset holds (512) is a hashtable set: its rename's fan-out
// pages through it with SSCAN, resuming from partial_cursor, and reaches every order once done.
TEST_F(ProjectionScript, ProductFanOutPagesThroughALargeSetWithSscan) {
  mark("0/50");
  const int orders = 1200;
  std::vector<std::string> setup = setup_txn("0/100");
  setup.pop_back();
  for (int o = 2; o <= orders; ++o)
    setup.push_back(ev("0/100", o + 1, "OrderPlaced",
                       R"("order_id":)" + std::to_string(o) +
                           R"(,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.50"}],"total":"1.50")"));
  setup.push_back(commit("0/100", orders + 2));
  ASSERT_EQ(run(ScriptMode::Transaction, calls(setup, 5000))[0], "applied");
  ASSERT_EQ(redis::reply_string(redis_->command({"OBJECT", "ENCODING", "product_orders:1"}).get()), "hashtable");

  auto rename = calls({begin("0/200"), ev("0/200", 0, "ProductRenamed", R"("product_id":1,"old_name":"pen","name":"Pen")"),
                       commit("0/200", 1)});
  const int budget = 100;
  int calls_made = 0, stopped_midway = 0;
  std::string status;
  do {
    status = run(ScriptMode::Transaction, rename, "0/0", budget)[0];
    ++calls_made;
    if (status == "more") {
      std::string cursor = hget("pgcqrs:checkpoint", "partial_cursor");
      EXPECT_NE(cursor, "");
      if (cursor != "0") ++stopped_midway;
    }
  } while (status == "more" && calls_made < 100);
  EXPECT_EQ(status, "applied");
  EXPECT_GE(calls_made, 6);  // COUNT is a hint; about orders / budget calls
  EXPECT_GE(stopped_midway, 5);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  int renamed = 0;
  for (int o = 1; o <= orders; ++o) {
    std::string items = hget("order_details:" + std::to_string(o), "items");
    if (items.find("\"product_name\":\"Pen\"") != std::string::npos) ++renamed;
  }
  EXPECT_EQ(renamed, orders);
}

// An item change and then a status change of one order in one call: the order's `lsn` is
// the status change's, the newest (the render at the end of the call used to write the item
// change's).
TEST_F(ProjectionScript, OrderLsnIsTheNewestChangeWithinOneCall) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  auto cs = calls({begin("0/110"),
                   ev("0/110", 0, "OrderItemChanged", R"("order_id":1,"product_id":1,"quantity":3,"unit_price":"1.50")"),
                   commit("0/110", 1), begin("0/120"),
                   ev("0/120", 0, "OrderStatusChanged", R"("order_id":1,"to":"paid","updated_at":"2026-01-02T00:00:00.000000Z")"),
                   commit("0/120", 1)});
  EXPECT_EQ(run(ScriptMode::Transaction, cs)[1], "2");
  EXPECT_EQ(hget("order_details:1", "lsn"), "0/120");
  EXPECT_EQ(hget("order_details:1", "total"), "4.50");
  auto page = redis_->command({"LINDEX", "user_latest:1", "0"});
  EXPECT_NE(redis::reply_string(page.get()).find(R"("status":"paid")"), std::string::npos);
  EXPECT_NE(redis::reply_string(page.get()).find(R"("lsn":"0/120"})"), std::string::npos);
}

std::vector<std::string> place(const std::string& lsn, int order, const std::string& created) {
  return {begin(lsn),
          ev(lsn, 0, "OrderPlaced", R"("order_id":)" + std::to_string(order) + R"(,"user_id":1,"status":"pending","created_at":")" +
                                       created + R"(","updated_at":")" + created +
                                       R"(","items":[{"product_id":1,"quantity":1,"unit_price":"1.50"}],"total":"1.50")"),
          commit(lsn, 1)};
}

TEST_F(ProjectionScript, MultiPlacesOrdersAndMovesTheCheckpoint) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  auto cs = calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z"));
  auto more = calls(place("0/120", 3, "2026-01-04T00:00:00.000000Z"));
  cs.insert(cs.end(), more.begin(), more.end());
  ASSERT_TRUE(projection::multi_eligible(cs[0]));
  EXPECT_EQ(run_multi(cs), "applied");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/120");
  EXPECT_EQ(hget("order_details:3", "items"),
            R"([{"product_id":1,"product_name":"pen","quantity":1,"unit_price":"1.50","line_total":"1.50"}])");
  EXPECT_EQ(hget("order_details:3", "user_name"), "ann");
  EXPECT_EQ(hget("user:1", "order_count"), "3");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "6.00");
  EXPECT_EQ(hget("product:1", "units_sold"), "4");
  EXPECT_EQ(hget("product:1", "revenue"), "6.00");
  EXPECT_EQ(hget("product:1", "lsn"), "0/120");
  auto page = redis_->command({"LRANGE", "user_latest:1", "0", "-1"});
  ASSERT_EQ(page->elements, 3u);
  EXPECT_EQ(redis::reply_string(page->element[0]).rfind(R"({"order_id":3,)", 0), 0u);
  // A replay changes nothing.
  EXPECT_EQ(run_multi(calls(place("0/120", 3, "2026-01-04T00:00:00.000000Z"))), "applied");
  EXPECT_EQ(hget("user:1", "order_count"), "3");
}

TEST_F(ProjectionScript, MultiRefusesWhatTheScriptRefuses) {
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z"))), "stop: nocheckpoint");
  mark("0/50");
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")), nullptr, "0/60"), "stop: behind");
  redis_->command({"HSET", "pgcqrs:checkpoint", "dirty", "0/40"});
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z"))), "stop: dirty");
  redis_->command({"HDEL", "pgcqrs:checkpoint", "dirty"});
  redis_->command({"HSET", "pgcqrs:checkpoint", "partial_cursor", "5"});
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z"))),
            "fallback: a transaction or fan-out is partly applied");
  redis_->command({"HDEL", "pgcqrs:checkpoint", "partial_cursor"});
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:2"}).get()), "0");
}

TEST_F(ProjectionScript, MultiHandsTheScriptWhatItDoesNotRender) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  // Order 1 placed again (the script deletes the old one first).
  EXPECT_EQ(run_multi(calls(place("0/110", 1, "2026-01-03T00:00:00.000000Z"))), "fallback: an order is placed again");
  EXPECT_FALSE(projection::multi_eligible(calls(setup_txn("0/120"))[0]));
}

TEST_F(ProjectionScript, MultiCacheIsDroppedWhenSomeoneElseMovedTheCheckpoint) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  projection::MultiCache cache;
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")), &cache), "applied");
  ASSERT_EQ(cache.users.count("1"), 1u);
  // Another writer: the script renames the user and moves the checkpoint.
  run(ScriptMode::Transaction,
      calls({begin("0/120"), ev("0/120", 0, "UserRenamed", R"("user_id":1,"name":"bo")"), commit("0/120", 1)}));
  EXPECT_EQ(run_multi(calls(place("0/130", 3, "2026-01-04T00:00:00.000000Z")), &cache),
            "fallback: Redis is not where the batch rendered from the cache expected it");
  EXPECT_TRUE(cache.users.empty());
  EXPECT_EQ(run_multi(calls(place("0/130", 3, "2026-01-04T00:00:00.000000Z")), &cache), "applied");
  EXPECT_EQ(hget("order_details:3", "user_name"), "bo");
}

TEST_F(ProjectionScript, MultiCancelSubtractsAndRendersThePage) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  projection::MultiCache cache;
  EXPECT_EQ(run_multi(calls({begin("0/110"),
                             ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                             commit("0/110", 1)}),
                      &cache),
            "applied");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "0.00");
  EXPECT_EQ(hget("user:1", "order_count"), "1");
  EXPECT_EQ(hget("product:1", "units_sold"), "0");
  EXPECT_EQ(hget("product:1", "revenue"), "0.00");
  EXPECT_EQ(hget("order_details:1", "lsn"), "0/110");
  auto page = redis_->command({"LINDEX", "user_latest:1", "0"});
  EXPECT_NE(redis::reply_string(page.get()).find(R"("status":"cancelled")"), std::string::npos);
}

TEST(CjsonString, EscapesAsRedisCjsonDoes) {
  EXPECT_EQ(projection::cjson_string("a\"b\\c/d\n\t\x01\x7f\xc3\xa9"), "\"a\\\"b\\\\c\\/d\\n\\t\\u0001\\u007f\xc3\xa9\"");
}

TEST_F(ProjectionScript, MultiRendersFromTheCacheAndConfirmsBeforeWriting) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  projection::MultiCache cache;
  bool prerendered = true;
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_FALSE(prerendered);  // an empty cache: reads first
  EXPECT_EQ(run_multi(calls(place("0/120", 3, "2026-01-04T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_TRUE(prerendered);  // everything it needs is cached
  EXPECT_EQ(hget("user:1", "order_count"), "3");
  // Someone else moves the checkpoint: the rendered batch is not written, the cache is dropped.
  redis_->command({"HSET", "pgcqrs:checkpoint", "lsn", "0/125"});
  EXPECT_EQ(run_multi(calls(place("0/130", 4, "2026-01-05T00:00:00.000000Z")), &cache, "0/0", &prerendered),
            "fallback: Redis is not where the batch rendered from the cache expected it");
  EXPECT_TRUE(prerendered);
  EXPECT_TRUE(cache.users.empty());
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:4"}).get()), "0");
  EXPECT_EQ(hget("user:1", "order_count"), "3");
  // Refilled by a batch that reads, the cache renders the next one: an order placed and
  // cancelled in one batch.
  EXPECT_EQ(run_multi(calls(place("0/130", 4, "2026-01-05T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_FALSE(prerendered);
  auto cs = calls(place("0/140", 5, "2026-01-06T00:00:00.000000Z"));
  auto cancel = calls({begin("0/150"),
                       ev("0/150", 0, "OrderStatusChanged", R"("order_id":5,"to":"cancelled","updated_at":"2026-01-07T00:00:00.000000Z")"),
                       commit("0/150", 1)});
  cs.insert(cs.end(), cancel.begin(), cancel.end());
  EXPECT_EQ(run_multi(cs, &cache, "0/0", &prerendered), "applied");
  EXPECT_TRUE(prerendered);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/150");
  EXPECT_EQ(hget("order_details:5", "status"), "cancelled");
  EXPECT_EQ(hget("user:1", "order_count"), "5");
  EXPECT_EQ(hget("user:1", "lifetime_value"), "7.50");  // orders 1 to 4; 5 was cancelled
  EXPECT_EQ(hget("product:1", "units_sold"), "5");
  auto page = redis_->command({"LINDEX", "user_latest:1", "0"});
  EXPECT_NE(redis::reply_string(page.get()).find(R"("order_id":5,)"), std::string::npos);
  EXPECT_NE(redis::reply_string(page.get()).find(R"("status":"cancelled")"), std::string::npos);
}

TEST_F(ProjectionScript, MultiCacheKeepsWhatAScriptCallLeavesAlone) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  projection::MultiCache cache;
  bool prerendered = true;
  EXPECT_EQ(run_multi(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")), &cache), "applied");
  ASSERT_EQ(cache.users.count("1"), 1u);
  ASSERT_EQ(cache.products.count("1"), 1u);

  // A reprice writes only its product's hash: the product goes, the user stays.
  auto reprice = calls({begin("0/120"), ev("0/120", 0, "ProductRepriced", R"("product_id":1,"price":"2.00")"),
                        commit("0/120", 1)});
  EXPECT_TRUE(cache.keep_past(reprice));
  EXPECT_EQ(cache.products.count("1"), 0u);
  EXPECT_EQ(cache.users.count("1"), 1u);
  EXPECT_EQ(cache.lsn, *pgcqrs::parse_lsn("0/120"));
  run(ScriptMode::Transaction, std::move(reprice));
  EXPECT_EQ(run_multi(calls(place("0/130", 3, "2026-01-04T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_FALSE(prerendered);  // the product is read again
  EXPECT_EQ(hget("user:1", "order_count"), "3");
  EXPECT_EQ(hget("product:1", "units_sold"), "4");

  // A registration of another user leaves everything this batch needs: rendered ahead.
  auto other = calls({begin("0/140"),
                      ev("0/140", 0, "UserRegistered", R"("user_id":2,"name":"cy","email":"c@x","is_active":true,"created_at":"2026-01-01T00:00:00Z")"),
                      commit("0/140", 1)});
  EXPECT_TRUE(cache.keep_past(other));
  run(ScriptMode::Transaction, std::move(other));
  EXPECT_EQ(run_multi(calls(place("0/150", 4, "2026-01-05T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_TRUE(prerendered);
  EXPECT_EQ(hget("user:1", "order_count"), "4");

  // A rename reaches the user's orders and page: the user goes, and the next order has the name.
  auto rename = calls({begin("0/160"), ev("0/160", 0, "UserRenamed", R"("user_id":1,"name":"bo")"), commit("0/160", 1)});
  EXPECT_TRUE(cache.keep_past(rename));
  EXPECT_EQ(cache.users.count("1"), 0u);
  run(ScriptMode::Transaction, std::move(rename));
  EXPECT_EQ(run_multi(calls(place("0/170", 5, "2026-01-06T00:00:00.000000Z")), &cache, "0/0", &prerendered), "applied");
  EXPECT_FALSE(prerendered);
  EXPECT_EQ(hget("order_details:5", "user_name"), "bo");
  EXPECT_EQ(hget("user:1", "order_count"), "5");

  // Order events, a product renamed into orders' items, part of a transaction: not narrowed.
  EXPECT_FALSE(cache.keep_past(calls(place("0/180", 6, "2026-01-07T00:00:00.000000Z"))));
  EXPECT_FALSE(cache.keep_past(
      calls({begin("0/190"), ev("0/190", 0, "ProductRenamed", R"("product_id":1,"name":"ink")"), commit("0/190", 1)})));
  auto partial = calls({begin("0/200"), ev("0/200", 0, "UserRenamed", R"("user_id":1,"name":"di")"), commit("0/200", 1)});
  partial[0].final = false;
  EXPECT_FALSE(cache.keep_past(partial));
}

TEST_F(ProjectionScript, MultiStatusChangeWritesTheEntryOrTheWholePage) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  run(ScriptMode::Transaction, calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")));
  auto paid = [this](const std::string& lsn, int order) {
    return calls({begin(lsn),
                  ev(lsn, 0, "OrderStatusChanged",
                     R"("order_id":)" + std::to_string(order) + R"(,"to":"paid","updated_at":"2026-01-08T00:00:00.000000Z")"),
                  commit(lsn, 1)});
  };
  // The page holds order 1 under order 2: its entry is written again in place.
  EXPECT_EQ(run_multi(paid("0/120", 1)), "applied");
  auto page = redis_->command({"LRANGE", "user_latest:1", "0", "-1"});
  ASSERT_EQ(page->elements, 2u);
  std::string second = redis::reply_string(page->element[1]);
  EXPECT_EQ(second.rfind(R"({"order_id":1,)", 0), 0u);
  EXPECT_NE(second.find(R"("status":"paid","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-08T00:00:00.000000Z")"),
            std::string::npos);
  EXPECT_NE(second.find(R"("lsn":"0/120"})"), std::string::npos);
  // A page that does not hold the order where its rank says is rendered whole.
  redis_->command({"RPOP", "user_latest:1"});
  EXPECT_EQ(run_multi(paid("0/130", 1)), "applied");
  page = redis_->command({"LRANGE", "user_latest:1", "0", "-1"});
  ASSERT_EQ(page->elements, 2u);
  EXPECT_EQ(redis::reply_string(page->element[0]).rfind(R"({"order_id":2,)", 0), 0u);
  EXPECT_NE(redis::reply_string(page->element[1]).find(R"("lsn":"0/130"})"), std::string::npos);
}

// The lost update of issue 19: after a kill -9 the stream replays from the confirmed position,
// so one batch holds a placement at or below the checkpoint and a later status change of that
// order. The batch must not count the status change as applied without writing it.
TEST_F(ProjectionScript, MultiReplayedPlacementKeepsItsLaterStatusChange) {
  mark("0/50");
  run(ScriptMode::Transaction, calls(setup_txn("0/100")));
  for (bool with_cache : {false, true}) {
    SCOPED_TRACE(with_cache ? "rendered from the cache" : "rendered after reads");
    const std::string order = with_cache ? "3" : "2", placed_at = with_cache ? "0/130" : "0/110",
                paid_at = with_cache ? "0/140" : "0/120";
    projection::MultiCache cache;
    projection::MultiCache* c = with_cache ? &cache : nullptr;
    auto placement = [&] { return calls(place(placed_at, std::stoi(order), "2026-01-03T00:00:00.000000Z")); };
    EXPECT_EQ(run_multi(placement(), c), "applied");
    ASSERT_EQ(hget("pgcqrs:checkpoint", "lsn"), placed_at);
    auto replay = placement();
    auto paid = calls({begin(paid_at),
                       ev(paid_at, 0, "OrderStatusChanged",
                          R"("order_id":)" + order + R"(,"to":"paid","updated_at":"2026-01-08T00:00:00.000000Z")"),
                       commit(paid_at, 1)});
    replay.insert(replay.end(), paid.begin(), paid.end());
    // The session sends a batch the transaction projection hands back to the script.
    EXPECT_EQ(run_multi(replay, c), "fallback: a replayed order changes status");
    EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), placed_at);
    EXPECT_EQ(run(ScriptMode::Transaction, std::move(replay)), (std::vector<std::string>{"applied", "1", "1", "1"}));
    EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), paid_at);
    EXPECT_EQ(hget("order_details:" + order, "status"), "paid");
    EXPECT_EQ(hget("order_details:" + order, "lsn"), paid_at);
    auto top = redis_->command({"LINDEX", "user_latest:1", "0"});
    EXPECT_NE(redis::reply_string(top.get()).find(R"("status":"paid")"), std::string::npos);
  }
}
