// Flags, environment fallbacks and their errors.
#include <gtest/gtest.h>

#include <map>

#include "pgcqrs/sidecar/config.hpp"

using namespace pgcqrs::sidecar;

namespace {
ConfigResult parse(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                   std::map<std::string, std::string> files = {}) {
  return parse_config(
      args,
      [env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      [files](const std::string& k) -> std::optional<std::string> {
        auto it = files.find(k);
        if (it == files.end()) return std::nullopt;
        return it->second;
      });
}
}  // namespace

TEST(Config, FlagsOverrideEnvironment) {
  auto c = parse({"run", "--pg", "host=a", "--slot=other", "--http", "127.0.0.1:9187"},
                 {{"PGCQRS_PG", "host=env"}, {"PGCQRS_REDIS", "redis://r:1"}, {"PGCQRS_SLOT", "envslot"}})
               .config.value();
  EXPECT_EQ(c.command, "run");
  EXPECT_EQ(c.pg, "host=a");
  EXPECT_EQ(c.redis, "redis://r:1");
  EXPECT_EQ(c.slot, "other");
  EXPECT_EQ(c.http, "127.0.0.1:9187");
}

TEST(Config, ReadsThePasswordFromAFileOrTheEnvironment) {
  auto a = parse({"run", "--redis-password-file", "/pw"}, {}, {{"/pw", "secret\n"}}).config.value();
  EXPECT_EQ(a.redis_password, "secret");
  auto b = parse({"status"}, {{"PGCQRS_REDIS_PASSWORD", "p2"}, {"PGCQRS_REDIS_USER", "u"}}).config.value();
  EXPECT_EQ(b.redis_password, "p2");
  EXPECT_EQ(b.redis_user, "u");
  EXPECT_NE(parse({"run", "--redis-password-file", "/missing"}).error.find("/missing"), std::string::npos);
}

TEST(Config, SwitchesAndNumbers) {
  auto c = parse({"run", "--allow-eviction", "--max-inflight", "8", "--heartbeat-interval", "0"}).config.value();
  EXPECT_TRUE(c.allow_eviction);
  EXPECT_EQ(c.max_inflight, 8);
  EXPECT_EQ(c.heartbeat_interval_s, 0);
}

TEST(Config, NamesWhatIsWrong) {
  EXPECT_NE(parse({}).error.find("missing command"), std::string::npos);
  EXPECT_NE(parse({"go"}).error.find("unknown command \"go\""), std::string::npos);
  EXPECT_NE(parse({"run", "--nope"}).error.find("unknown option --nope"), std::string::npos);
  EXPECT_NE(parse({"run", "--pg"}).error.find("--pg needs a value"), std::string::npos);
  EXPECT_NE(parse({"run", "--max-inflight", "0"}).error.find("--max-inflight"), std::string::npos);
  EXPECT_NE(parse({"run", "--slot", "Bad-Name"}).error.find("slot names"), std::string::npos);
  EXPECT_NE(parse({"run", "--http", "nowhere"}).error.find("HOST:PORT"), std::string::npos);
  EXPECT_NE(parse({"run", "--http", "0.0.0.0:9187"}).error.find("loopback"), std::string::npos);
  EXPECT_EQ(parse({"run", "--help"}).error, "help");
}
