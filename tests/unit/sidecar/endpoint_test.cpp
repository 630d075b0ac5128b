// Redis addresses: URLs, sockets, credentials that never reach the logs.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

using namespace pgcqrs::sidecar::redis;

TEST(Endpoint, ParsesRedisUrls) {
  auto e = parse_endpoint("redis://127.0.0.1:6380/2").endpoint.value();
  EXPECT_FALSE(e.is_unix);
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 2);
  auto d = parse_endpoint("redis://localhost").endpoint.value();
  EXPECT_EQ(d.port, 6379);
  EXPECT_EQ(d.db, 0);
  auto v6 = parse_endpoint("redis://[::1]:7000").endpoint.value();
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 7000);
}

TEST(Endpoint, ParsesCredentialsAndRedactsThem) {
  auto e = parse_endpoint("redis://sidecar:s%40cret@host:1").endpoint.value();
  EXPECT_EQ(e.user, "sidecar");
  EXPECT_EQ(e.password, "s@cret");
  EXPECT_EQ(e.redacted().find("cret"), std::string::npos);
  EXPECT_NE(e.redacted().find("sidecar"), std::string::npos);
}

TEST(Endpoint, ParsesUnixSockets) {
  auto a = parse_endpoint("/run/redis.sock").endpoint.value();
  EXPECT_TRUE(a.is_unix);
  EXPECT_EQ(a.path, "/run/redis.sock");
  auto b = parse_endpoint("unix:///run/redis.sock?db=3").endpoint.value();
  EXPECT_EQ(b.path, "/run/redis.sock");
  EXPECT_EQ(b.db, 3);
}

TEST(Endpoint, RejectsNonsense) {
  EXPECT_FALSE(parse_endpoint("http://x").endpoint);
  EXPECT_FALSE(parse_endpoint("redis://h:0").endpoint);
  EXPECT_FALSE(parse_endpoint("redis://h:99999").endpoint);
  EXPECT_FALSE(parse_endpoint("redis://h/x").endpoint);
  EXPECT_FALSE(parse_endpoint("unix://relative").endpoint);
}
