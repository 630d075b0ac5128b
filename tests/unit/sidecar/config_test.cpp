// Flags, environment fallbacks and their errors.
#include <gtest/gtest.h>

#include <map>

#include "pgcqrs/sidecar/config.hpp"

using namespace pgcqrs::sidecar;

namespace {
ConfigResult parse(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                   std::map<std::string, FileContent> files = {}) {
  return parse_config(
      args,
      [env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      [files](const std::string& k) -> std::optional<FileContent> {
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
  auto a = parse({"run", "--redis-password-file", "/pw"}, {}, {{"/pw", {"secret\n", 0600}}}).config.value();
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

TEST(Config, BatchSizeByDeployment) {
  auto d = parse({"run"}).config.value();
  EXPECT_EQ(batch_events(d, false), 100);
  EXPECT_EQ(batch_events(d, true), 800);
  EXPECT_EQ(huge_chunk_events(d), 100);
  auto c = parse({"run", "--chunk-events", "250"}).config.value();
  EXPECT_EQ(batch_events(c, false), 250);
  EXPECT_EQ(batch_events(c, true), 250);
  EXPECT_EQ(huge_chunk_events(c), 250);
  EXPECT_EQ(batch_events(parse({"run"}, {{"PGCQRS_CHUNK_EVENTS", "7"}}).config.value(), true), 7);
  EXPECT_NE(parse({"run", "--chunk-events", "0"}).error.find("chunk-events"), std::string::npos);
}

TEST(Config, NamesWhatIsWrong) {
  EXPECT_NE(parse({}).error.find("missing command"), std::string::npos);
  EXPECT_NE(parse({"go"}).error.find("unknown command \"go\""), std::string::npos);
  // One line naming the cause and where the options are listed (exit 2, main.cpp).
  EXPECT_EQ(parse({"run", "--nope"}).error, "unknown option --nope: pgcqrs-sidecar help run lists the options");
  EXPECT_EQ(parse({"go"}).error, "unknown command \"go\": use run, status, verify or rebuild (pgcqrs-sidecar help)");
  EXPECT_EQ(parse({"status", "now"}).error,
            "unexpected argument \"now\": options start with -- (pgcqrs-sidecar help status)");
  EXPECT_NE(parse({"run", "--pg"}).error.find("--pg needs a value"), std::string::npos);
  EXPECT_NE(parse({"run", "--max-inflight", "0"}).error.find("--max-inflight"), std::string::npos);
  EXPECT_NE(parse({"run", "--slot", "Bad-Name"}).error.find("slot names"), std::string::npos);
  EXPECT_NE(parse({"run", "--http", "nowhere"}).error.find("HOST:PORT"), std::string::npos);
  EXPECT_NE(parse({"run", "--http", "0.0.0.0:9187"}).error.find("loopback"), std::string::npos);
  EXPECT_EQ(parse({"run", "--help"}).error, "help");
}

TEST(Config, RefusesAPasswordFileOthersCanRead) {
  auto r = parse({"run", "--redis-password-file", "/pw"}, {}, {{"/pw", {"secret\n", 0644}}});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.error, "the password file /pw can be accessed by other users (mode 0644): chmod 600 /pw");
  EXPECT_TRUE(parse({"run", "--redis-password-file", "/pw"}, {}, {{"/pw", {"s", 0400}}}).config);
  EXPECT_FALSE(parse({"run"}, {{"PGCQRS_REDIS_PASSWORD_FILE", "/pw"}}, {{"/pw", {"s", 0660}}}).config);
}

TEST(Config, ValidatesLogLevelAndFormat) {
  auto r = parse({"run", "--log-level", "verbose"});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.error, "invalid value for --log-level: \"verbose\" (use trace, debug, info, warn or error)");
  EXPECT_EQ(parse({"run", "--log-level", "warn", "--log-format", "json"}).config->log_format, "json");
  EXPECT_EQ(parse({"run", "--log-format", "xml"}).error, "invalid value for --log-format: \"xml\"");
}

TEST(Config, HelpPerCommandAndVersion) {
  EXPECT_EQ(parse({"--version"}).error, "version");
  auto h = parse({"help", "status"});
  EXPECT_EQ(h.error, "help");
  EXPECT_EQ(h.help_command, "status");
  auto c = parse({"verify", "--help"});
  EXPECT_EQ(c.error, "help");
  EXPECT_EQ(c.help_command, "verify");
  EXPECT_EQ(parse({"help", "bogus"}).error, "help: unknown command \"bogus\": use run, status, verify or rebuild");
  EXPECT_NE(usage("run").find("--fanout-budget N"), std::string::npos);
  EXPECT_EQ(usage("status").find("--fanout-budget N"), std::string::npos);
  EXPECT_EQ(version(), std::string("pgcqrs-sidecar ") + PGCQRS_VERSION);
}

TEST(Config, WarnsOfAPasswordOnTheCommandLine) {
  EXPECT_EQ(parse({"run", "--redis", "redis://u:pw@h:1"}).warnings,
            std::vector<std::string>{"--redis holds a password, which other local users can read in the process "
                                     "list: use --redis-password-file instead"});
  EXPECT_EQ(parse({"run", "--pg", "host=h password=x"}).warnings.size(), 1u);
  // From the environment it is not on the command line: no warning.
  EXPECT_TRUE(parse({"run"}, {{"PGCQRS_REDIS", "redis://u:pw@h:1"}}).warnings.empty());
  EXPECT_TRUE(parse({"run", "--redis", "redis://u@h:1", "--pg", "host=h user=passwordless"}).warnings.empty());
}

TEST(Config, HoldsPassword) {
  EXPECT_TRUE(holds_password("redis://:pw@127.0.0.1:6379"));
  EXPECT_TRUE(holds_password("postgresql://app:pw@db/orders"));
  EXPECT_TRUE(holds_password("postgresql://db/orders?password=pw"));
  EXPECT_TRUE(holds_password("password=pw"));
  EXPECT_TRUE(holds_password("host=db  password = pw"));
  EXPECT_FALSE(holds_password("redis://user@127.0.0.1:6379/2"));
  EXPECT_FALSE(holds_password("host=db passwordfile=/x"));
  EXPECT_FALSE(holds_password("host=db user=nopassword"));
  EXPECT_FALSE(holds_password("/run/redis.sock"));
}

namespace {
std::map<std::string, FileContent> tls_files() {
  return {{"/ca.crt", {"PEM", 0644}}, {"/c.crt", {"PEM", 0644}}, {"/c.key", {"PEM", 0600}}, {"/open.key", {"PEM", 0644}}};
}
ReadFile from(std::map<std::string, FileContent> files) {
  return [files](const std::string& k) -> std::optional<FileContent> {
    auto it = files.find(k);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST(Config, TlsToRedisFromFlagsOrTheEnvironment) {
  auto c = parse({"run", "--redis", "rediss://r:6380", "--redis-tls-ca", "/ca.crt", "--redis-tls-server-name=r.internal"},
                 {{"PGCQRS_REDIS_TLS_CERT", "/c.crt"}, {"PGCQRS_REDIS_TLS_KEY", "/c.key"}})
               .config.value();
  auto r = redis_endpoint({c.redis, c.redis_user, c.redis_password, c.redis_tls}, from(tls_files()));
  ASSERT_TRUE(r.endpoint) << r.error;
  EXPECT_TRUE(r.endpoint->tls);
  EXPECT_EQ(r.endpoint->tls_files.ca_file, "/ca.crt");
  EXPECT_EQ(r.endpoint->tls_files.cert_file, "/c.crt");
  EXPECT_EQ(r.endpoint->tls_files.key_file, "/c.key");
  EXPECT_EQ(r.endpoint->tls_name(), "r.internal");
}

TEST(Config, TlsOptionsThatCannotWorkAreRefusedByName) {
  auto error = [](RedisTarget t) { return redis_endpoint(t, from(tls_files())).error; };
  EXPECT_EQ(error({"redis://r:6379", "", "", {"/ca.crt", "", "", ""}}),
            "--redis-tls-ca needs a rediss:// URL in --redis (TLS); redis://r:6379 is plain text");
  EXPECT_EQ(error({"rediss://r", "", "", {"", "/c.crt", "", ""}}),
            "--redis-tls-cert and --redis-tls-key go together: the client certificate and its private key");
  EXPECT_EQ(error({"rediss://r", "", "", {"/nosuch.crt", "", "", ""}}), "cannot read /nosuch.crt (--redis-tls-ca)");
  EXPECT_EQ(error({"rediss://r", "", "", {"", "/c.crt", "/open.key", ""}}),
            "the TLS key file /open.key can be accessed by other users (mode 0644): chmod 600 /open.key");
  // User and password override the URL's.
  auto ok = redis_endpoint({"redis://a:b@r", "u", "p", {}}, from({}));
  EXPECT_EQ(ok.endpoint->user, "u");
  EXPECT_EQ(ok.endpoint->password, "p");
}

TEST(Config, TheKeyPrefixComesFromItsFlagOrTheEnvironmentAndIsChecked) {
  EXPECT_EQ(parse({"run"}).config.value().key_prefix, "");
  EXPECT_EQ(parse({"verify"}, {{"PGCQRS_KEY_PREFIX", "env:"}}).config.value().key_prefix, "env:");
  EXPECT_EQ(parse({"status", "--key-prefix", "app1:"}, {{"PGCQRS_KEY_PREFIX", "env:"}}).config.value().key_prefix,
            "app1:");
  EXPECT_EQ(parse({"run", "--key-prefix", "a*"}).error,
            "--key-prefix \"a*\" holds '*': use letters, digits and _ . : - (no pattern characters, no braces)");
}
