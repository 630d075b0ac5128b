// redis::AsyncClient against a real Redis (started by run_with_redis.sh), run under valgrind
// by ctest: the client may be closed or destroyed from any of its handlers, as the session
// does when the stream fails right after Redis connects.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <memory>

#include "pgcqrs/sidecar/redis/async_client.hpp"

using namespace pgcqrs::sidecar;

namespace {

redis::Endpoint endpoint() {
  redis::Endpoint ep;
  const char* port = std::getenv("PGCQRS_REDIS_PORT");
  ep.port = port ? std::atoi(port) : 0;
  return ep;
}

}  // namespace

TEST(AsyncClient, ClosedFromItsConnectHandler) {
  ASSERT_NE(std::getenv("PGCQRS_REDIS_PORT"), nullptr) << "run through run_with_redis.sh";
  boost::asio::io_context io;
  for (int round = 0; round < 20; ++round) {
    auto client = std::make_unique<redis::AsyncClient>(io);
    std::string connected = "never", disconnected = "never";
    int replies = 0;
    client->connect(
        endpoint(),
        [&](const std::string& err) {
          connected = err;
          // A command queued, then the session fails and tears down: the client is closed and
          // destroyed inside this handler.
          EXPECT_TRUE(client->command({"PING"}, [&](redisReply* r) {
            ++replies;
            EXPECT_EQ(r, nullptr);
          }));
          client->close();
          client.reset();
        },
        [&](const std::string& err) { disconnected = err; });
    io.run();
    io.restart();
    EXPECT_EQ(connected, "");
    EXPECT_EQ(disconnected, "never");
    EXPECT_EQ(replies, 1);  // its handler ran once, with nullptr
    EXPECT_EQ(client, nullptr);
  }
}

TEST(AsyncClient, ClosedFromAReplyHandler) {
  boost::asio::io_context io;
  auto client = std::make_unique<redis::AsyncClient>(io);
  std::string connected = "never";
  std::vector<std::string> seen;
  client->connect(
      endpoint(),
      [&](const std::string& err) {
        connected = err;
        client->command({"PING"}, [&](redisReply* r) {
          seen.push_back(r ? r->str : "null");
          client.reset();  // the second command's handler still runs once, with nullptr
        });
        client->command({"PING"}, [&](redisReply* r) { seen.push_back(r ? r->str : "null"); });
      },
      [](const std::string&) {});
  io.run();
  EXPECT_EQ(connected, "");
  EXPECT_EQ(seen, (std::vector<std::string>{"PONG", "null"}));
}
