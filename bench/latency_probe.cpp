// pgcqrs-bench-latency-probe: commit-to-visible-in-Redis latency. At a fixed rate it places an
// order, takes write_token() (a WAL position at or past that commit) and waits until the
// sidecar publishes on pgcqrs:applied a checkpoint at or past it. Prints percentiles in ms.
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

uint64_t parse_lsn(const char* s) {
  unsigned hi = 0, lo = 0;
  if (std::sscanf(s, "%X/%X", &hi, &lo) != 2) return 0;
  return (uint64_t(hi) << 32) | lo;
}

std::atomic<uint64_t> applied{0};
std::mutex mu;
std::condition_variable cv;
std::atomic<bool> done{false};
std::atomic<int> sub_fd{-1};

void subscriber(const std::string& host, int port, std::atomic<bool>& ready) {
  redisContext* c = redisConnect(host.c_str(), port);
  if (!c || c->err) {
    std::fprintf(stderr, "latency-probe: cannot connect to Redis %s:%d\n", host.c_str(), port);
    std::exit(1);
  }
  sub_fd = c->fd;
  redisReply* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE pgcqrs:applied"));
  if (r) freeReplyObject(r);
  ready = true;
  while (!done) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      if (done) break;  // main() shut the socket down to end the wait
      std::fprintf(stderr, "latency-probe: subscription lost: %s\n", c->errstr);
      std::exit(1);
    }
    auto* m = static_cast<redisReply*>(reply);
    if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->type == REDIS_REPLY_STRING) {
      uint64_t lsn = parse_lsn(m->element[2]->str);
      uint64_t cur = applied.load();
      {
        // Under the mutex, so a waiter cannot miss the wake-up between its check and its wait.
        std::lock_guard<std::mutex> lk(mu);
        while (lsn > cur && !applied.compare_exchange_weak(cur, lsn)) {}
      }
      cv.notify_all();
    }
    freeReplyObject(m);
  }
  redisFree(c);
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, size_t(p * (v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string pg, redis_host = "127.0.0.1", out;
  int redis_port = 6379, users = 1000, products = 100;
  double rate = 20, duration = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--pg") pg = v;
    else if (k == "--redis-port") redis_port = std::atoi(v.c_str());
    else if (k == "--rate") rate = std::atof(v.c_str());
    else if (k == "--duration") duration = std::atof(v.c_str());
    else if (k == "--users") users = std::atoi(v.c_str());
    else if (k == "--products") products = std::atoi(v.c_str());
    else if (k == "--out") out = v;
    else { std::fprintf(stderr, "latency-probe: unknown option %s\n", k.c_str()); return 2; }
  }
  PGconn* conn = PQconnectdb(pg.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "latency-probe: %s", PQerrorMessage(conn));
    return 1;
  }
  PGresult* p = PQprepare(conn, "place", "SELECT place_order($1::bigint, $2::jsonb)", 2, nullptr);
  PQclear(p);
  p = PQprepare(conn, "token", "SELECT write_token()", 0, nullptr);
  PQclear(p);

  std::atomic<bool> ready{false};
  std::thread sub(subscriber, redis_host, redis_port, std::ref(ready));
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::mt19937_64 rng(42);
  std::vector<double> lat_ms;
  long timeouts = 0;
  auto start = Clock::now();
  auto period = std::chrono::duration<double>(1.0 / rate);
  long n = 0;
  while (Clock::now() - start < std::chrono::duration<double>(duration)) {
    auto next = start + std::chrono::duration_cast<Clock::duration>(period * n++);
    std::this_thread::sleep_until(next);
    std::string user = std::to_string(1 + rng() % users);
    long a = 1 + rng() % products, b = 1 + (a % products), c = 1 + (b % products);
    std::string items = "[{\"product_id\":" + std::to_string(a) + ",\"quantity\":1},{\"product_id\":" +
                        std::to_string(b) + ",\"quantity\":2},{\"product_id\":" + std::to_string(c) +
                        ",\"quantity\":3}]";
    const char* params[2] = {user.c_str(), items.c_str()};
    PGresult* r = PQexecPrepared(conn, "place", 2, params, nullptr, nullptr, 0);
    auto committed = Clock::now();
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "latency-probe: place_order failed: %s", PQerrorMessage(conn));
      PQclear(r);
      continue;
    }
    PQclear(r);
    r = PQexecPrepared(conn, "token", 0, nullptr, nullptr, nullptr, 0);
    uint64_t token = parse_lsn(PQgetvalue(r, 0, 0));
    PQclear(r);
    std::unique_lock<std::mutex> lk(mu);
    bool ok = cv.wait_until(lk, committed + std::chrono::seconds(60), [&] { return applied.load() >= token; });
    if (!ok) { ++timeouts; continue; }
    lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - committed).count());
  }
  done = true;
  ::shutdown(sub_fd.load(), SHUT_RDWR);
  sub.join();
  PQfinish(conn);
  if (!out.empty()) {
    std::ofstream f(out);
    for (double v : lat_ms) f << v << "\n";
  }
  std::vector<double> s = lat_ms;
  std::sort(s.begin(), s.end());
  // probes p50 p99 max timeouts (ms)
  std::printf("%zu %.3f %.3f %.3f %ld\n", s.size(), pct(s, 0.5), pct(s, 0.99), s.empty() ? 0 : s.back(), timeouts);
  return 0;
}
