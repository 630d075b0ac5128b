// redis::AsyncClient against a real Redis (started by run_with_redis.sh), run under valgrind
// by ctest: the client may be closed or destroyed from any of its handlers (as the session
// does when the stream fails right after Redis connects), and pipelines keep their order.
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

TEST(AsyncClient, DestroyedFromAFailedConnectHandler) {
  boost::asio::io_context io;
  redis::Endpoint ep;
  ep.port = 1;  // nothing listens there
  for (int round = 0; round < 20; ++round) {
    auto client = std::make_unique<redis::AsyncClient>(io);
    std::string connected = "never";
    client->connect(ep, [&](const std::string& err) {
      connected = err;
      EXPECT_FALSE(client->command({"PING"}, [](redisReply*) { ADD_FAILURE() << "a refused call was answered"; }));
      client.reset();
    }, [](const std::string&) { ADD_FAILURE() << "never connected, so never disconnected"; });
    io.run();
    io.restart();
    EXPECT_NE(connected.find("cannot connect to Redis"), std::string::npos) << connected;
    EXPECT_EQ(client, nullptr);
  }
}

// QUIT: Redis answers, then closes; on_disconnected says so, then the calls behind it get
// nullptr, and the first of them destroys the client while the rest are being told.
TEST(AsyncClient, DestroyedWhileTheConnectionIsLost) {
  boost::asio::io_context io;
  auto client = std::make_unique<redis::AsyncClient>(io);
  std::vector<std::string> seen;
  bool disconnected = false;
  client->connect(endpoint(), [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client->command({"QUIT"}, [&](redisReply* r) { seen.push_back(r ? r->str : "null"); });
    client->command({"PING"}, [&](redisReply* r) {
      seen.push_back(r ? r->str : "null");
      client.reset();
    });
    client->command({"PING"}, [&](redisReply* r) { seen.push_back(r ? r->str : "null"); });
  }, [&](const std::string&) { disconnected = true; });
  io.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"OK", "null", "null"}));
  EXPECT_TRUE(disconnected);
  EXPECT_EQ(client, nullptr);
}

// A transaction written as one pipeline: the queued error reaches the EXEC handler, and the
// replies of a big pipeline (more than one read's worth) arrive in order.
TEST(AsyncClient, PipelinesAgainstARealRedis) {
  boost::asio::io_context io;
  redis::AsyncClient client(io);
  std::string exec_reply, queued;
  long long incr = 0;
  client.connect(endpoint(), [&](const std::string& err) {
    ASSERT_EQ(err, "");
    std::string bytes;
    std::vector<size_t> starts;
    for (const auto& argv : std::vector<std::vector<std::string>>{{"MULTI"}, {"SET", "k"}, {"SET", "k", "v"}, {"EXEC"}}) {
      starts.push_back(bytes.size());
      bytes += "*" + std::to_string(argv.size()) + "\r\n";
      for (const auto& a : argv) bytes += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    }
    client.pipeline(bytes, starts, [&](redisReply* r) {
      exec_reply = r ? std::string(r->str, r->len) : "null";
      queued = client.queued_error();
    });
    bytes.clear();
    starts.clear();
    for (int i = 0; i < 20000; ++i) {
      starts.push_back(bytes.size());
      bytes += "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
    }
    client.pipeline(bytes, starts, [&](redisReply* r) {
      incr = r ? r->integer : -1;
      client.close();
    });
    client.flush();
  }, [](const std::string&) {});
  io.run();
  EXPECT_EQ(exec_reply.rfind("EXECABORT", 0), 0u) << exec_reply;
  EXPECT_EQ(queued, "ERR wrong number of arguments for 'set' command");
  EXPECT_EQ(incr, 20000);
}

// Commands in pieces, long ones written from where their owner keeps them, between commands
// the client copies: Redis gets the bytes in the order given, and the owner's bytes are let go
// once written.
TEST(AsyncClient, PiecesKeepTheirOrder) {
  boost::asio::io_context io;
  redis::AsyncClient client(io);
  const std::string big(100000, 'x'), bigger(300000, 'y');
  auto held = std::make_shared<std::string>("$" + std::to_string(bigger.size()) + "\r\n" + bigger + "\r\n");
  std::weak_ptr<std::string> watch = held;
  std::vector<std::string> seen;
  auto note = [&](redisReply* r) {
    if (!r) return seen.push_back("null");
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
      return seen.push_back(std::string(r->str, r->len).substr(0, 12) + ":" + std::to_string(r->len));
    seen.push_back("type " + std::to_string(r->type));
  };
  client.connect(endpoint(), [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"SET", "pieces", "before"}, note);
    const std::string head = "*3\r\n$3\r\nSET\r\n$6\r\npieces\r\n$" + std::to_string(big.size()) + "\r\n";
    EXPECT_TRUE(client.pipeline_pieces({head, big, "\r\n"}, nullptr, 1, note));
    client.command({"GET", "pieces"}, note);
    const std::string multi = "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$6\r\npieces\r\n";
    EXPECT_TRUE(client.pipeline_pieces({multi, *held, "*1\r\n$4\r\nEXEC\r\n"}, held, 3, note));
    held.reset();
    client.command({"STRLEN", "pieces"}, [&](redisReply* r) {
      seen.push_back(r ? std::to_string(r->integer) : "null");
      client.close();
    });
    client.flush();
  }, [](const std::string&) {});
  io.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"OK:2", "OK:2", "xxxxxxxxxxxx:100000", "type 2", "300000"}));
  EXPECT_TRUE(watch.expired());
}
