// The projector against a real Redis (started by run_with_redis.sh), batch by batch as the
// sidecar drives it: reads round by round, then one MULTI/EXEC. Checkpoint verdicts, replays
// skipped, a chunked transaction interrupted and replayed applies once, fan-outs in bounded
// batches, the items JSON, what the view keeps between batches and when it drops it.
#include <algorithm>

#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "projection_fixture.hpp"

using namespace projection_fixture;

namespace {

std::vector<std::string> setup_txn(const std::string& lsn) {
  return {begin(lsn),
          ev(lsn, 0, "UserRegistered", R"("user_id":1,"name":"ann","email":"a@x","is_active":true,"created_at":"2026-01-01T00:00:00Z")"),
          ev(lsn, 1, "ProductAdded", R"("product_id":1,"name":"pen","price":"1.50","is_active":true)"),
          ev(lsn, 2, "OrderPlaced", R"("order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":2,"unit_price":"1.50"}],"total":"3.00")"),
          commit(lsn, 3)};
}


}  // namespace

TEST_F(Projection, MarkRecordsTheKeyLayout) {
  mark("0/50");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "layout"), projection::kLayout);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/50");
}

TEST_F(Projection, RefusesToStreamIntoARedisWithoutCheckpoint) {
  EXPECT_EQ(run(calls(setup_txn("0/100")))[0], "nocheckpoint");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:{1}:1"}).get()), "0");
}

TEST_F(Projection, AppliesOnceAndSkipsReplays) {
  mark("0/50");
  EXPECT_EQ(run(calls(setup_txn("0/100"))),
            (std::vector<std::string>{"applied", "1", "0", "3"}));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/100");
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "3.00");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "2");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "3.00");
  EXPECT_EQ(hget("user:{1}:1", "lsn"), "0/100");
  EXPECT_EQ(run(calls(setup_txn("0/100"))),
            (std::vector<std::string>{"applied", "0", "1", "0"}));
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "2");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "1");
}

TEST_F(Projection, ComparesLsnsAsNumbers) {
  mark("0/FFFFFFFF");
  // 1/0 > 0/FFFFFFFF although "1/0" < "0/F..." is false as strings only by accident; 0/9 vs 0/10 is the trap.
  EXPECT_EQ(run(calls(setup_txn("1/0")))[1], "1");
  mark("0/9");
  auto replay = calls({begin("0/10"), ev("0/10", 0, "UserRenamed", R"("user_id":1,"old_name":"ann","name":"Ann")"), commit("0/10", 1)});
  EXPECT_EQ(run(replay)[1], "1");  // 0/10 is after 0/9
  EXPECT_EQ(hget("user:{1}:1", "name"), "Ann");
}

TEST_F(Projection, DetectsARedisBehindTheSlot) {
  mark("0/50");
  EXPECT_EQ(run(calls(setup_txn("0/100")), "0/60"),
            (std::vector<std::string>{"behind", "0/50"}));
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:{1}:1"}).get()), "0");
}

TEST_F(Projection, InterruptedChunkedTransactionReplaysExactlyOnce) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
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
  EXPECT_EQ(run({cs[0]})[3], "2");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_seq"), "1");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/100");
  // After a restart PostgreSQL sends the whole transaction again.
  EXPECT_EQ(run(calls(big, 2)), (std::vector<std::string>{"applied", "1", "0", "4"}));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_lsn"), "");
  // OrderItemAdded for an existing line replaces it (last one wins: quantity 5).
  EXPECT_EQ(hget("product:{2}:2", "units_sold"), "5");
  EXPECT_EQ(hget("product:{2}:2", "revenue"), "10.00");
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "13.00");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "13.00");
}

TEST_F(Projection, CancelAndDeleteSubtractOnce) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  auto cancel = calls({begin("0/110"),
                       ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"user_id":1,"from":"pending","to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                       commit("0/110", 1)});
  auto del = calls({begin("0/120"), ev("0/120", 0, "OrderDeleted", R"("order_id":1,"user_id":1,"status":"cancelled")"),
                    ev("0/120", 1, "OrderItemRemoved", R"("order_id":1,"product_id":1,"quantity":2,"unit_price":"1.50")"),
                    commit("0/120", 2)});
  auto both = cancel;
  both.insert(both.end(), del.begin(), del.end());
  EXPECT_EQ(run(both)[1], "2");
  EXPECT_EQ(run(calls({begin("0/110"),
                                                ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"user_id":1,"from":"pending","to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                                                commit("0/110", 1)}))[2], "1");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "0");
  EXPECT_EQ(hget("product:{1}:1", "revenue"), "0.00");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "0");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "0.00");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:{1}:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"SCARD", "product_orders:{1}:1"}).get()), "0");
}

TEST_F(Projection, LargeFanOutRunsInBoundedBatchesAndRefusesWhatFollows) {
  mark("0/50");
  std::vector<std::string> setup = setup_txn("0/100");
  setup.pop_back();
  for (int o = 2; o <= 5; ++o)
    setup.push_back(ev("0/100", o + 1, "OrderPlaced",
                       R"("order_id":)" + std::to_string(o) +
                           R"(,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:0)" + std::to_string(o) +
                           R"(.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.50"}],"total":"1.50")"));
  setup.push_back(commit("0/100", 7));
  ASSERT_EQ(run(calls(setup))[0], "applied");

  auto rename = calls({begin("0/200"), ev("0/200", 0, "UserRenamed", R"("user_id":1,"old_name":"ann","name":"Ann")"),
                       ev("0/200", 1, "ProductRenamed", R"("product_id":1,"old_name":"pen","name":"Pen")"),
                       commit("0/200", 2)});
  auto after = calls({begin("0/300"), ev("0/300", 0, "UserEmailChanged", R"("user_id":1,"old_email":"a@x","email":"b@x")"),
                      commit("0/300", 1)});
  const int budget = 2;
  EXPECT_EQ(run(rename, "0/0", budget)[0], "more");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "2");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_seq"), "-1");
  // The next transaction must not overtake the unfinished rename: refused, nothing written.
  EXPECT_EQ(run(after, "0/0", budget)[0], "error");
  EXPECT_EQ(hget("user:{1}:1", "email"), "a@x");
  // Sent again until done: 5 orders renamed for the user, 2 per batch, then the product's 5
  // re-rendered in the third batch: a set this small is an intset, which SSCAN returns whole.
  int calls_made = 1;
  std::string status;
  do {
    status = run(rename, "0/0", budget)[0];
    ++calls_made;
  } while (status == "more" && calls_made < 20);
  EXPECT_EQ(status, "applied");
  EXPECT_EQ(calls_made, 3);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "");
  for (int o = 1; o <= 5; ++o) {
    EXPECT_EQ(hget(tagged("order_details:", o), "user_name"), "Ann") << o;
    EXPECT_NE(hget(tagged("order_details:", o), "items").find("\"product_name\":\"Pen\""), std::string::npos) << o;
    EXPECT_EQ(hget(tagged("order_details:", o), "lsn"), "0/200") << o;
  }
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "6");
  EXPECT_EQ(run(after, "0/0", budget)[0], "more");  // its own fan-out
  EXPECT_EQ(run(after, "0/0", budget)[0], "more");
  EXPECT_EQ(run(after, "0/0", budget)[0], "applied");
  for (int o = 1; o <= 5; ++o) EXPECT_EQ(hget(tagged("order_details:", o), "user_email"), "b@x") << o;
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/300");
}

// An order's lines live only in its items JSON: the projector reads them back from it, so the
// sidecar's rendering (OrderPlaced) and the projector's (after an item change) must be one text,
// and a product name that looks like a line must not be read as one.
TEST_F(Projection, ItemsJsonIsOneFormatAndNamesCannotForgeLines) {
  mark("0/50");
  const std::string tricky = R"(x\",\"quantity\":9,\"unit_price\":\"1.00\"} ,\"quantity\":7 \\)";
  run(
      calls({begin("0/100"),
             ev("0/100", 0, "UserRegistered", R"("user_id":1,"name":"ann","email":"a@x","is_active":true)"),
             ev("0/100", 1, "ProductAdded", R"("product_id":1,"name":")" + tricky + R"(","price":"1.50","is_active":true)"),
             ev("0/100", 2, "ProductAdded", R"("product_id":10,"name":"ink","price":"9.99","is_active":true)"),
             ev("0/100", 3, "OrderPlaced", R"("order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":10,"quantity":1,"unit_price":"9.99"},{"product_id":1,"quantity":2,"unit_price":"1.50"}],"total":"12.99")"),
             commit("0/100", 4)}));
  const std::string placed = hget("order_details:{1}:1", "items");
  EXPECT_EQ(placed, R"([{"product_id":1,"product_name":")" + tricky +
                        R"(","quantity":2,"unit_price":"1.50","line_total":"3.00"},)"
                        R"({"product_id":10,"product_name":"ink","quantity":1,"unit_price":"9.99","line_total":"9.99"}])");
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "12.99");
  // The same line written again: every line is rendered again from what was read back.
  EXPECT_EQ(run(
                calls({begin("0/200"),
                       ev("0/200", 0, "OrderItemChanged", R"("order_id":1,"product_id":10,"quantity":1,"unit_price":"9.99")"),
                       commit("0/200", 1)}))[0],
            "applied");
  EXPECT_EQ(hget("order_details:{1}:1", "items"), placed);
  EXPECT_EQ(hget("order_details:{1}:1", "item_count"), "2");
  EXPECT_EQ(hget("order_details:{1}:1", "lsn"), "0/200");
  // Removing a line subtracts what the order really held (2 x 1.50), whatever the name says.
  run(
      calls({begin("0/300"), ev("0/300", 0, "OrderItemRemoved", R"("order_id":1,"product_id":1)"), commit("0/300", 1)}));
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "9.99");
  EXPECT_EQ(hget("order_details:{1}:1", "item_count"), "1");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "0");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "9.99");
}

TEST_F(Projection, TruncateOfItemsEmptiesEveryOrder) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  EXPECT_EQ(run(
                calls({begin("0/200"), ev("0/200", 0, "Truncated", R"("tables":["order_items"])"), commit("0/200", 1)}))[0],
            "applied");
  EXPECT_EQ(hget("order_details:{1}:1", "items"), "[]");
  EXPECT_EQ(hget("order_details:{1}:1", "item_count"), "0");
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "0.00");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "0.00");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "0");
  run(
      calls({begin("0/300"), ev("0/300", 0, "Truncated", R"("tables":["orders","order_items"])"), commit("0/300", 1)}));
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:{1}:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user_orders:{1}:1"}).get()), "0");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "0");
}

// A product in more orders than an intset holds (512) is a hashtable set: its rename's fan-out
// pages through it with SSCAN, resuming from partial_cursor, and reaches every order once done.
TEST_F(Projection, ProductFanOutPagesThroughALargeSetWithSscan) {
  mark("0/50");
  const int orders = 1200;
  std::vector<std::string> setup = setup_txn("0/100");
  setup.pop_back();
  for (int o = 2; o <= orders; ++o)
    setup.push_back(ev("0/100", o + 1, "OrderPlaced",
                       R"("order_id":)" + std::to_string(o) +
                           R"(,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.50"}],"total":"1.50")"));
  setup.push_back(commit("0/100", orders + 2));
  ASSERT_EQ(run(calls(setup, 5000))[0], "applied");
  ASSERT_EQ(redis::reply_string(redis_->command({"OBJECT", "ENCODING", "product_orders:{1}:1"}).get()), "hashtable");

  auto rename = calls({begin("0/200"), ev("0/200", 0, "ProductRenamed", R"("product_id":1,"old_name":"pen","name":"Pen")"),
                       commit("0/200", 1)});
  const int budget = 100;
  int calls_made = 0, stopped_midway = 0;
  std::string status;
  do {
    status = run(rename, "0/0", budget)[0];
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
    std::string items = hget(tagged("order_details:", o), "items");
    if (items.find("\"product_name\":\"Pen\"") != std::string::npos) ++renamed;
  }
  EXPECT_EQ(renamed, orders);
}

// An item change and then a status change of one order in one call: the order's `lsn` is
// the status change's, the newest (the render at the end of the call used to write the item
// change's).
TEST_F(Projection, OrderLsnIsTheNewestChangeWithinOneCall) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  auto cs = calls({begin("0/110"),
                   ev("0/110", 0, "OrderItemChanged", R"("order_id":1,"product_id":1,"quantity":3,"unit_price":"1.50")"),
                   commit("0/110", 1), begin("0/120"),
                   ev("0/120", 0, "OrderStatusChanged", R"("order_id":1,"to":"paid","updated_at":"2026-01-02T00:00:00.000000Z")"),
                   commit("0/120", 1)});
  EXPECT_EQ(run(cs)[1], "2");
  EXPECT_EQ(hget("order_details:{1}:1", "lsn"), "0/120");
  EXPECT_EQ(hget("order_details:{1}:1", "total"), "4.50");
  auto page = redis_->command({"LINDEX", "user_latest:{1}:1", "0"});
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

TEST_F(Projection, RefusesADirtyCheckpointAndWritesNothing) {
  mark("0/50");
  redis_->command({"HSET", "pgcqrs:checkpoint", "dirty", "0/40"});
  EXPECT_EQ(run(calls(setup_txn("0/100"))), (std::vector<std::string>{"dirty", "0/40"}));
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:{1}:1"}).get()), "0");
  mark("0/60");  // a finished rebuild (its mark) clears it
  EXPECT_EQ(hget("pgcqrs:checkpoint", "dirty"), "");
  EXPECT_EQ(run(calls(setup_txn("0/100")))[0], "applied");
}

// Every write of a batch goes in one MULTI/EXEC after all its reads: a batch the projector
// cannot apply (here, one that skips a fan-out the checkpoint holds unfinished) fails before
// anything reaches Redis.
TEST_F(Projection, ABatchThatCannotBeAppliedFailsBeforeAnyWrite) {
  mark("0/50");
  redis_->command({"HSET", "pgcqrs:checkpoint", "partial_lsn", "0/90", "partial_seq", "0", "partial_cursor", "5"});
  auto r = run(calls(setup_txn("0/100")));
  ASSERT_EQ(r[0], "error");
  EXPECT_EQ(r[1], "the checkpoint holds an unfinished fan-out at 0/90 that the batch ending at 0/100 does not start with");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "order_details:{1}:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:{1}:1"}).get()), "0");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/50");
}

// The view keeps what a batch leaves: the next batch for the same user and product is written
// after the one round that confirms the checkpoint (WATCH, HGETALL), with nothing else read.
TEST_F(Projection, ABatchOnWhatTheViewKnowsTakesOneRound) {
  mark("0/50");
  EXPECT_EQ(run(calls(setup_txn("0/100")))[0], "applied");
  EXPECT_EQ(run(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")))[0], "applied");
  EXPECT_EQ(run(calls(place("0/120", 3, "2026-01-04T00:00:00.000000Z")))[0], "applied");
  EXPECT_EQ(rounds_, 1);
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "3");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "6.00");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "4");
  EXPECT_EQ(hget("product:{1}:1", "lsn"), "0/120");
  auto page = redis_->command({"LRANGE", "user_latest:{1}:1", "0", "-1"});
  ASSERT_EQ(page->elements, 3u);
  EXPECT_EQ(redis::reply_string(page->element[0]).rfind(R"({"order_id":3,)", 0), 0u);
  // A replay changes nothing.
  EXPECT_EQ(run(calls(place("0/120", 3, "2026-01-04T00:00:00.000000Z"))),
            (std::vector<std::string>{"applied", "0", "1", "0"}));
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "3");
}

// Someone else moved the checkpoint: what the view knew is dropped, not written over Redis.
TEST_F(Projection, TheViewIsDroppedWhenSomeoneElseMovedTheCheckpoint) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  EXPECT_EQ(run(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")))[0], "applied");
  // Another writer renames the user and moves the checkpoint.
  redis_->command({"HSET", "user:{1}:1", "name", "bo"});
  redis_->command({"HSET", "pgcqrs:checkpoint", "lsn", "0/115"});
  EXPECT_EQ(run(calls(place("0/130", 3, "2026-01-04T00:00:00.000000Z")))[0], "applied");
  EXPECT_GT(rounds_, 1);
  EXPECT_EQ(hget("order_details:{3}:3", "user_name"), "bo");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "3");
}

TEST_F(Projection, CancelSubtractsAndRendersThePage) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  EXPECT_EQ(run(calls({begin("0/110"),
                       ev("0/110", 0, "OrderStatusChanged", R"("order_id":1,"to":"cancelled","updated_at":"2026-01-02T00:00:00.000000Z")"),
                       commit("0/110", 1)}))[0],
            "applied");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "0.00");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "1");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "0");
  EXPECT_EQ(hget("product:{1}:1", "revenue"), "0.00");
  EXPECT_EQ(hget("order_details:{1}:1", "lsn"), "0/110");
  auto page = redis_->command({"LINDEX", "user_latest:{1}:1", "0"});
  EXPECT_NE(redis::reply_string(page.get()).find(R"("status":"cancelled")"), std::string::npos);
}

// The lost update of issue 19: after a kill -9 the stream replays from the confirmed position,
// so one batch holds a placement at or below the checkpoint and a later status change of that
// order. The status change must be written, with or without the view's knowledge.
TEST_F(Projection, ReplayedPlacementKeepsItsLaterStatusChange) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  for (bool fresh_view : {false, true}) {
    SCOPED_TRACE(fresh_view ? "after a restart" : "with the view");
    const std::string order = fresh_view ? "3" : "2", placed_at = fresh_view ? "0/130" : "0/110",
                      paid_at = fresh_view ? "0/140" : "0/120";
    auto placement = [&] { return calls(place(placed_at, std::stoi(order), "2026-01-03T00:00:00.000000Z")); };
    EXPECT_EQ(run(placement())[0], "applied");
    ASSERT_EQ(hget("pgcqrs:checkpoint", "lsn"), placed_at);
    if (fresh_view) projector_.forget();
    auto replay = placement();
    auto paid = calls({begin(paid_at),
                       ev(paid_at, 0, "OrderStatusChanged",
                          R"("order_id":)" + order + R"(,"to":"paid","updated_at":"2026-01-08T00:00:00.000000Z")"),
                       commit(paid_at, 1)});
    replay.insert(replay.end(), paid.begin(), paid.end());
    EXPECT_EQ(run(std::move(replay)), (std::vector<std::string>{"applied", "1", "1", "1"}));
    EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), paid_at);
    EXPECT_EQ(hget(tagged("order_details:", std::stoi(order)), "status"), "paid");
    EXPECT_EQ(hget(tagged("order_details:", std::stoi(order)), "lsn"), paid_at);
    auto top = redis_->command({"LINDEX", "user_latest:{1}:1", "0"});
    EXPECT_NE(redis::reply_string(top.get()).find(R"("status":"paid")"), std::string::npos);
  }
}

// The view takes an order it places to be new and checks that in the checkpoint's round; an
// order Redis already holds (placed again) makes the batch read it and run again.
TEST_F(Projection, AnOrderPlacedAgainIsReadAndReplaced) {
  mark("0/50");
  run(calls(setup_txn("0/100")));
  EXPECT_EQ(run(calls(place("0/110", 2, "2026-01-03T00:00:00.000000Z")))[0], "applied");
  EXPECT_EQ(rounds_, 1);  // the view knew the user and product; order 2 was new
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "2");
  // Order 2 placed again, its hash dropped from what the projector knows (as past the
  // store's limit): the speculation fails, the order is read, subtracted and written anew.
  projector_.orders().forget(2);
  EXPECT_EQ(run(calls(place("0/120", 2, "2026-01-05T00:00:00.000000Z"))), (std::vector<std::string>{"applied", "1", "0", "1"}));
  EXPECT_GT(rounds_, 1);
  EXPECT_EQ(hget("order_details:{2}:2", "created_at"), "2026-01-05T00:00:00.000000Z");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "2");
  EXPECT_EQ(hget("user:{1}:1", "lifetime_value"), "4.50");
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "3");
}


// 3 users, 2 products, 12 orders (order o of user o % 3 + 1, product o % 2 + 1, o units),
// applied at 0/100; then the truncation given, sent again while it says "more". Returns the
// statuses and each partial_cursor left between them.
static std::vector<std::string> placed_12(const std::string& lsn) {
  std::vector<std::string> m{begin(lsn)};
  int s = 0;
  for (int u = 1; u <= 3; ++u)
    m.push_back(ev(lsn, s++, "UserRegistered", R"("user_id":)" + std::to_string(u) + R"(,"name":"u","email":"e","is_active":true,"created_at":"2026-01-01T00:00:00Z")"));
  for (int p = 1; p <= 2; ++p)
    m.push_back(ev(lsn, s++, "ProductAdded", R"("product_id":)" + std::to_string(p) + R"(,"name":"p","price":"1.00","is_active":true)"));
  for (int o = 1; o <= 12; ++o) {
    char at[40];
    snprintf(at, sizeof at, "2026-01-01T00:00:%02d.000000Z", o);
    m.push_back(ev(lsn, s++, "OrderPlaced", R"("order_id":)" + std::to_string(o) + R"(,"user_id":)" + std::to_string(o % 3 + 1) +
                   R"(,"status":"pending","created_at":")" + at + R"(","updated_at":")" + at + R"(","items":[{"product_id":)" +
                   std::to_string(o % 2 + 1) + R"(,"quantity":)" + std::to_string(o) + R"(,"unit_price":"1.00"}],"total":")" +
                   std::to_string(o) + R"(.00")"));
  }
  m.push_back(commit(lsn, s));
  return m;
}

// TRUNCATE reaches every order, so it runs in chunks of the fan-out budget like a rename:
// orders first (SCAN), then users and products bucket by bucket (SSCAN of pgcqrs:users:{b}
// and pgcqrs:products:{b}), the phase named in partial_cursor ("orders:17", "users5:0");
// what follows waits for the last chunk.
TEST_F(Projection, TruncateOfItemsRunsInChunksOfTheBudget) {
  mark("0/50");
  ASSERT_EQ(run(calls(placed_12("0/100")))[0], "applied");
  auto truncate = calls({begin("0/200"), ev("0/200", 0, "Truncated", R"("tables":["order_items"])"), commit("0/200", 1)});
  auto after = calls({begin("0/300"), ev("0/300", 0, "UserDeactivated", R"("user_id":1)"), commit("0/300", 1)});
  const int budget = 4;
  std::vector<std::string> phases;
  std::string status;
  for (int k = 0; k < 40; ++k) {
    status = run(truncate, "0/0", budget)[0];
    if (status != "more") break;
    std::string cursor = hget("pgcqrs:checkpoint", "partial_cursor");
    phases.push_back(cursor.substr(0, cursor.find_first_of("0123456789:")));  // its bucket aside
    if (k == 0) {
      EXPECT_EQ(run(after, "0/0", budget)[0], "error") << "overtook the unfinished TRUNCATE";
    }
  }
  ASSERT_EQ(status, "applied");
  // 12 orders in chunks of 4 (SCAN's COUNT is a hint: at least 3 chunks), then the users and
  // the products, never back.
  std::vector<std::string> order{"orders", "users", "products"};
  EXPECT_GE(std::count(phases.begin(), phases.end(), "orders"), 2);
  EXPECT_EQ(phases.front(), "orders");
  EXPECT_TRUE(std::is_sorted(phases.begin(), phases.end(), [&](const std::string& a, const std::string& b) {
    return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
  }));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "");
  for (int o = 1; o <= 12; ++o) {
    const std::string key = tagged("order_details:", o);
    EXPECT_EQ(hget(key, "items"), "[]") << o;
    EXPECT_EQ(hget(key, "item_count"), "0") << o;
    EXPECT_EQ(hget(key, "total"), "0.00") << o;
    EXPECT_EQ(hget(key, "lsn"), "0/200") << o;
    EXPECT_EQ(hget(key, "status"), "pending") << o;
  }
  for (int u = 1; u <= 3; ++u) {
    EXPECT_EQ(hget(tagged("user:", u), "lifetime_value"), "0.00") << u;
    EXPECT_EQ(hget(tagged("user:", u), "order_count"), "4") << u;
    auto page = redis_->command({"LRANGE", tagged("user_latest:", u), "0", "-1"});
    ASSERT_EQ(page->elements, 4u) << u;
    for (size_t i = 0; i < page->elements; ++i) {
      std::string entry = redis::reply_string(page->element[i]);
      EXPECT_NE(entry.find(R"("item_count":0,"total":"0.00","items":[])"), std::string::npos) << entry;
    }
  }
  for (int p = 1; p <= 2; ++p) {
    EXPECT_EQ(hget(tagged("product:", p), "units_sold"), "0") << p;
    EXPECT_EQ(hget(tagged("product:", p), "revenue"), "0.00") << p;
    EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", tagged("product_orders:", p)}).get()), "0") << p;
  }
  // Products 1 and 2 are in the top_products of buckets 1 and 2, each alone there, at 0.
  for (int p = 1; p <= 2; ++p) {
    auto top = redis_->command({"ZRANGE", "top_products:{" + std::to_string(p) + "}", "0", "-1", "WITHSCORES"});
    ASSERT_EQ(top->elements, 2u) << p;
    EXPECT_EQ(redis::reply_string(top->element[0]), std::to_string(p));
    EXPECT_EQ(redis::reply_string(top->element[1]), "0");
  }
  EXPECT_EQ(run(after, "0/0", budget)[0], "applied");
  EXPECT_EQ(hget("user:{1}:1", "is_active"), "false");
}

// TRUNCATE users CASCADE in chunks: every order, user and page gone, the sets too; products
// stay, reset (or go too, when truncated). An order placed earlier in the same batch (Redis has
// none of it yet) goes as well. Every budget, so that a phase ending exactly at the budget is
// met: the orders' phase then starts in the next batch instead of being taken for done.
TEST_F(Projection, TruncateOfUsersAndOrdersInChunksLeavesNoneOfThem) {
  for (bool products : {false, true})
    for (int budget : {1, 2, 3, 4, 5, 7, 1000}) {
      SCOPED_TRACE((products ? "with products, budget " : "budget ") + std::to_string(budget));
      redis_->command({"FLUSHALL"});
      projector_.forget();
      mark("0/50");
      ASSERT_EQ(run(calls(placed_12("0/100")))[0], "applied");
      std::string tables = products ? R"("tables":["users","products","orders","order_items"])"
                                    : R"("tables":["users","orders","order_items"])";
      auto truncate = calls({begin("0/200"),
                             ev("0/200", 0, "OrderPlaced", R"("order_id":13,"user_id":1,"status":"pending","created_at":"2026-01-01T00:01:00.000000Z","updated_at":"2026-01-01T00:01:00.000000Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.00"}],"total":"1.00")"),
                             ev("0/200", 1, "Truncated", tables), commit("0/200", 2)});
      std::string status;
      int batches = 0;
      do {
        status = run(truncate, "0/0", budget)[0];
        ++batches;
      } while (status == "more" && batches < 60);
      ASSERT_EQ(status, "applied");
      if (budget < 5) {
        EXPECT_GE(batches, 4);  // 13 orders, 3 users, 2 products
      }
      auto keys = redis_->command({"KEYS", "*"});
      std::vector<std::string> left;
      for (size_t i = 0; i < keys->elements; ++i) left.push_back(redis::reply_string(keys->element[i]));
      std::sort(left.begin(), left.end());
      if (products) {
        EXPECT_EQ(left, (std::vector<std::string>{"pgcqrs:checkpoint"}));
      } else {
        EXPECT_EQ(left, (std::vector<std::string>{"pgcqrs:checkpoint", "pgcqrs:products:{1}", "pgcqrs:products:{2}",
                                                  "product:{1}:1", "product:{2}:2", "top_products:{1}",
                                                  "top_products:{2}"}));
        EXPECT_EQ(hget("product:{1}:1", "units_sold"), "0");
      }
      EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
    }
}

// A user's deletion takes its orders in chunks of the budget, then the user.
TEST_F(Projection, UserDeletedTakesItsOrdersInChunks) {
  mark("0/50");
  ASSERT_EQ(run(calls(placed_12("0/100")))[0], "applied");
  auto del = calls({begin("0/200"), ev("0/200", 0, "UserDeleted", R"("user_id":1)"), commit("0/200", 1)});
  // User 1 has orders 3, 6, 9 and 12: two chunks of 2 orders, the second also removes the user.
  EXPECT_EQ(run(del, "0/0", 2)[0], "more");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"ZCARD", "user_orders:{1}:1"}).get()), "2");
  EXPECT_EQ(hget("user:{1}:1", "order_count"), "2");
  EXPECT_EQ(run(del, "0/0", 2)[0], "applied");
  for (int o : {3, 6, 9, 12})
    EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", tagged("order_details:", o)}).get()), "0") << o;
  EXPECT_EQ(redis::reply_string(redis_->command({"EXISTS", "user:{1}:1"}).get()), "0");
  EXPECT_EQ(redis::reply_string(redis_->command({"SISMEMBER", "pgcqrs:users:{1}", "1"}).get()), "0");
  // Product 1 (odd orders) keeps 1+5+7+11 units, product 2 (even) 2+4+8+10.
  EXPECT_EQ(hget("product:{1}:1", "units_sold"), "24");
  EXPECT_EQ(hget("product:{2}:2", "units_sold"), "24");
  EXPECT_EQ(hget("pgcqrs:checkpoint", "lsn"), "0/200");
}
