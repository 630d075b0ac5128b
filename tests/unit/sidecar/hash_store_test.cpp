// HashStore with the orders' hashes (OrderHash, eleven fields): what a TRUNCATE's fan-out asks
// of it (the orders a run wrote, an order known to be gone), how much it keeps between batches,
// and what its commit writes, without Redis.
#include "pgcqrs/sidecar/projection/hash_store.hpp"

#include <gtest/gtest.h>

#include "pgcqrs/sidecar/projection/entity_hashes.hpp"
#include "redis_text.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

using O = OrderHash::Field;

struct Store {
  explicit Store(size_t limit = 50000) : orders{keys, view, limit} {}
  pgcqrs::sidecar::Keys keys;
  RedisView view;
  HashStore<OrderHash> orders;

  void set(int64_t id, O field, std::string value) { orders.set(id, field).text[field] = std::move(value); }
  void answer(const std::vector<Reply>& replies) { answer_store_reads(view, orders, replies); }
  std::vector<std::string> commit() { return commit_as_text(orders); }
};

}  // namespace

TEST(HashStore, WritesAnOrdersFieldsInNameOrderWhateverTheOrderTheyWereSetIn) {
  Store s;
  s.set(7, O::kUserName, "ann");
  s.set(7, O::kStatus, "pending");
  s.set(7, O::kCreatedAt, "2026-01-01T00:00:01.000000Z");
  s.set(7, O::kItemCount, "1");
  EXPECT_EQ(s.commit(), (std::vector<std::string>{
                            "HSET order_details:{7}:7 created_at 2026-01-01T00:00:01.000000Z item_count 1 status pending "
                            "user_name ann"}));
}

// A TRUNCATE's orders phase starts with the orders its batch wrote (Redis may not have them yet)
// and skips an order it knows is gone.
TEST(HashStore, TouchedListsTheOrdersARunLeftInPlaceInTheOrderFirstChanged) {
  Store s;
  s.set(9, O::kStatus, "paid");
  s.set(4, O::kStatus, "paid");
  s.set(6, O::kStatus, "paid");
  s.orders.del(4);
  EXPECT_EQ(s.orders.touched(), (std::vector<int64_t>{9, 6}));
  EXPECT_TRUE(s.orders.known_absent(4));
  EXPECT_FALSE(s.orders.known_absent(9));
  EXPECT_FALSE(s.orders.known_absent(5));  // never met: not known either way
  EXPECT_EQ(s.commit(), (std::vector<std::string>{"HSET order_details:{9}:9 status paid", "DEL order_details:{4}:4",
                                                  "HSET order_details:{6}:6 status paid"}));
  EXPECT_TRUE(s.orders.touched().empty());  // a new run has changed nothing yet
  EXPECT_TRUE(s.orders.known_absent(4));    // what the commit left is known
}

TEST(HashStore, PastItsLimitTheStoreForgetsEveryHashAndReadsThemAgain) {
  Store s(2);
  for (int64_t id : {1, 2}) s.set(id, O::kStatus, "pending");
  s.commit();
  EXPECT_FALSE(s.orders.prefetch_exists(1));  // two kept: known
  s.set(3, O::kStatus, "pending");
  s.commit();  // three: past the limit
  EXPECT_TRUE(s.orders.prefetch_exists(1));
  EXPECT_TRUE(s.orders.prefetch_exists(3));
  s.answer({integer(1), integer(1)});
  EXPECT_FALSE(s.orders.prefetch_exists(1));
}

TEST(HashStore, AForgottenHashIsReadWholeWhenAFieldIsNeeded) {
  Store s;
  s.set(2, O::kStatus, "pending");
  s.commit();
  s.orders.forget(2);
  EXPECT_THROW(s.orders.get(2, O::kStatus), Missing);
  EXPECT_EQ(s.view.take_reads(), (std::vector<Command>{{"HGETALL", "order_details:{2}:2"}}));
  s.orders.absorb({"HGETALL", "order_details:{2}:2"}, array({"status", "paid", "user_id", "1"}));
  s.orders.begin_run();
  ASSERT_NE(s.orders.get(2, O::kStatus), nullptr);
  EXPECT_EQ(s.orders.get(2, O::kStatus)->text[O::kStatus], "paid");
  EXPECT_EQ(s.orders.get(2, O::kTotal), nullptr);  // read whole: an absent field is absent
}
