// The products' typed store: what it reads, what a run changes, what its commit writes and
// what the next batch knows, without Redis.
#include "pgcqrs/sidecar/projection/product_store.hpp"

#include <gtest/gtest.h>

#include "redis_text.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

struct Store {
  pgcqrs::sidecar::Keys keys;
  RedisView view;
  ProductStore products{keys, view};

  void answer(const std::vector<Reply>& replies) { answer_store_reads(view, products, replies); }
  std::vector<std::string> commit() { return commit_as_text(products); }
};

}  // namespace

TEST(ProductStore, AddsSalesToAProductReadWholeAndWritesOnlyWhatChanged) {
  Store s;
  EXPECT_TRUE(s.products.prefetch(3));
  EXPECT_THROW(s.products.exists(3), Missing);
  s.answer({array({"product_id", "3", "name", "pen", "price", "1.50", "units_sold", "4", "revenue", "6.00", "extra", "x"})});
  EXPECT_FALSE(s.products.prefetch(3));
  s.products.begin_run();
  ASSERT_TRUE(s.products.exists(3));
  EXPECT_EQ(*s.products.name(3), "pen");
  s.products.add_sales(3, 2, 300, "0/10");
  s.products.add_sales(3, -1, -150, "0/20");
  EXPECT_EQ(s.commit(), (std::vector<std::string>{"HSET product:{3}:3 lsn 0/20 revenue 7.50 units_sold 5",
                                                  "ZADD top_products:{3} 7.50 3"}));
  // The next batch knows the result without reading it; a field it does not write is not kept.
  EXPECT_FALSE(s.products.prefetch(3));
  s.products.add_sales(3, 1, 150, "0/30");
  EXPECT_EQ(s.commit(), (std::vector<std::string>{"HSET product:{3}:3 lsn 0/30 revenue 9.00 units_sold 6",
                                                  "ZADD top_products:{3} 9.00 3"}));
  EXPECT_TRUE(s.view.take_reads().empty());
}

TEST(ProductStore, ARunStartedOverForgetsItsChanges) {
  Store s;
  s.products.prefetch(3);
  s.answer({array({"name", "pen", "units_sold", "4", "revenue", "6.00"})});
  s.products.begin_run();
  s.products.add_sales(3, 2, 300, "0/10");
  s.products.begin_run();
  EXPECT_EQ(s.commit(), (std::vector<std::string>{}));
  s.products.add_sales(3, 1, 150, "0/20");
  EXPECT_EQ(s.commit(), (std::vector<std::string>{"HSET product:{3}:3 lsn 0/20 revenue 7.50 units_sold 5",
                                                  "ZADD top_products:{3} 7.50 3"}));
}

// TRUNCATE of the orders zeroes a product's sales without reading it; its name is read when
// an order needs it.
TEST(ProductStore, SalesZeroedBlindLeaveTheOtherFieldsToBeRead) {
  Store s;
  s.products.reset_sales(5, "0/40");
  EXPECT_TRUE(s.products.exists(5));
  EXPECT_THROW(s.products.name(5), Missing);
  EXPECT_EQ(s.commit(), (std::vector<std::string>{"HSET product:{5}:5 lsn 0/40 revenue 0.00 units_sold 0",
                                                  "ZADD top_products:{5} 0.00 5"}));
  EXPECT_THROW(s.products.name(5), Missing);
  s.answer({array({"name", "ink", "units_sold", "0", "revenue", "0.00", "lsn", "0/40"})});
  EXPECT_EQ(*s.products.name(5), "ink");
}

// A product deleted and added again in one batch: DEL first, then every field; its place in
// top_products:{b} is set once.
TEST(ProductStore, ADeletedProductAddedAgainIsWrittenWhole) {
  Store s;
  s.products.prefetch(3);
  s.answer({array({"product_id", "3", "name", "pen", "price", "1.50", "is_active", "true", "lsn", "0/1",
                  "units_sold", "4", "revenue", "6.00"})});
  s.products.begin_run();
  s.products.del(3);
  EXPECT_FALSE(s.products.exists(3));
  EXPECT_EQ(s.products.name(3), nullptr);
  s.products.add(3, "quill", "2.00", false, "0/50");
  s.products.del(4);  // never met: deleted blind
  EXPECT_EQ(s.commit(),
            (std::vector<std::string>{
                "DEL product:{3}:3",
                "HSET product:{3}:3 is_active false lsn 0/50 name quill price 2.00 product_id 3 revenue 0.00 units_sold 0",
                "DEL product:{4}:4", "ZADD top_products:{3} 0.00 3", "ZREM top_products:{4} 4"}));
  // Adding one it never met needs to know whether it is new.
  EXPECT_THROW(s.products.add(6, "nib", "0.10", true, "0/60"), Missing);
  EXPECT_EQ(s.view.take_reads(), (std::vector<Command>{{"HGETALL", "product:{6}:6"}}));
  // TRUNCATE of the products drops every bucket's top_products whole: a DEL each, no ZREM of
  // their members.
  s.products.begin_run();
  s.products.del(3);
  s.products.del_top();
  std::vector<std::string> expected = {"DEL product:{3}:3"};
  for (int b = 0; b < 64; ++b) expected.push_back("DEL top_products:{" + std::to_string(b) + "}");
  EXPECT_EQ(s.commit(), expected);
}

// While the view speculates, a product added that the store never met is taken to be new; the
// EXISTS that must confirm it comes from take_checks(), once.
TEST(ProductStore, ASpeculatedNewProductIsCheckedOnce) {
  Store s;
  s.view.set_speculating(true);
  EXPECT_FALSE(s.products.prefetch_exists(8));
  s.view.set_speculating(false);
  EXPECT_FALSE(s.products.exists(8));
  s.products.add(8, "cap", "3.00", true, "0/70");
  EXPECT_EQ(s.products.take_checks(), (std::vector<Command>{{"EXISTS", "product:{8}:8"}}));
  EXPECT_TRUE(s.products.take_checks().empty());
  // Not speculating, the same question is asked of Redis.
  EXPECT_TRUE(s.products.prefetch_exists(9));
  s.answer({integer(0)});
  EXPECT_FALSE(s.products.exists(9));
}
