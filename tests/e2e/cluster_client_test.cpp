// Routing on a real Redis Cluster (started by run_with_redis_cluster.sh): hash slots as CLUSTER
// KEYSLOT computes them for every key family, commands sent to the right master, a slot
// migrated by hand under the client (MOVED after, ASK and TRYAGAIN during), a batch cut
// short between its slots finished from its intent, and, with replicas, a master killed
// under the client.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <signal.h>

#include <cstdlib>
#include <sstream>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/cluster/recovery.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/cluster_client.hpp"
#include "pgcqrs/sidecar/redis/key_slot.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/sidecar/redis/slot_split.hpp"

using namespace pgcqrs::sidecar;
using namespace pgcqrs::sidecar::redis;

namespace {

std::string text(const redisReply* r) { return reply_string(r); }

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* ports = std::getenv("PGCQRS_REDIS_CLUSTER_PORTS");
    ASSERT_NE(ports, nullptr) << "run through run_with_redis_cluster.sh";
    std::istringstream in(ports);
    for (int port; in >> port;) {
      Endpoint ep;
      ep.port = port;
      nodes_.push_back(std::make_unique<SyncClient>(ep, 5000));
      ports_.push_back(port);
      nodes_.back()->command({"FLUSHALL"}, true);  // a replica refuses: it has nothing of its own
    }
    ASSERT_GE(nodes_.size(), 3u);
    seed_.port = ports_[0];
  }

  bool with_replicas() const { return nodes_.size() > 3; }

  // The node serving key's slot by the cluster's own account: the one that does not answer MOVED.
  size_t owner(const std::string& key) {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!reply_error_code(nodes_[i]->command({"EXISTS", key}, true).get()).starts_with("MOVED")) return i;
    ADD_FAILURE() << "every node redirects " << key;
    return 0;
  }

  std::string id_of(size_t node) { return text(nodes_[node]->command({"CLUSTER", "MYID"}).get()); }

  // A slot moved from one node to another as redis-cli --cluster reshard does it, in steps that
  // a test can look between: both nodes told, then key by key, then every node told the end.
  void start_migration(uint16_t slot, size_t from, size_t to) {
    std::string s = std::to_string(slot);
    nodes_[to]->command({"CLUSTER", "SETSLOT", s, "IMPORTING", id_of(from)});
    nodes_[from]->command({"CLUSTER", "SETSLOT", s, "MIGRATING", id_of(to)});
  }
  void migrate_key(const std::string& key, size_t from, size_t to) {
    auto r = nodes_[from]->command({"MIGRATE", "127.0.0.1", std::to_string(ports_[to]), key, "0", "5000"});
    ASSERT_EQ(text(r.get()), "OK");
  }
  void finish_migration(uint16_t slot, size_t to) {
    std::string id = id_of(to);
    for (auto& n : nodes_) n->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id});
  }

  std::vector<std::unique_ptr<SyncClient>> nodes_;
  std::vector<int> ports_;
  Endpoint seed_;
};

}  // namespace

TEST_F(Cluster, KeySlotsAsTheClusterComputesThem) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  // Every key family of the read models, under prefixes and generations, and ids of every length.
  std::vector<std::string> keys;
  for (const Keys& k : {Keys(), Keys("app1:"), Keys("x", 7)}) {
    for (int64_t id : {0L, 1L, 42L, 999L, 123456789L, 9223372036854775807L}) {
      std::string s = std::to_string(id);
      for (auto key : {k.order(s), k.user(s), k.product(s), k.user_orders(s), k.user_latest(s), k.product_orders(s)})
        keys.push_back(key);
    }
    for (int b : {0, 1, 42, 63})
      for (const auto& key : {k.top_products(b), k.users(b), k.products(b)}) keys.push_back(key);
    for (const auto& key : {k.checkpoint(), k.channel()}) keys.push_back(key);
  }
  for (int i = 0; i < 2000; ++i) keys.push_back("{t" + std::to_string(i) + "}:x" + std::to_string(i * 7919));
  for (const auto& key : keys) nodes_[0]->append({"CLUSTER", "KEYSLOT", key});
  for (const auto& key : keys) {
    auto r = nodes_[0]->read_reply();
    ASSERT_EQ(r->type, REDIS_REPLY_INTEGER) << key;
    EXPECT_EQ(r->integer, key_slot(key)) << key;
  }
}

TEST_F(Cluster, EachCommandGoesToItsSlotsMaster) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  ClusterClient c(seed_, 5000);
  ASSERT_EQ(c.slot_map().masters().size(), 3u);
  EXPECT_EQ(c.slot_map().unserved(), 0u);
  for (int i = 0; i < 300; ++i) {
    std::string key = "order_details:" + std::to_string(i);
    auto r = c.command(key, {"HSET", key, "order_id", std::to_string(i)});
    EXPECT_EQ(r->integer, 1);
  }
  EXPECT_EQ(c.counts().moved, 0);
  EXPECT_EQ(c.counts().asked, 0);
  long long total = 0;
  for (const auto& r : c.on_each_master({"DBSIZE"})) {
    EXPECT_GT(r->integer, 0);  // 300 keys spread over all three masters
    total += r->integer;
  }
  EXPECT_EQ(total, 300);
  // One slot, one transaction: a hash tag keeps the two keys together.
  auto exec = c.transaction("{u7}:a", {{"SET", "{u7}:a", "1"}, {"INCRBY", "{u7}:b", "5"}});
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec->elements, 2u);
  EXPECT_EQ(exec->element[1]->integer, 5);
}

TEST_F(Cluster, KeysInTwoSlotsAreRefused) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  ClusterClient c(seed_, 5000);
  try {
    c.transaction("a", {{"SET", "a", "1"}, {"SET", "b", "1"}});
    FAIL() << "a transaction over two slots ran";
  } catch (const RedisError& e) {
    EXPECT_EQ(e.code, "CROSSSLOT") << e.what();
  }
  EXPECT_EQ(c.command("a", {"EXISTS", "a"})->integer, 0);  // nothing of it ran
}

TEST_F(Cluster, ASlotMigratedUnderTheClient) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  ClusterClient c(seed_, 5000, 600);
  const std::string k1 = "{mig}:1", k2 = "{mig}:2";
  const uint16_t slot = key_slot(k1);
  c.command(k1, {"SET", k1, "one"});
  c.command(k2, {"SET", k2, "two"});
  size_t from = owner(k1), to = (from + 1) % 3;

  // Midway: k1 is on the importing node, k2 still on the migrating one.
  start_migration(slot, from, to);
  migrate_key(k1, from, to);
  EXPECT_EQ(text(c.command(k1, {"GET", k1}).get()), "one");
  EXPECT_EQ(c.counts().asked, 1);
  EXPECT_EQ(text(c.command(k2, {"GET", k2}).get()), "two");
  EXPECT_EQ(c.counts().asked, 1);  // k2 answered where the map says
  // A command over both keys cannot run while they are on two nodes: TRYAGAIN until retry_ms.
  try {
    c.command(k1, {"MGET", k1, k2});
    FAIL() << "MGET over a split slot answered";
  } catch (const RedisError& e) {
    EXPECT_EQ(e.code, "TRYAGAIN") << e.what();
  }
  EXPECT_GT(c.counts().retried, 0);

  // Done: the slot's new master answers after one MOVED, and the map remembers it.
  migrate_key(k2, from, to);
  finish_migration(slot, to);
  auto both = c.transaction(k1, {{"GET", k1}, {"GET", k2}});
  ASSERT_EQ(both->elements, 2u);
  EXPECT_EQ(text(both->element[0]), "one");
  EXPECT_EQ(text(both->element[1]), "two");
  EXPECT_EQ(c.counts().moved, 1);
  EXPECT_EQ(c.slot_map().master(slot)->port, ports_[to]);
  c.command(k1, {"GET", k1});
  EXPECT_EQ(c.counts().moved, 1);

  // Back where it was, so that the next test finds the cluster as created.
  start_migration(slot, to, from);
  migrate_key(k1, to, from);
  migrate_key(k2, to, from);
  finish_migration(slot, from);
}

// Many slots' transactions in one round trip: each applied once, a slot moved since the map
// was read sent again alone after its MOVED, and a refused transaction thrown only once every
// reply is read (the connections stay usable).
TEST_F(Cluster, TransactionsOfManySlotsAtOnce) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  ClusterClient c(seed_, 5000, 600);
  RespWriter w;
  for (int b = 0; b < 12; ++b) {
    const std::string key = "{tx" + std::to_string(b) + "}:n";
    w.cmd("DEL", key);
    w.cmd("INCRBY", key, "5");
  }
  const std::vector<SlotTransaction> ts = split_by_slot(w.buffer(), w.starts(), "", {});
  ASSERT_EQ(ts.size(), 12u);
  // The slot of {tx3} moves behind the client's back: its transaction gets MOVED.
  const std::string moved_key = "{tx3}:n";
  const uint16_t slot = key_slot(moved_key);
  const size_t from = owner(moved_key), to = (from + 1) % 3;
  start_migration(slot, from, to);
  finish_migration(slot, to);
  auto replies = c.transactions(ts);
  ASSERT_EQ(replies.size(), 12u);
  for (const auto& r : replies) {
    ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(r->elements, 2u);
    EXPECT_EQ(r->element[1]->integer, 5);  // applied once
  }
  EXPECT_EQ(c.counts().moved, 1);
  for (int b = 0; b < 12; ++b) {
    const std::string key = "{tx" + std::to_string(b) + "}:n";
    EXPECT_EQ(text(c.command(key, {"GET", key}).get()), "5") << key;
  }

  RespWriter bad;
  bad.cmd("SET", "{tx1}:n", "6");
  bad.cmd("SET", "{tx2}:n");  // wrong number of arguments: EXECABORT
  bad.cmd("SET", "{tx4}:n", "6");
  try {
    c.transactions(split_by_slot(bad.buffer(), bad.starts(), "", {}));
    FAIL() << "a refused transaction did not throw";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong number of arguments"), std::string::npos) << e.what();
  }
  EXPECT_EQ(text(c.command("{tx1}:n", {"GET", "{tx1}:n"}).get()), "6");
  EXPECT_EQ(text(c.command("{tx2}:n", {"GET", "{tx2}:n"}).get()), "5");
  EXPECT_EQ(text(c.command("{tx4}:n", {"GET", "{tx4}:n"}).get()), "6");

  start_migration(slot, to, from);
  migrate_key(moved_key, to, from);
  finish_migration(slot, from);
}

TEST_F(Cluster, ABatchCutShortBetweenSlotsIsFinishedOnce) {
  if (with_replicas()) GTEST_SKIP() << "run on the cluster without replicas";
  ClusterClient c(seed_, 5000);
  const std::string checkpoint = "pgcqrs:checkpoint", intent_key = cluster::intent_key("", checkpoint);
  // A batch of counters over 64 hash tags, which the three masters share.
  auto batch = [&](uint64_t number) {
    RespWriter w;
    for (int b = 0; b < 64; ++b) w.cmd("HINCRBY", "user:{" + std::to_string(b) + "}:" + std::to_string(b), "order_count", "1");
    cluster::Intent intent{number, split_by_slot(w.buffer(), w.starts(), "", {cluster::kFenceField, std::to_string(number)}), {}};
    RespWriter finish;
    finish.cmd("HSET", checkpoint, "batch", std::to_string(number));
    finish.cmd("DEL", intent_key);
    intent.finish = std::move(split_by_slot(finish.buffer(), finish.starts(), "", {}).at(0));
    return intent;
  };
  auto counters_are = [&](const std::string& value) {
    for (int b = 0; b < 64; ++b) {
      std::string key = "user:{" + std::to_string(b) + "}:" + std::to_string(b);
      ASSERT_EQ(text(c.command(key, {"HGET", key, "order_count"}).get()), value) << key;
    }
  };
  cluster::Intent intent = batch(100);
  ASSERT_GT(intent.transactions.size(), 40u);
  c.command(intent_key, {"SET", intent_key, cluster::encode_intent(intent)});
  size_t half = intent.transactions.size() / 2;
  for (size_t i = 0; i < half; ++i) c.transaction(intent.transactions[i]);  // then the crash

  auto r = cluster::finish_intent(c, checkpoint, "");
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.applied, intent.transactions.size() - half);
  counters_are("1");
  EXPECT_EQ(text(c.command(checkpoint, {"HGET", checkpoint, "batch"}).get()), "100");
  EXPECT_EQ(c.command(intent_key, {"EXISTS", intent_key})->integer, 0);
  EXPECT_FALSE(cluster::finish_intent(c, checkpoint, "").found);  // the next start: nothing to do

  // A crash after every slot, before the finish: only the finish runs.
  c.command(intent_key, {"SET", intent_key, cluster::encode_intent(intent)});
  r = cluster::finish_intent(c, checkpoint, "");
  EXPECT_EQ(r.applied, 0u);
  counters_are("1");
  EXPECT_EQ(c.command(intent_key, {"EXISTS", intent_key})->integer, 0);

  // An intent older than what the slots hold is refused, and nothing is written.
  c.command(intent_key, {"SET", intent_key, cluster::encode_intent(batch(50))});
  r = cluster::finish_intent(c, checkpoint, "");
  EXPECT_EQ(r.error.substr(0, 18), "the fence of slot ");
  EXPECT_NE(r.error.find(" is past the intent's batch 50"), std::string::npos) << r.error;
  counters_are("1");
  EXPECT_EQ(c.command(intent_key, {"EXISTS", intent_key})->integer, 1);
}

TEST_F(Cluster, AMasterKilledFailsOverUnderTheClient) {
  if (!with_replicas()) GTEST_SKIP() << "needs a replica for each master";
  ClusterClient c(seed_, 2000, 20000);
  const std::string key = "{failover}:k";
  c.command(key, {"SET", key, "kept"});
  EXPECT_EQ(c.command(key, {"WAIT", "1", "5000"})->integer, 1);  // the replica has it
  size_t master = owner(key);
  auto info = nodes_[master]->command({"INFO", "server"});
  std::string server = text(info.get());
  auto at = server.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(::kill(std::stoi(server.substr(at + 11)), SIGKILL), 0);

  // Lost connections and CLUSTERDOWN while the replica waits out the node timeout, then the
  // promoted replica answers with what the master had acknowledged.
  EXPECT_EQ(text(c.command(key, {"GET", key}).get()), "kept");
  EXPECT_GT(c.counts().retried, 0);
  EXPECT_NE(c.slot_map().master(key_slot(key))->port, ports_[master]);
}
