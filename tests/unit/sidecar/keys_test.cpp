// Key names under a prefix, and which prefixes are refused (keys.hpp).
#include "pgcqrs/sidecar/keys.hpp"

#include <gtest/gtest.h>

using namespace pgcqrs::sidecar;

TEST(Keys, WithoutAPrefixTheNamesAreTheLayouts) {
  const Keys k;
  EXPECT_EQ(k.order("7"), "order_details:7");
  EXPECT_EQ(k.user("1"), "user:1");
  EXPECT_EQ(k.product("3"), "product:3");
  EXPECT_EQ(k.user_orders("1"), "user_orders:1");
  EXPECT_EQ(k.user_latest("1"), "user_latest:1");
  EXPECT_EQ(k.product_orders("3"), "product_orders:3");
  EXPECT_EQ(k.top_products(), "top_products");
  EXPECT_EQ(k.users(), "pgcqrs:users");
  EXPECT_EQ(k.products(), "pgcqrs:products");
  EXPECT_EQ(k.checkpoint(), "pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "pgcqrs:applied");
}

TEST(Keys, APrefixGoesBeforeEveryKeyPatternAndTheChannel) {
  const Keys k("app1:");
  EXPECT_EQ(k.order("7"), "app1:order_details:7");
  EXPECT_EQ(k.order_stem(), "app1:order_details:");
  EXPECT_EQ(k.product_stem(), "app1:product:");
  EXPECT_EQ(k.product_orders("3"), "app1:product_orders:3");
  EXPECT_EQ(k.top_products(), "app1:top_products");
  EXPECT_EQ(k.checkpoint(), "app1:pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "app1:pgcqrs:applied");
  EXPECT_EQ(k.pattern(k.order_stem()), "app1:order_details:*");
  EXPECT_EQ(k.rebuild_patterns(),
            (std::vector<std::string>{"app1:order_details:*", "app1:user_orders:*", "app1:user_latest:*", "app1:user:*",
                                      "app1:product:*", "app1:order_items:*", "app1:product_orders:*"}));
  EXPECT_EQ(k.rebuild_singles(), (std::vector<std::string>{"app1:top_products", "app1:pgcqrs:users",
                                                           "app1:pgcqrs:products", "app1:pgcqrs:orders"}));
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
  EXPECT_EQ(k.order("7"), "app1:g3:order_details:7");
  EXPECT_EQ(k.user("1"), "app1:g3:user:1");
  EXPECT_EQ(k.product_stem(), "app1:g3:product:");
  EXPECT_EQ(k.user_latest("1"), "app1:g3:user_latest:1");
  EXPECT_EQ(k.top_products(), "app1:g3:top_products");
  EXPECT_EQ(k.users(), "app1:g3:pgcqrs:users");
  EXPECT_EQ(k.checkpoint(), "app1:pgcqrs:checkpoint");
  EXPECT_EQ(k.channel(), "app1:pgcqrs:applied");
  EXPECT_EQ(k.rebuild_patterns(),
            (std::vector<std::string>{"app1:g3:order_details:*", "app1:g3:user_orders:*", "app1:g3:user_latest:*",
                                      "app1:g3:user:*", "app1:g3:product:*", "app1:g3:order_items:*",
                                      "app1:g3:product_orders:*"}));
  EXPECT_EQ(k.rebuild_singles(), (std::vector<std::string>{"app1:g3:top_products", "app1:g3:pgcqrs:users",
                                                           "app1:g3:pgcqrs:products", "app1:g3:pgcqrs:orders"}));
  EXPECT_EQ(k.at(0).order("7"), "app1:order_details:7");
  EXPECT_EQ(k.at(12).order("7"), "app1:g12:order_details:7");
  EXPECT_EQ(Keys().at(1).order("7"), "g1:order_details:7");
}

TEST(Keys, ReadModelsOfEveryGenerationAreToldFromOtherKeys) {
  const Keys k("p:");
  for (const char* key : {"p:order_details:7", "p:g3:order_details:7", "p:g12:top_products", "p:user:1",
                          "p:g1:pgcqrs:users", "p:pgcqrs:orders", "p:g2:order_items:5"})
    EXPECT_TRUE(k.names_read_model(key)) << key;
  for (const char* key : {"order_details:7", "p:pgcqrs:checkpoint", "p:pgcqrs:applied", "p:g3:pgcqrs:checkpoint",
                          "p:gx:order_details:7", "p:g3x:order_details:7", "p:other", "p:top_products_old",
                          "q:g1:user:1"})
    EXPECT_FALSE(k.names_read_model(key)) << key;
  EXPECT_TRUE(Keys().names_read_model("g1:user:1"));
}
