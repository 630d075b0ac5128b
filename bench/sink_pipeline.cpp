// The Redis sink's own CPU: ROUNDS transactions of N HSETs each (MULTI, N commands, EXEC,
// written as one pipeline as the projector does) and ROUNDS rounds of N GETs as argument
// vectors (as the projector's reads go), one round in flight at a time, against the Redis
// on PGCQRS_REDIS_PORT. Prints this process's CPU (user + system) per command of each kind.
// Usage: bench/sink.sh [BUILD_DIR] [ROUNDS] [N] (starts a throwaway Redis).
#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/redis/async_client.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"
#include "cpu_clock.hpp"

using namespace pgcqrs::sidecar::redis;

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 400;
  int n = argc > 2 ? std::atoi(argv[2]) : 500;
  const char* port = std::getenv("PGCQRS_REDIS_PORT");
  if (!port) return std::fprintf(stderr, "PGCQRS_REDIS_PORT is not set\n"), 2;
  Endpoint ep;
  ep.port = std::atoi(port);
  boost::asio::io_context io;
  AsyncClient client(io);
  std::vector<std::vector<std::string>> gets;
  for (int i = 0; i < n; ++i) gets.push_back({"GET", "key:" + std::to_string(i)});
  std::vector<std::string> tags;  // what precedes an order's id in its key: order_details:{b}:
  for (int b = 0; b < 64; ++b) tags.push_back("order_details:{" + std::to_string(b) + "}:");
  int left = rounds, failed = 0;
  double t0 = 0, t_writes = 0, t_reads = 0;
  std::function<void()> write_round, read_round;
  write_round = [&] {
    RespWriter w;
    w.cmd("MULTI");
    for (int i = 0; i < n; ++i) {
      const int id = left * n + i;
      w.cmd("HSET", Cat{tags[static_cast<size_t>(id % 64)], std::to_string(id)}, "status", "placed");
    }
    w.cmd("EXEC");
    client.pipeline(w.buffer(), w.starts(), [&](redisReply* r) {
      if (!r || r->type != REDIS_REPLY_ARRAY) ++failed;
      if (--left > 0) return write_round();
      t_writes = cpu_us() - t0;
      left = rounds;
      t0 = cpu_us();
      read_round();
    });
    client.flush();
  };
  read_round = [&] {
    for (int i = 0; i < n; ++i)
      client.command(gets[static_cast<size_t>(i)], [&, last = i + 1 == n](redisReply* r) {
        if (!r) ++failed;
        if (!last) return;
        if (--left > 0) return read_round();
        t_reads = cpu_us() - t0;
        client.close();
      });
  };
  client.connect(ep, [&](const std::string& err) {
    if (!err.empty()) {
      std::fprintf(stderr, "%s\n", err.c_str());
      std::exit(1);
    }
    t0 = cpu_us();
    write_round();
  }, [&](const std::string& err) { std::fprintf(stderr, "%s\n", err.c_str()); std::exit(1); });
  io.run();
  double commands = double(rounds) * (n + 2);
  std::printf("transactions of %d HSETs: %.3f us of client CPU per command\n", n, t_writes / commands);
  std::printf("rounds of %d GETs:        %.3f us of client CPU per command\n", n, t_reads / (double(rounds) * n));
  return failed ? 1 : 0;
}
