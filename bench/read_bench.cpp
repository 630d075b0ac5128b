// pgcqrs-bench-read-bench: "this user's 10 latest orders with items and names", read from the
// Redis read models or from the write model with a prepared SQL JOIN, by N client threads for
// a fixed time. Prints queries/s, latency percentiles and rows per page. Modes:
//   redis-latest  one LRANGE user_latest:{b}:ID 0 9: the page read model, what pgcqrs-query
//                 sends for up to 10 orders
//   redis       ZREVRANGE user_orders:{b}:ID, then the 10 HGETALL order_details:{b}:ID
//               pipelined (2 round trips): the reads pgcqrs-query sends past the first 10
//               orders, without their WATCH of pgcqrs:checkpoint and MULTI/EXEC
//   redis-lua   the same reads in one read-only script (EVAL_RO, 1 round trip); pgcqrs-query
//               sends no script
//   sql         the JOIN
//   redis-ping, sql-ping  PING and a prepared SELECT 1: the round trip alone, the floor of
//               every read over the same connection
// Redis over loopback TCP (--redis-port) or a Unix socket (--redis-socket); PostgreSQL as
// --pg's conninfo says (host=/dir for its Unix socket).
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const char* kJoin =
    "SELECT o.id, o.status, o.created_at, o.updated_at, u.name, u.email, "
    "       i.product_id, p.name, i.quantity, i.unit_price, i.quantity * i.unit_price "
    "  FROM (SELECT * FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10) o "
    "  JOIN users u ON u.id = o.user_id "
    "  JOIN order_items i ON i.order_id = o.id "
    "  JOIN products p ON p.id = i.product_id "
    " ORDER BY o.created_at DESC, o.id, i.product_id";

// ZREVRANGE and an HGETALL per order in one call, each order's hash under its bucket (layout 4,
// id mod 64); ARGV[2] is the family, order_details:.
const char* kPageScript = R"(
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[2] .. '{' .. (tonumber(id) % 64) .. '}:' .. id)
  if #h > 0 then out[#out + 1] = h end
end
return out
)";

// A key of layout 4: the family, the id's bucket (id mod 64) as a hash tag, the id.
std::string tagged(const std::string& family, uint64_t id) {
  return family + "{" + std::to_string(id % 64) + "}:" + std::to_string(id);
}

struct Result {
  std::vector<double> lat_ms;
  long rows = 0;
};

// Where Redis listens: a loopback TCP port, or a Unix socket when socket is set.
struct RedisAt {
  int port = 6379;
  std::string socket;
};

redisContext* connect_redis(const RedisAt& at) {
  redisContext* c = at.socket.empty() ? redisConnect("127.0.0.1", at.port) : redisConnectUnix(at.socket.c_str());
  if (!c || c->err) {
    std::fprintf(stderr, "read-bench: cannot connect to Redis at %s\n",
                 at.socket.empty() ? ("127.0.0.1:" + std::to_string(at.port)).c_str() : at.socket.c_str());
    std::exit(1);
  }
  return c;
}

void run_redis(const RedisAt& at, int users, double seconds, uint64_t seed, Result& res) {
  redisContext* c = connect_redis(at);
  std::mt19937_64 rng(seed);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    std::string key = tagged("user_orders:", 1 + rng() % users);
    auto t0 = Clock::now();
    auto* z = static_cast<redisReply*>(redisCommand(c, "ZREVRANGE %b 0 9", key.data(), key.size()));
    if (!z) { std::fprintf(stderr, "read-bench: Redis error %s\n", c->errstr); std::exit(1); }
    for (size_t i = 0; i < z->elements; ++i) {
      std::string k = tagged("order_details:", std::strtoull(z->element[i]->str, nullptr, 10));
      redisAppendCommand(c, "HGETALL %b", k.data(), k.size());
    }
    for (size_t i = 0; i < z->elements; ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) { std::fprintf(stderr, "read-bench: Redis error\n"); std::exit(1); }
      auto* h = static_cast<redisReply*>(r);
      if (h->type == REDIS_REPLY_ARRAY && h->elements > 0) ++res.rows;  // the hash was found, as redis-lua counts
      freeReplyObject(r);
    }
    freeReplyObject(z);
    res.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  redisFree(c);
}

void run_redis_lua(const RedisAt& at, int users, double seconds, uint64_t seed, Result& res) {
  redisContext* c = connect_redis(at);
  std::mt19937_64 rng(seed);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    std::string key = tagged("user_orders:", 1 + rng() % users);
    auto t0 = Clock::now();
    auto* r = static_cast<redisReply*>(
        redisCommand(c, "EVAL_RO %s 1 %b 10 order_details:", kPageScript, key.data(), key.size()));
    if (!r || r->type != REDIS_REPLY_ARRAY) {
      std::fprintf(stderr, "read-bench: EVAL_RO %s failed: %s\n", key.c_str(),
                   r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
      std::exit(1);
    }
    res.rows += long(r->elements);
    freeReplyObject(r);
    res.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  redisFree(c);
}

void run_redis_latest(const RedisAt& at, int users, double seconds, uint64_t seed, Result& res) {
  redisContext* c = connect_redis(at);
  std::mt19937_64 rng(seed);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    std::string key = tagged("user_latest:", 1 + rng() % users);
    auto t0 = Clock::now();
    auto* r = static_cast<redisReply*>(redisCommand(c, "LRANGE %b 0 9", key.data(), key.size()));
    if (!r || r->type != REDIS_REPLY_ARRAY) { std::fprintf(stderr, "read-bench: LRANGE %s failed\n", key.c_str()); std::exit(1); }
    res.rows += long(r->elements);
    freeReplyObject(r);
    res.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  redisFree(c);
}

void run_redis_ping(const RedisAt& at, double seconds, Result& res) {
  redisContext* c = connect_redis(at);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    if (!r || r->type != REDIS_REPLY_STATUS) { std::fprintf(stderr, "read-bench: PING failed\n"); std::exit(1); }
    freeReplyObject(r);
    res.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  redisFree(c);
}

// ping: a prepared SELECT 1 instead of the JOIN (its parameter is then not sent).
void run_sql(const std::string& conninfo, bool ping, int users, double seconds, uint64_t seed, Result& res) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) { std::fprintf(stderr, "read-bench: %s", PQerrorMessage(conn)); std::exit(1); }
  PQclear(PQprepare(conn, "latest", ping ? "SELECT 1" : kJoin, ping ? 0 : 1, nullptr));
  std::mt19937_64 rng(seed);
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    std::string user = std::to_string(1 + rng() % users);
    const char* params[1] = {user.c_str()};
    auto t0 = Clock::now();
    PGresult* r = PQexecPrepared(conn, "latest", ping ? 0 : 1, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) { std::fprintf(stderr, "read-bench: %s", PQerrorMessage(conn)); std::exit(1); }
    res.rows += PQntuples(r);
    PQclear(r);
    res.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  PQfinish(conn);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "redis", pg;
  RedisAt at;
  int users = 1000, threads = 1;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode") mode = v;
    else if (k == "--pg") pg = v;
    else if (k == "--redis-port") at.port = std::atoi(v.c_str());
    else if (k == "--redis-socket") at.socket = v;
    else if (k == "--users") users = std::atoi(v.c_str());
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--duration") seconds = std::atof(v.c_str());
    else { std::fprintf(stderr, "read-bench: unknown option %s\n", k.c_str()); return 2; }
  }
  if (mode != "redis" && mode != "redis-lua" && mode != "redis-latest" && mode != "sql" && mode != "redis-ping" &&
      mode != "sql-ping") {
    std::fprintf(stderr, "read-bench: unknown mode %s (redis, redis-lua, redis-latest, sql, redis-ping or sql-ping)\n",
                 mode.c_str());
    return 2;
  }
  std::vector<Result> results(threads);
  std::vector<std::thread> pool;
  auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      if (mode == "sql" || mode == "sql-ping") run_sql(pg, mode == "sql-ping", users, seconds, 1000 + t, results[t]);
      else if (mode == "redis-ping") run_redis_ping(at, seconds, results[t]);
      else if (mode == "redis-latest") run_redis_latest(at, users, seconds, 1000 + t, results[t]);
      else if (mode == "redis-lua") run_redis_lua(at, users, seconds, 1000 + t, results[t]);
      else if (mode == "redis") run_redis(at, users, seconds, 1000 + t, results[t]);
    });
  for (auto& th : pool) th.join();
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  long rows = 0;
  for (auto& r : results) { all.insert(all.end(), r.lat_ms.begin(), r.lat_ms.end()); rows += r.rows; }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, size_t(p * (all.size() - 1) + 0.5))]; };
  // queries/s p50_ms p99_ms rows_per_query
  std::printf("%.1f %.3f %.3f %.2f\n", all.size() / wall, pct(0.5), pct(0.99), all.empty() ? 0.0 : double(rows) / all.size());
  return 0;
}
