// The blocking client against servers that misbehave: one that never answers, one that
// answers something other than RESP. Each call ends within its timeout, says why, and leaves
// the client refusing further calls (real Redis: the e2e tests).
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <thread>

#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace pgcqrs::sidecar::redis;

namespace {

Endpoint at(unsigned short port) { return parse_endpoint("redis://127.0.0.1:" + std::to_string(port)).endpoint.value(); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RedisError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SyncClient, ASilentServerEndsTheCallWithinTheTimeout) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // the kernel accepts; nobody answers
  auto port = acceptor.local_endpoint().port();
  SyncClient client(at(port), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of([&] { client.command({"PING"}); }),
            "Redis at redis://127.0.0.1:" + std::to_string(port) + " did not answer within 200 ms (waiting for a reply)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(error_of([&] { client.command({"PING"}); }).rfind("Redis connection unusable after: Redis at", 0), 0u);
}

TEST(SyncClient, BytesThatAreNotRespAreAnError) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread server([&] {
    tcp::socket s(io);
    acceptor.accept(s);
    std::array<char, 64> buf{};
    s.read_some(asio::buffer(buf));
    asio::write(s, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\n\r\n")));
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // until the client hangs up
  });
  SyncClient client(at(acceptor.local_endpoint().port()), 2000);
  EXPECT_EQ(error_of([&] { client.command({"PING"}); }).rfind("Redis sent bytes that are not RESP: Protocol error", 0), 0u);
  server.join();
}

TEST(SyncClient, ARefusedConnectionNamesTheAddress) {
  asio::io_context io;
  unsigned short port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  EXPECT_EQ(error_of([&] { SyncClient(at(port), 2000); }),
            "cannot connect to Redis at redis://127.0.0.1:" + std::to_string(port) + ": Connection refused");
}
