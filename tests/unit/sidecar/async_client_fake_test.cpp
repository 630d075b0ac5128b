// The async client against an in-process fake Redis (a loopback socket that answers RESP by
// hand): replies in order, pipelines, timeouts, and every pending callback runs on a disconnect.
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

TEST(AsyncClientFake, RepliesArriveInOrder) {
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

TEST(AsyncClientFake, PendingCallbacksSeeTheDisconnect) {
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

TEST(AsyncClientFake, ConnectFailureIsReported) {
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

TEST(AsyncClientFake, AHandshakeNobodyAnswersEndsWithinTheTimeout) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // accepted by the kernel only
  AsyncClient client(io);
  client.set_reply_timeout(std::chrono::milliseconds(200));
  Endpoint ep = pgcqrs::sidecar::redis::parse_endpoint("rediss://127.0.0.1:" +
                                                       std::to_string(silent.local_endpoint().port()))
                    .endpoint.value();
  std::string error = "(not called)";
  client.connect(ep, [&](const std::string& err) {
    error = err;
    io.stop();
  }, [](const std::string&) {});
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(error, "cannot connect to Redis at " + ep.redacted() + ": no connection within 200 ms");
  EXPECT_FALSE(client.connected());
}

TEST(AsyncClientFake, CloseRunsPendingCallbacks) {
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

TEST(AsyncClientFake, APipelineWritesItsBytesAndItsLastHandlerSeesTheFirstError) {
  asio::io_context io;
  FakeRedis fake(io);
  std::string bytes = resp({"PING"}) + resp({"MULTI"}) + resp({"SET", "k", "v"}) + resp({"INCR", "k"}) + resp({"EXEC"});
  size_t first = resp({"PING"}).size();
  std::vector<size_t> starts{first, first + resp({"MULTI"}).size(), first + resp({"MULTI"}).size() + resp({"SET", "k", "v"}).size(),
                             bytes.size() - resp({"EXEC"}).size()};
  fake.serve("+OK\r\n-OOM no memory\r\n-ERR later\r\n-EXECABORT Transaction discarded\r\n", bytes.size() - first, false);
  AsyncClient client(io);
  Endpoint ep;
  ep.port = fake.port();
  std::string last, queued;
  size_t pending_while_waiting = 0;
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    ASSERT_TRUE(client.pipeline(bytes, starts, [&](redisReply* r) {
      last = r ? std::string(r->str, r->len) : "null";
      queued = client.queued_error();
      io.stop();
    }));
    pending_while_waiting = client.pending();
    client.flush();
  }, [](const std::string&) {});
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(fake.received, bytes.substr(first));  // from the first start on, as given
  EXPECT_EQ(pending_while_waiting, 4u);
  EXPECT_EQ(last, "EXECABORT Transaction discarded");
  EXPECT_EQ(queued, "OOM no memory");
  EXPECT_EQ(client.pending(), 0u);
}

TEST(AsyncClientFake, AReplyTimeoutEndsTheConnection) {
  asio::io_context io;
  FakeRedis fake(io);
  fake.serve("", 1 << 20, false);  // never answers
  AsyncClient client(io);
  client.set_reply_timeout(std::chrono::milliseconds(100));
  Endpoint ep;
  ep.port = fake.port();
  std::string reply = "never", disconnected;
  auto sent = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration waited{};
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    sent = std::chrono::steady_clock::now();
    client.command({"PING"}, [&](redisReply* r) { reply = r ? "reply" : "null"; });
  }, [&](const std::string& err) {
    waited = std::chrono::steady_clock::now() - sent;
    disconnected = err;
    io.stop();
  });
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(reply, "null");
  EXPECT_EQ(disconnected, "Redis has not answered a call for 100 ms");
  EXPECT_GE(waited, std::chrono::milliseconds(100));
  EXPECT_FALSE(client.connected());
}

TEST(AsyncClientFake, AnsweredCallsDoNotTimeOut) {
  asio::io_context io;
  FakeRedis fake(io);
  fake.serve("+PONG\r\n", resp({"PING"}).size(), false);
  AsyncClient client(io);
  client.set_reply_timeout(std::chrono::milliseconds(50));
  Endpoint ep;
  ep.port = fake.port();
  std::string reply, disconnected = "never";
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"PING"}, [&](redisReply* r) { reply = r ? r->str : "null"; });
  }, [&](const std::string& err) { disconnected = err; });
  io.run_for(std::chrono::milliseconds(300));  // well past the timeout, nothing owed
  EXPECT_EQ(reply, "PONG");
  EXPECT_EQ(disconnected, "never");
  EXPECT_TRUE(client.connected());
}

TEST(AsyncClientFake, AReplyToNoCallEndsTheConnection) {
  asio::io_context io;
  FakeRedis fake(io);
  fake.serve("+PONG\r\n+EXTRA\r\n", resp({"PING"}).size(), false);
  AsyncClient client(io);
  Endpoint ep;
  ep.port = fake.port();
  std::string reply, disconnected;
  client.connect(ep, [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.command({"PING"}, [&](redisReply* r) { reply = r ? r->str : "null"; });
  }, [&](const std::string& err) {
    disconnected = err;
    io.stop();
  });
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(reply, "PONG");
  EXPECT_EQ(disconnected, "Redis sent a reply that no call was waiting for");
  EXPECT_FALSE(client.connected());
}
