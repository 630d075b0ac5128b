// Key names under a prefix, their buckets' hash tags, and which prefixes are refused (keys.hpp).
#include "pgcqrs/sidecar/keys.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>

#include "pgcqrs/sidecar/redis/key_slot.hpp"

using namespace pgcqrs::sidecar;

TEST(Keys, WithoutAPrefixTheNamesAreTheLayouts) {
  const Keys k;
  EXPECT_EQ(k.order("7"), "order_details:{7}:7");
  EXPECT_EQ(k.order(int64_t{100}), "order_details:{36}:100");
  EXPECT_EQ(k.user("1"), "user:{1}:1");
  EXPECT_EQ(k.user(int64_t{64}), "user:{0}:64");
  EXPECT_EQ(k.product("3"), "product:{3}:3");
  EXPECT_EQ(k.user_orders("1"), "user_orders:{1}:1");
  EXPECT_EQ(k.user_latest("129"), "user_latest:{1}:129");
  EXPECT_EQ(k.product_orders("3"), "product_orders:{3}:3");
  EXPECT_EQ(k.top_products(5), "top_products:{5}");
  EXPECT_EQ(k.users(63), "pgcqrs:users:{63}");
  EXPECT_EQ(k.products(0), "pgcqrs:products:{0}");
  EXPECT_EQ(k.checkpoint(), "pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "pgcqrs:applied");
}

TEST(Keys, APrefixGoesBeforeEveryKeyPatternAndTheChannel) {
  const Keys k("app1:");
  EXPECT_EQ(k.order("7"), "app1:order_details:{7}:7");
  EXPECT_EQ(k.order_stem(), "app1:order_details:");
  EXPECT_EQ(k.product_stem(), "app1:product:");
  EXPECT_EQ(k.product_orders("3"), "app1:product_orders:{3}:3");
  EXPECT_EQ(k.top_products(3), "app1:top_products:{3}");
  EXPECT_EQ(k.checkpoint(), "app1:pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "app1:pgcqrs:applied");
  EXPECT_EQ(k.pattern(k.order_stem()), "app1:order_details:*");
  EXPECT_EQ(k.rebuild_patterns(),
            (std::vector<std::string>{"app1:order_details:*", "app1:user_orders:*", "app1:user_latest:*", "app1:user:*",
                                      "app1:product:*", "app1:order_items:*", "app1:product_orders:*",
                                      "app1:top_products:*", "app1:pgcqrs:users:*", "app1:pgcqrs:products:*",
                                      "app1:pgcqrs:m:*"}));
  EXPECT_EQ(k.rebuild_singles(), (std::vector<std::string>{"app1:top_products", "app1:pgcqrs:users",
                                                           "app1:pgcqrs:products", "app1:pgcqrs:orders",
                                                           "app1:pgcqrs:models"}));
}

TEST(Keys, PrefixesThatNeedNoEscapeAreAccepted) {
  EXPECT_EQ(key_prefix_problem(""), "");
  EXPECT_EQ(key_prefix_problem("shop-eu.v2:read_models:"), "");
  EXPECT_EQ(key_prefix_problem(std::string(64, 'a')), "");
  EXPECT_EQ(key_prefix_problem(std::string(65, 'a')), "--key-prefix is longer than 64 bytes");
}

TEST(Keys, PatternCharactersBracesAndSpacesAreRefusedByName) {
  for (const char* bad : {"a*", "a?", "a[b]", "a\\b", "{tag}:", "a b", "caf\xc3\xa9:"}) {
    const std::string problem = key_prefix_problem(bad);
    EXPECT_EQ(problem.rfind("--key-prefix \"" + std::string(bad) + "\" holds '", 0), 0u) << bad << ": " << problem;
  }
  EXPECT_EQ(key_prefix_problem("{tag}:"),
            "--key-prefix \"{tag}:\" holds '{': use letters, digits and _ . : - (no pattern characters, no braces)");
}

TEST(Keys, AGenerationGoesAfterThePrefixOfEveryReadModelButNotTheCheckpointOrChannel) {
  const Keys k("app1:", 3);
  EXPECT_EQ(k.generation(), 3u);
  EXPECT_EQ(k.order("7"), "app1:g3:order_details:{7}:7");
  EXPECT_EQ(k.user("1"), "app1:g3:user:{1}:1");
  EXPECT_EQ(k.product_stem(), "app1:g3:product:");
  EXPECT_EQ(k.user_latest("1"), "app1:g3:user_latest:{1}:1");
  EXPECT_EQ(k.top_products(1), "app1:g3:top_products:{1}");
  EXPECT_EQ(k.users(1), "app1:g3:pgcqrs:users:{1}");
  EXPECT_EQ(k.checkpoint(), "app1:pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "app1:pgcqrs:applied");
  EXPECT_EQ(k.rebuild_patterns(),
            (std::vector<std::string>{"app1:g3:order_details:*", "app1:g3:user_orders:*", "app1:g3:user_latest:*",
                                      "app1:g3:user:*", "app1:g3:product:*", "app1:g3:order_items:*",
                                      "app1:g3:product_orders:*", "app1:g3:top_products:*", "app1:g3:pgcqrs:users:*",
                                      "app1:g3:pgcqrs:products:*", "app1:g3:pgcqrs:m:*"}));
  EXPECT_EQ(k.rebuild_singles(), (std::vector<std::string>{"app1:g3:top_products", "app1:g3:pgcqrs:users",
                                                           "app1:g3:pgcqrs:products", "app1:g3:pgcqrs:orders",
                                                           "app1:g3:pgcqrs:models"}));
  EXPECT_EQ(k.at(0).order("7"), "app1:order_details:{7}:7");
  EXPECT_EQ(k.at(12).order("7"), "app1:g12:order_details:{7}:7");
  EXPECT_EQ(Keys().at(1).order("7"), "g1:order_details:{7}:7");
}

TEST(Keys, ReadModelsOfEveryGenerationAreToldFromOtherKeys) {
  const Keys k("p:");
  for (const char* key : {"p:order_details:{7}:7", "p:g3:order_details:{7}:7", "p:g12:top_products:{3}",
                          "p:user:{1}:1", "p:g1:pgcqrs:users:{0}", "p:pgcqrs:products:{9}",
                          // older layouts' names, which a rebuild deletes
                          "p:order_details:7", "p:g12:top_products", "p:g1:pgcqrs:users", "p:pgcqrs:orders",
                          "p:g2:order_items:5"})
    EXPECT_TRUE(k.names_read_model(key)) << key;
  for (const char* key : {"order_details:7", "p:pgcqrs:checkpoint", "p:pgcqrs:applied", "p:g3:pgcqrs:checkpoint",
                          "p:gx:order_details:7", "p:g3x:order_details:7", "p:other", "p:top_products_old",
                          "q:g1:user:1"})
    EXPECT_FALSE(k.names_read_model(key)) << key;
  EXPECT_TRUE(Keys().names_read_model("g1:user:1"));
}

TEST(Keys, AnIdsBucketIsItsValueModulo64ForNumbersAndTextAlike) {
  for (int64_t id : {int64_t{0}, int64_t{1}, int64_t{63}, int64_t{64}, int64_t{100}, int64_t{-1}, int64_t{-64},
                     int64_t{-65}, int64_t{1234567890123}, std::numeric_limits<int64_t>::max(),
                     std::numeric_limits<int64_t>::min()}) {
    const int expected = static_cast<int>(((id % 64) + 64) % 64);
    EXPECT_EQ(Keys::bucket_of(id), expected) << id;
    EXPECT_EQ(Keys::bucket_of(std::to_string(id)), expected) << id;
  }
  EXPECT_EQ(Keys::bucket_of(int64_t{-1}), 63);
  for (const char* not_an_id : {"", "-", "x7", "7x", "1.5", " 7"}) EXPECT_EQ(Keys::bucket_of(not_an_id), 0) << not_an_id;
}

TEST(Keys, EveryKeyOfABucketHashesToOneSlotWhateverItsFamilyOrGeneration) {
  const Keys k("app1:", 2);
  for (int64_t id : {int64_t{5}, int64_t{69}, int64_t{-59}}) {
    const uint16_t slot = redis::key_slot("{5}");
    for (const std::string& key : {k.order(id), k.user(id), k.product(id), k.user_orders(std::to_string(id)),
                                   k.user_latest(std::to_string(id)), k.product_orders(std::to_string(id)),
                                   k.top_products(5), k.users(5), k.products(5), Keys().order(id)})
      EXPECT_EQ(redis::key_slot(key), slot) << key;
  }
  // Each bucket has a slot of its own: 64 groups, which three masters share 21, 22 and 21.
  std::set<uint16_t> slots;
  for (int b = 0; b < Keys::kBuckets; ++b) slots.insert(redis::key_slot(k.top_products(b)));
  EXPECT_EQ(slots.size(), 64u);
}

TEST(Keys, AnIdIsReadBackFromAKeyOfItsFamily) {
  const Keys k("app1:");
  EXPECT_EQ(Keys::id_in(k.order_stem(), "app1:order_details:{36}:100"), "100");
  EXPECT_EQ(Keys::id_in(k.user_stem(), "app1:user:{1}:1"), "1");
  EXPECT_EQ(Keys::id_in(k.user_stem(), "app1:user_orders:{1}:1"), std::nullopt);
  EXPECT_EQ(Keys::id_in(k.order_stem(), "app1:order_details:100"), std::nullopt);  // layout 3
  EXPECT_EQ(Keys::id_in(k.order_stem(), "app1:order_details:{36"), std::nullopt);
}

TEST(Keys, ScanLiteralsMatchTheirTextOnly) {
  EXPECT_EQ(scan_literal("card:{"), "card:{");
  EXPECT_EQ(scan_literal("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
}
