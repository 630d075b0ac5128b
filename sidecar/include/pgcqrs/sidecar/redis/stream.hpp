// The byte path to Redis under both clients: a TCP socket, TLS over TCP (rediss://, the
// handshake done in connect) or a Unix socket. The clients only connect, read, write and
// close through it, and ask it what an error means (failure()).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/tls.hpp"

namespace pgcqrs::sidecar::redis {

class Stream {
 public:
  using ConnectHandler = std::function<void(const StreamFailure& failure)>;  // empty when connected

  explicit Stream(boost::asio::io_context& io) : io_(io), resolver_(io) {}

  // Resolves, connects and (rediss://) shakes hands; `done` runs from the loop, never inside
  // this call.
  void async_connect(const Endpoint& ep, ConnectHandler done);

  // What a failed read or write means: the connection lost (retry), or for TLS perhaps a
  // permanent refusal (a server that wants a client certificate says so on the first read).
  StreamFailure failure(const boost::system::error_code& ec);

  template <typename Buffer, typename Handler>
  void async_read_some(const Buffer& buffer, Handler&& handler) {
    visit(
        [&](auto& s) {
          s.async_read_some(buffer, [this, h = std::forward<Handler>(handler)](
                                        const boost::system::error_code& ec, size_t n) mutable {
            heard_ = heard_ || n > 0;
            h(ec, n);
          });
        },
        handler);
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
  using Tls = boost::asio::ssl::stream<Tcp>;
  using Unix = boost::asio::local::stream_protocol::socket;

  template <typename F, typename Handler>
  void visit(F&& f, Handler& handler) {
    if (auto* t = std::get_if<Tcp>(&socket_)) return f(*t);
    if (auto* s = std::get_if<Tls>(&socket_)) return f(*s);
    if (auto* u = std::get_if<Unix>(&socket_)) return f(*u);
    boost::asio::post(io_, [h = std::move(handler)]() mutable { h(boost::asio::error::not_connected, 0); });
  }
  Tcp& tcp();  // the TCP socket, under TLS or not
  void connect_tcp(const boost::asio::ip::tcp::resolver::results_type& addresses, ConnectHandler done);
  void handshake(ConnectHandler done);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::resolver resolver_;
  Endpoint ep_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // outlives the Tls stream using it
  std::variant<std::monostate, Tcp, Tls, Unix> socket_;
  bool heard_ = false;  // the server has sent bytes since the connect (failure() reads it)
};

}  // namespace pgcqrs::sidecar::redis
