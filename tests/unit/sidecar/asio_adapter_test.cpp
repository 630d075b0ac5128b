// The hiredis adapter on Asio against an in-process fake Redis (a loopback socket that
// answers RESP by hand): replies in order, and every pending callback runs on a disconnect.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio.hpp>
#include <chrono>

#include "pgcqrs/sidecar/redis/async_client.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using pgcqrs::sidecar::redis::AsyncClient;
using pgcqrs::sidecar::redis::Endpoint;

namespace {

// Reads `expect` bytes of requests, then writes `reply` (and optionally closes).
struct FakeRedis {
  FakeRedis(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), sock(io) {}
  void serve(std::string reply, size_t expect, bool close_after) {
    acceptor.async_accept(sock, [this, reply, expect, close_after](const boost::system::error_code& ec) {
      ASSERT_FALSE(ec);
      read_until(reply, expect, close_after);
    });
  }
  void read_until(std::string reply, size_t expect, bool close_after) {
    sock.async_read_some(asio::buffer(buf), [this, reply, expect, close_after](const boost::system::error_code& ec, size_t n) {
      if (ec) return;
      received.append(buf.data(), n);
      if (received.size() < expect) return read_until(reply, expect, close_after);
      asio::async_write(sock, asio::buffer(out = reply), [this, close_after](const boost::system::error_code&, size_t) {
        if (close_after) sock.close();
      });
    });
  }
  unsigned short port() const { return acceptor.local_endpoint().port(); }
  tcp::acceptor acceptor;
  tcp::socket sock;
  std::array<char, 4096> buf{};
  std::string received, out;
};

std::string resp(std::initializer_list<std::string> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

}  // namespace

TEST(AsioAdapter, RepliesArriveInOrder) {
  asio::io_context io;
  FakeRedis fake(io);
  std::string req = resp({"PING"}) + resp({"SET", "k", std::string("a\0b", 3)});
  fake.serve("+PONG\r\n+OK\r\n", req.size(), false);
  AsyncClient client(io);
  Endpoint ep;
  ep.port = fake.port();
  std::vector<std::string> replies;
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"PING"}, [&](redisReply* r) { replies.emplace_back(r ? std::string(r->str, r->len) : "null"); });
    client.command({"SET", "k", std::string("a\0b", 3)}, [&](redisReply* r) {
      replies.emplace_back(r ? std::string(r->str, r->len) : "null");
      io.stop();
    });
  }, [](const std::string&) {});
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(replies, (std::vector<std::string>{"PONG", "OK"}));
  EXPECT_EQ(fake.received, req);  // binary-safe argument vector
  EXPECT_EQ(client.pending(), 0u);
}

TEST(AsioAdapter, PendingCallbacksSeeTheDisconnect) {
  asio::io_context io;
  FakeRedis fake(io);
  fake.serve("", resp({"PING"}).size(), true);
  AsyncClient client(io);
  Endpoint ep;
  ep.port = fake.port();
  bool got_null = false;
  std::string disconnected;
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"PING"}, [&](redisReply* r) { got_null = (r == nullptr); });
  }, [&](const std::string& err) {
    disconnected = err;
    io.stop();
  });
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(got_null);
  EXPECT_FALSE(disconnected.empty());
  EXPECT_FALSE(client.connected());
}

TEST(AsioAdapter, ConnectFailureIsReported) {
  asio::io_context io;
  unsigned short port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  AsyncClient client(io);
  Endpoint ep;
  ep.port = port;
  std::string error;
  client.connect(ep, [&](const std::string& err) {
    error = err;
    io.stop();
  }, [](const std::string&) {});
  io.run_for(std::chrono::seconds(5));
  EXPECT_NE(error.find("cannot connect"), std::string::npos);
}

TEST(AsioAdapter, CloseRunsPendingCallbacks) {
  asio::io_context io;
  FakeRedis fake(io);
  fake.serve("", 1 << 20, false);  // never answers
  AsyncClient client(io);
  Endpoint ep;
  ep.port = fake.port();
  int nulls = 0;
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"PING"}, [&](redisReply* r) { nulls += r == nullptr; });
    client.command({"PING"}, [&](redisReply* r) { nulls += r == nullptr; });
    asio::post(io, [&] {
      client.close();
      io.stop();
    });
  }, [](const std::string&) {});
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(nulls, 2);
  EXPECT_EQ(client.pending(), 0u);
}
