// The byte path to Redis under the async client: a TCP or a Unix socket. The client only
// connects, reads, writes and closes through it, so a TLS stream over TCP (an
// asio::ssl::stream, handshake done in connect) is one more alternative here, not a change
// to the client or its callers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <string>
#include <variant>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

namespace pgcqrs::sidecar::redis {

class Stream {
 public:
  using ConnectHandler = std::function<void(const std::string& error)>;  // "" when connected

  explicit Stream(boost::asio::io_context& io) : io_(io), resolver_(io) {}

  // Resolves and connects; `done` runs from the loop, never inside this call.
  void async_connect(const Endpoint& ep, ConnectHandler done);

  template <typename Buffer, typename Handler>
  void async_read_some(const Buffer& buffer, Handler&& handler) {
    visit([&](auto& s) { s.async_read_some(buffer, std::forward<Handler>(handler)); }, handler);
  }
  // Writes all of `buffer` (or fails).
  template <typename Buffer, typename Handler>
  void async_write(const Buffer& buffer, Handler&& handler) {
    visit([&](auto& s) { boost::asio::async_write(s, buffer, std::forward<Handler>(handler)); }, handler);
  }

  // Cancels what is pending (its handlers see operation_aborted) and closes the socket.
  void close();

 private:
  using Tcp = boost::asio::ip::tcp::socket;
  using Unix = boost::asio::local::stream_protocol::socket;

  template <typename F, typename Handler>
  void visit(F&& f, Handler& handler) {
    if (auto* t = std::get_if<Tcp>(&socket_)) return f(*t);
    if (auto* u = std::get_if<Unix>(&socket_)) return f(*u);
    boost::asio::post(io_, [h = std::move(handler)]() mutable { h(boost::asio::error::not_connected, 0); });
  }
  void connect_tcp(const boost::asio::ip::tcp::resolver::results_type& addresses, ConnectHandler done);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::resolver resolver_;
  std::variant<std::monostate, Tcp, Unix> socket_;
};

}  // namespace pgcqrs::sidecar::redis
