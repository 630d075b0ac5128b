// The /metrics and /healthz server on a loopback port: idle connections are closed at their
// deadline and past the cap, so they cannot keep /healthz from answering.
#include "pgcqrs/sidecar/http/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;
using pgcqrs::sidecar::http::Metrics;
using pgcqrs::sidecar::http::Server;
using pgcqrs::sidecar::http::ServerLimits;

namespace {

// A blocking client socket whose reads give up after 3 s instead of hanging the test.
tcp::socket connect_to(asio::io_context& io, unsigned short port) {
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{3, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

// Reads until the server closes: what it sent, and whether it closed (not a timeout).
std::pair<std::string, bool> read_all(tcp::socket& s) {
  std::string out;
  char buf[512];
  for (;;) {
    boost::system::error_code ec;
    size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return {out, true};
    if (ec) return {out, false};
  }
}

}  // namespace

TEST(HttpServer, IdleConnectionsAreCappedAndTimedOut) {
  asio::io_context server_io;
  Metrics metrics;
  ServerLimits limits;
  limits.read_timeout = std::chrono::milliseconds(300);
  limits.max_connections = 3;
  Server server(server_io, "127.0.0.1:0", metrics, limits);
  auto work = asio::make_work_guard(server_io);
  std::thread loop([&] { server_io.run(); });

  asio::io_context io;
  std::vector<tcp::socket> idle;
  for (size_t i = 0; i < limits.max_connections; ++i) idle.push_back(connect_to(io, server.port()));
  // The cap is reached once the server has accepted them: a connection past it is closed at
  // once, with no answer (the others still hold their slots for the read timeout).
  auto past_cap = connect_to(io, server.port());
  auto t0 = std::chrono::steady_clock::now();
  auto [nothing, closed] = read_all(past_cap);
  EXPECT_TRUE(closed);
  EXPECT_EQ(nothing, "");
  // The idle ones are closed at their deadline, not kept.
  for (auto& s : idle) {
    auto [got, gone] = read_all(s);
    EXPECT_TRUE(gone);
    EXPECT_EQ(got, "");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
  // Then /healthz answers.
  auto client = connect_to(io, server.port());
  asio::write(client, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto [answer, done] = read_all(client);
  EXPECT_TRUE(done);
  EXPECT_EQ(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\nnot streaming\nreaders have no read models yet\n"), std::string::npos) << answer;

  work.reset();
  server_io.stop();
  loop.join();
}
