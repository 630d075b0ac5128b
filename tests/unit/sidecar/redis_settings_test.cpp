// Redis's settings at start-up: refusals, the durability hold, and what is said, per case.
#include "pgcqrs/sidecar/redis_settings.hpp"

#include <gtest/gtest.h>

namespace pgcqrs::sidecar {
namespace {

RedisSettings settings(std::optional<std::string> policy, std::optional<std::string> aof,
                       std::optional<std::string> fsync, std::optional<std::string> listpack = "1024") {
  return {std::move(policy), std::move(listpack), std::move(aof), std::move(fsync)};
}

std::string said(const RedisSettingsVerdict& v) {
  std::string out;
  for (const auto& n : v.notes) out += (n.warning ? "warn: " : "info: ") + n.text + "\n";
  return out;
}

TEST(RedisSettings, TheHoldFollowsTheFsyncPolicy) {
  auto always = judge_redis_settings(settings("noeviction", "yes", "always"), false);
  EXPECT_FALSE(always.refusal);
  EXPECT_EQ(always.hold_ms, 0);
  EXPECT_EQ(said(always), "info: Redis appendfsync always: confirming positions once Redis acknowledges\n");
  auto everysec = judge_redis_settings(settings("noeviction", "yes", "everysec"), false);
  EXPECT_EQ(everysec.hold_ms, 2000);
  EXPECT_EQ(said(everysec), "info: Redis appendfsync everysec: confirming positions 2000 ms after Redis acknowledges\n");
  auto no = judge_redis_settings(settings("noeviction", "yes", "no"), false);
  EXPECT_EQ(no.hold_ms, 35000);
  EXPECT_EQ(said(no), "warn: Redis appendfsync no: the OS decides when data reaches disk; holding confirmations 35000 ms\n");
  auto none = judge_redis_settings(settings("noeviction", "no", "everysec"), false);
  EXPECT_EQ(none.hold_ms, 0);
  EXPECT_EQ(said(none), "warn: Redis has no append-only file: a Redis restart loses data and forces a full rebuild; "
                        "confirming positions as soon as Redis acknowledges\n");
}

TEST(RedisSettings, UnreadablePersistenceHoldsAsForEverysec) {
  auto v = judge_redis_settings(settings("noeviction", std::nullopt, "always"), false);
  EXPECT_EQ(v.hold_ms, 2000);
  EXPECT_EQ(said(v), "warn: cannot read Redis persistence settings: holding confirmations 2000 ms as for appendfsync "
                     "everysec\n");
  EXPECT_EQ(judge_redis_settings(settings("noeviction", "yes", std::nullopt), false).hold_ms, 2000);
}

TEST(RedisSettings, AnEvictingRedisIsRefusedUnlessAllowed) {
  auto v = judge_redis_settings(settings("allkeys-lru", "yes", "always"), false);
  ASSERT_TRUE(v.refusal);
  EXPECT_EQ(v.refusal->kind, ErrorKind::permanent);
  EXPECT_EQ(v.refusal->server, Server::redis);
  EXPECT_STREQ(v.refusal->what(), "Redis maxmemory-policy is allkeys-lru: it may evict read-model keys and lose data "
                                  "silently; set it to noeviction, or pass --allow-eviction to accept that");
  auto allowed = judge_redis_settings(settings("allkeys-lru", "yes", "always"), true);
  EXPECT_FALSE(allowed.refusal);
  EXPECT_EQ(said(allowed), "warn: Redis maxmemory-policy is allkeys-lru: keys may be evicted (--allow-eviction)\n"
                           "info: Redis appendfsync always: confirming positions once Redis acknowledges\n");
  // volatile-* policies evict only keys with a TTL, which read models never have.
  EXPECT_FALSE(judge_redis_settings(settings("volatile-lru", "yes", "always"), false).refusal);
}

TEST(RedisSettings, AnUnreadablePolicyIsRefusedUnlessAllowed) {
  auto v = judge_redis_settings(settings(std::nullopt, "yes", "always"), false);
  ASSERT_TRUE(v.refusal);
  EXPECT_STREQ(v.refusal->what(), "cannot read Redis maxmemory-policy (CONFIG GET refused): allow the sidecar's user "
                                  "+config|get, or pass --allow-eviction if you know keys are never evicted");
  auto allowed = judge_redis_settings(settings(std::nullopt, "yes", "always"), true);
  EXPECT_FALSE(allowed.refusal);
  EXPECT_EQ(allowed.hold_ms, 0);
}

TEST(RedisSettings, ASmallListpackValueIsWarnedAbout) {
  auto v = judge_redis_settings(settings("noeviction", "yes", "always", "64"), false);
  EXPECT_EQ(v.notes.size(), 2u);
  EXPECT_TRUE(v.notes[0].warning);
  EXPECT_EQ(v.notes[0].text, "Redis hash-max-listpack-value is 64: order hashes will use the larger hashtable "
                             "encoding; 1024 is recommended");
  EXPECT_EQ(judge_redis_settings(settings("noeviction", "yes", "always", std::nullopt), false).notes.size(), 1u);
}

}  // namespace
}  // namespace pgcqrs::sidecar
