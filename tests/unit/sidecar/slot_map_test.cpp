// The slot map read from CLUSTER SHARDS replies as Redis 7.0 writes them, the redirects that
// correct it, and the replies it refuses.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "pgcqrs/sidecar/redis/reply_reader.hpp"
#include "pgcqrs/sidecar/redis/slot_map.hpp"

using namespace pgcqrs::sidecar::redis;

namespace {

std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string num(long long v) { return ":" + std::to_string(v) + "\r\n"; }
std::string join(char kind, size_t n, std::initializer_list<std::string> parts) {
  std::string out = kind + std::to_string(n) + "\r\n";
  for (const auto& p : parts) out += p;
  return out;
}
std::string arr(std::initializer_list<std::string> parts) { return join('*', parts.size(), parts); }

std::string node(std::string_view id, int port, std::string_view role, std::string_view health = "online") {
  return arr({bulk("id"), bulk(id), bulk("port"), num(port), bulk("ip"), bulk("127.0.0.1"), bulk("endpoint"),
              bulk("127.0.0.1"), bulk("role"), bulk(role), bulk("replication-offset"), num(4242), bulk("health"),
              bulk(health)});
}

// Three masters with a replica each, as `redis-cli --cluster create` splits the slots.
std::string three_shards(std::string_view second_master_health = "online") {
  return arr({
      arr({bulk("slots"), arr({num(0), num(5460)}), bulk("nodes"), arr({node("a", 7000, "master"), node("d", 7003, "replica")})}),
      arr({bulk("slots"), arr({num(5461), num(10922)}), bulk("nodes"),
           arr({node("b", 7001, "master", second_master_health), node("e", 7004, "replica")})}),
      arr({bulk("slots"), arr({num(10923), num(12000), num(12001), num(16383)}), bulk("nodes"),
           arr({node("f", 7005, "replica"), node("c", 7002, "master")})}),
  });
}

struct Parsed {
  ReplyReader reader;
  SlotMap::Result result;
};

void parse(Parsed& p, const std::string& bytes, bool tls = false) {
  p.reader.feed(bytes.data(), bytes.size());
  redisReply* r = p.reader.next();
  ASSERT_NE(r, nullptr) << p.reader.error();
  p.result = SlotMap::from_shards(r, tls);
}

}  // namespace

TEST(SlotMap, EverySlotToItsMaster) {
  Parsed p;
  parse(p, three_shards());
  ASSERT_TRUE(p.result.map) << p.result.error;
  const SlotMap& m = *p.result.map;
  ASSERT_EQ(m.masters().size(), 3u);
  EXPECT_EQ(m.unserved(), 0u);
  EXPECT_EQ(m.master(0)->id, "a");
  EXPECT_EQ(m.master(5460)->port, 7000);
  EXPECT_EQ(m.master(5461)->id, "b");
  EXPECT_EQ(m.master(10923)->id, "c");  // the master, though a replica is listed first
  EXPECT_EQ(m.master(16383)->host, "127.0.0.1");
  EXPECT_EQ(m.master_of("foo")->id, "c");  // slot 12182
  EXPECT_EQ(m.master_of("hello")->id, "a");  // slot 866
}

TEST(SlotMap, AShardWithoutAnOnlineMasterServesNothing) {
  Parsed p;
  parse(p, three_shards("failed"));
  ASSERT_TRUE(p.result.map) << p.result.error;
  EXPECT_EQ(p.result.map->masters().size(), 2u);
  EXPECT_EQ(p.result.map->unserved(), 5462u);
  EXPECT_EQ(p.result.map->master(5461), nullptr);
  EXPECT_EQ(p.result.map->master(5460)->id, "a");
}

TEST(SlotMap, TlsPortsAndIpv6) {
  std::string n = arr({bulk("id"), bulk("a"), bulk("port"), num(7000), bulk("tls-port"), num(8000), bulk("ip"),
                        bulk("::1"), bulk("role"), bulk("master"), bulk("health"), bulk("online")});
  Parsed p;
  parse(p, arr({arr({bulk("slots"), arr({num(0), num(16383)}), bulk("nodes"), arr({n})})}));
  ASSERT_TRUE(p.result.map) << p.result.error;
  EXPECT_EQ(p.result.map->unserved(), 0u);
  EXPECT_EQ(p.result.map->master(777)->port, 7000);
  EXPECT_EQ(p.result.map->master(777)->host, "::1");
  Parsed t;
  parse(t, arr({arr({bulk("slots"), arr({num(0), num(16383)}), bulk("nodes"), arr({n})})}), true);
  ASSERT_TRUE(t.result.map) << t.result.error;
  EXPECT_EQ(t.result.map->master(777)->port, 8000);
}

TEST(SlotMap, RefusesWhatIsNotAShardList) {
  Parsed p;
  parse(p, "-ERR This instance has cluster support disabled\r\n");
  EXPECT_FALSE(p.result.map);
  EXPECT_EQ(p.result.error, "CLUSTER SHARDS did not answer an array of shards");

  Parsed range;
  parse(range, arr({arr({bulk("slots"), arr({num(0), num(16384)}), bulk("nodes"), arr({node("a", 7000, "master")})})}));
  EXPECT_EQ(range.result.error, "CLUSTER SHARDS shard 0 has a slot range out of 0-16383");

  Parsed nodes;
  parse(nodes, arr({arr({bulk("slots"), arr({num(0), num(1)})})}));
  EXPECT_EQ(nodes.result.error, "CLUSTER SHARDS shard 0 has no list of nodes");

  Parsed no_tls;  // read for TLS, but the master announces no tls-port
  parse(no_tls, three_shards(), true);
  EXPECT_EQ(no_tls.result.error, "CLUSTER SHARDS shard 0 names master a without an ip and tls-port");
}

TEST(SlotMap, MovedRepointsOneSlot) {
  Parsed p;
  parse(p, three_shards());
  ASSERT_TRUE(p.result.map);
  SlotMap m = *p.result.map;
  m.moved(100, "127.0.0.1", 7002);  // a known master
  EXPECT_EQ(m.master(100)->id, "c");
  EXPECT_EQ(m.master(101)->id, "a");
  m.moved(101, "127.0.0.1", 7010);  // a master not in the last CLUSTER SHARDS
  ASSERT_EQ(m.masters().size(), 4u);
  EXPECT_EQ(m.master(101)->id, "");
  EXPECT_EQ(m.master(101)->port, 7010);
  m.moved(102, "127.0.0.1", 7010);
  EXPECT_EQ(m.masters().size(), 4u);
}

TEST(Redirect, MovedAndAsk) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = parse_redirect("ASK 16383 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::ask);
  EXPECT_EQ(ask->slot, 16383);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7000);
  auto unknown = parse_redirect("MOVED 1 :6380");  // no announced address: the node asked
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->host, "");

  for (const char* bad : {"ERR unknown", "MOVED", "MOVED x 1.2.3.4:1", "MOVED 16384 a:1", "MOVED 1 a:0",
                          "MOVED 1 a:65536", "MOVED 1 noport", "ASK 1 a:1x", "TRYAGAIN Multiple keys"})
    EXPECT_FALSE(parse_redirect(bad)) << bad;
}
