// The sink for a Redis Cluster against a real one (three masters) and, beside it, a single
// Redis (run_with_redis.sh around run_with_redis_cluster.sh): the same transactions through
// BatchApplier into each leave the same read models, key by key, with the cluster's own keys
// (the fences, the checkpoint's batch number) as the batches left them and no intent behind.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/batch_applier.hpp"
#include "pgcqrs/sidecar/cluster/batch_plan.hpp"
#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/redis/async_client.hpp"
#include "pgcqrs/sidecar/redis/cluster_client.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/sidecar/sink/cluster_sink.hpp"
#include "pgcqrs/sidecar/sink/redis_sink.hpp"
#include "plugin_messages.hpp"

using namespace pgcqrs::sidecar;
using projection::Projector;
using projection::ScriptCall;

namespace {

const char* kNow = "2026-01-01T00:00:00.000000Z";

std::string lsn_text(uint64_t lsn) { return pgcqrs::format_lsn(lsn); }

// A deterministic workload over ids that span every bucket: users and products registered,
// then orders placed, cancelled, edited and deleted, users and products renamed (fan-outs
// over their orders), transaction after transaction.
std::vector<std::string> workload(unsigned seed, int transactions) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<std::string> m;
  uint64_t lsn = 0x1000;
  const int users = 90, products = 75;
  {
    const std::string at = lsn_text(lsn);
    m.push_back(begin(at));
    int s = 0;
    for (int u = 1; u <= users; ++u)
      m.push_back(ev(at, s++, "UserRegistered",
                     R"("user_id":)" + std::to_string(u) + R"(,"name":"u)" + std::to_string(u) +
                         R"(","email":"e","is_active":true,"created_at":"2026-01-01T00:00:00Z")"));
    for (int p = 1; p <= products; ++p)
      m.push_back(ev(at, s++, "ProductAdded",
                     R"("product_id":)" + std::to_string(p) + R"(,"name":"p)" + std::to_string(p) +
                         R"(","price":"1.00","is_active":true)"));
    m.push_back(commit(at, s));
  }
  struct Order {
    int user;
    std::map<int, int> items;  // product -> quantity, at 1.00 each
    bool cancelled = false;
  };
  std::map<int, Order> orders;
  int next_order = 1;
  for (int t = 0; t < transactions; ++t) {
    lsn += 0x100;
    const std::string at = lsn_text(lsn);
    m.push_back(begin(at));
    int s = 0;
    const int events = pick(1, 4);
    for (int e = 0; e < events; ++e) {
      const int kind = orders.empty() ? 0 : pick(0, 9);
      char when[40];
      snprintf(when, sizeof when, "2026-01-01T00:%02d:%02d.000000Z", (t / 60) % 60, t % 60);
      if (kind <= 4) {  // an order of one to three lines
        Order o{pick(1, users), {}, false};
        for (int n = pick(1, 3); n > 0; --n) o.items[pick(1, products)] += pick(1, 3);
        std::string items, sep;
        int total = 0;
        for (const auto& [p, q] : o.items) {
          items += sep + R"({"product_id":)" + std::to_string(p) + R"(,"quantity":)" + std::to_string(q) +
                   R"(,"unit_price":"1.00"})";
          sep = ",";
          total += q;
        }
        const int id = next_order++;
        m.push_back(ev(at, s++, "OrderPlaced",
                       R"("order_id":)" + std::to_string(id) + R"(,"user_id":)" + std::to_string(o.user) +
                           R"(,"status":"pending","created_at":")" + when + R"(","updated_at":")" + when +
                           R"(","items":[)" + items + R"(],"total":")" + std::to_string(total) + R"(.00")"));
        orders[id] = o;
        continue;
      }
      auto it = orders.begin();
      std::advance(it, pick(0, static_cast<int>(orders.size()) - 1));
      const int id = it->first;
      Order& o = it->second;
      if (kind == 5 && !o.cancelled) {
        m.push_back(ev(at, s++, "OrderStatusChanged",
                       R"("order_id":)" + std::to_string(id) + R"(,"user_id":)" + std::to_string(o.user) +
                           R"(,"from":"pending","to":"cancelled","updated_at":")" + when + R"(")"));
        o.cancelled = true;
      } else if (kind == 6) {
        const int p = o.items.begin()->first, q = o.items.begin()->second + 1;
        m.push_back(ev(at, s++, "OrderItemChanged",
                       R"("order_id":)" + std::to_string(id) + R"(,"product_id":)" + std::to_string(p) +
                           R"(,"quantity":)" + std::to_string(q) + R"(,"unit_price":"1.00")"));
        o.items.begin()->second = q;
      } else if (kind == 7) {
        m.push_back(ev(at, s++, "OrderDeleted",
                       R"("order_id":)" + std::to_string(id) + R"(,"user_id":)" + std::to_string(o.user) +
                           R"(,"status":")" + (o.cancelled ? "cancelled" : "pending") + R"(")"));
        orders.erase(it);
      } else if (kind == 8) {
        const int u = pick(1, users);
        m.push_back(ev(at, s++, "UserRenamed",
                       R"("user_id":)" + std::to_string(u) + R"(,"old_name":"x","name":"n)" + std::to_string(t) + R"(")"));
      } else {
        const int p = pick(1, products);
        m.push_back(ev(at, s++, "ProductRenamed",
                       R"("product_id":)" + std::to_string(p) + R"(,"old_name":"x","name":"q)" + std::to_string(t) + R"(")"));
      }
    }
    m.push_back(commit(at, s));
  }
  return m;
}

// Every key and its value as text, sorted: what two read models are compared by.
using Dump = std::map<std::string, std::string>;

std::string value_text(const std::string& type, const redisReply* r) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < r->elements; ++i) parts.push_back(redis::reply_string(r->element[i]));
  if (type == "hash" || type == "zset") {  // pairs, sorted by field or member
    std::vector<std::string> pairs;
    for (size_t i = 0; i + 1 < parts.size(); i += 2) pairs.push_back(parts[i] + "=" + parts[i + 1]);
    parts = pairs;
    std::sort(parts.begin(), parts.end());
  } else if (type == "set") {
    std::sort(parts.begin(), parts.end());
  }
  std::string out = type + ":";
  for (const auto& p : parts) out += " " + p;
  return out;
}

std::vector<std::string> read_argv(const std::string& type, const std::string& key) {
  if (type == "hash") return {"HGETALL", key};
  if (type == "zset") return {"ZRANGE", key, "0", "-1", "WITHSCORES"};
  if (type == "set") return {"SMEMBERS", key};
  return {"LRANGE", key, "0", "-1"};
}

class ClusterSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* port = std::getenv("PGCQRS_REDIS_PORT");
    const char* ports = std::getenv("PGCQRS_REDIS_CLUSTER_PORTS");
    ASSERT_TRUE(port && ports) << "run through run_with_redis.sh and run_with_redis_cluster.sh";
    single_.port = std::atoi(port);
    std::istringstream in(ports);
    for (int p, n = 0; in >> p; ++n) {
      redis::Endpoint ep;
      ep.port = p;
      redis::SyncClient(ep, 5000).command({"FLUSHALL"}, true);
      if (n == 0) seed_ = ep;
    }
    redis::SyncClient(single_, 5000).command({"FLUSHALL"});
    cluster_ = std::make_unique<redis::ClusterClient>(seed_, 5000);
  }

  // The copy's last step, which sets the checkpoint: one slot, the checkpoint's.
  redis::RespWriter mark(const std::string& lsn) {
    ScriptCall c;
    c.lsn_text = lsn;
    c.lsn = *pgcqrs::parse_lsn(lsn);
    c.final = true;
    Projector p;
    return p.start({c}, Projector::Mode::Mark, {"pgcqrs", kNow, 0, 1000}).writes;
  }

  // The calls through a BatchApplier into sink, batch after batch as the session drives it,
  // until every one is applied: the number of batches written, or a failure's words.
  std::pair<int, std::string> drive(boost::asio::io_context& io, sink::Sink& sink, std::vector<ScriptCall> calls) {
    http::Metrics metrics;
    int batches = 0;
    std::string failure;
    std::shared_ptr<BatchApplier> applier;
    BatchApplier::Events events;
    // The session's way: calls added until a batch is full, then flushed; again once applied.
    size_t next = 0;
    auto pump = [&] {
      while (next < calls.size() && !applier->full()) applier->add(std::move(calls[next++]));
      applier->flush();
    };
    events.applied = [&](const BatchApplier::Applied&) {
      ++batches;
      pump();
      if (next == calls.size() && applier->idle()) io.stop();
    };
    events.refused = [&](const std::string& verdict, const std::string& detail) {
      failure = "refused: " + verdict + " " + detail;
      io.stop();
    };
    events.failed = [&](const std::string& error, bool) {
      failure = error;
      io.stop();
    };
    BatchApplier::Limits limits;
    limits.events = 20;  // many batches, each over many slots
    applier = std::make_shared<BatchApplier>(sink, metrics, Keys(), limits, std::move(events), [] {
      return projection::ProjectorContext{"pgcqrs", kNow, 0, 25};  // fan-outs in batches of 25 orders
    });
    pump();
    io.restart();
    io.run_for(std::chrono::seconds(60));
    if (failure.empty() && (next < calls.size() || !applier->idle())) failure = "not done within 60 s";
    applier->close();
    return {batches, failure};
  }

  Dump dump_single() {
    redis::SyncClient c(single_, 5000);
    Dump d;
    std::string cursor = "0";
    do {
      auto r = c.command({"SCAN", cursor, "COUNT", "1000"});
      cursor = redis::reply_string(r->element[0]);
      for (size_t i = 0; i < r->element[1]->elements; ++i) {
        const std::string key = redis::reply_string(r->element[1]->element[i]);
        const std::string type = redis::reply_string(c.command({"TYPE", key}).get());
        d[key] = value_text(type, c.command(read_argv(type, key)).get());
      }
    } while (cursor != "0");
    return d;
  }

  Dump dump_cluster() {
    Dump d;
    for (const auto& key : cluster_->scan("*")) {
      const std::string type = redis::reply_string(cluster_->command(key, {"TYPE", key}).get());
      d[key] = value_text(type, cluster_->command(key, read_argv(type, key)).get());
    }
    return d;
  }

  redis::Endpoint single_, seed_;
  std::unique_ptr<redis::ClusterClient> cluster_;
};

}  // namespace

TEST_F(ClusterSinkTest, TheSameTransactionsLeaveTheSameReadModelsAsOnOneRedis) {
  const auto messages = workload(20261207, 150);
  boost::asio::io_context io;

  // One Redis, as the sidecar writes it.
  {
    redis::SyncClient c(single_, 5000);
    auto m = mark("0/100");
    c.append_formatted(m.buffer());
    for (size_t i = 0; i < m.starts().size(); ++i) c.read_reply();
    redis::AsyncClient client(io);
    std::string connected = "pending";
    client.connect(single_, [&](const std::string& e) { connected = e; io.stop(); }, [](const std::string&) {});
    io.run_for(std::chrono::seconds(10));
    ASSERT_EQ(connected, "");
    sink::RedisSink sink(client, Keys());
    auto [batches, failure] = drive(io, sink, calls_of(messages, 40));
    ASSERT_EQ(failure, "");
    EXPECT_GT(batches, 20);
  }

  // The cluster: the same mark, then the same calls.
  {
    auto m = mark("0/100");
    cluster::Intent marked = cluster::plan_batch(m.buffer(), m.starts(), 0, Keys());
    ASSERT_TRUE(marked.transactions.empty());
    cluster_->transaction(marked.finish);
    cluster::FenceLedger acknowledged;
    http::ClusterResends resends;
    sink::ClusterSink sink(io, seed_, cluster_->slot_map(), Keys(), 0, std::chrono::seconds(10), acknowledged,
                           resends);
    std::string ready = "pending", broken;
    sink.connect([&](const std::string& e) { ready = e; io.stop(); }, [&](const std::string& e) { broken = e; });
    io.restart();
    io.run_for(std::chrono::seconds(10));
    ASSERT_EQ(ready, "");
    auto [batches, failure] = drive(io, sink, calls_of(messages, 40));
    ASSERT_EQ(failure, "");
    EXPECT_EQ(broken, "");
    EXPECT_EQ(sink.last_batch(), static_cast<uint64_t>(batches));
    EXPECT_EQ(acknowledged.at(redis::key_slot("{5}")).value_or(0) > 0, true);  // every bucket was written
  }

  Dump one = dump_single(), many = dump_cluster();
  // The cluster's own: a fence in each slot the batches wrote, each at a batch number no later
  // than the checkpoint's, the last batch's number in the checkpoint, and no intent left.
  const std::string checkpoint_batch = cluster_->command("pgcqrs:checkpoint", {"HGET", "pgcqrs:checkpoint", "batch"})
                                           ->str;
  size_t fences = 0;
  for (auto it = many.begin(); it != many.end();) {
    if (it->first.rfind("pgcqrs:fence:{", 0) == 0) {
      ++fences;
      const std::string batch = it->second.substr(it->second.find("batch=") + 6);
      EXPECT_LE(std::stoull(batch), std::stoull(checkpoint_batch)) << it->first;
      it = many.erase(it);
    } else {
      ++it;
    }
  }
  EXPECT_EQ(fences, 64u);  // every bucket was written
  EXPECT_EQ(many.count(cluster::intent_key("", "pgcqrs:checkpoint")), 0u);
  // The checkpoints agree but for when they were written and the batch number.
  auto strip = [](std::string& cp) {
    for (const char* field : {"updated_at=", "batch="}) {
      const size_t at = cp.find(std::string(" ") + field);
      if (at != std::string::npos) cp.erase(at, cp.find(' ', at + 1) - at);
    }
  };
  strip(one["pgcqrs:checkpoint"]);
  strip(many["pgcqrs:checkpoint"]);
  EXPECT_GT(one.size(), 500u);
  std::vector<std::string> differences;
  for (const auto& [key, value] : one) {
    auto it = many.find(key);
    if (it == many.end()) differences.push_back(key + ": missing on the cluster");
    else if (it->second != value) differences.push_back(key + ": " + value + " / cluster: " + it->second);
  }
  for (const auto& [key, value] : many)
    if (!one.count(key)) differences.push_back(key + ": only on the cluster");
  EXPECT_TRUE(differences.empty()) << differences.size() << " differences, the first: " << differences.front();
}
