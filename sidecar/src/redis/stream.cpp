// Connecting the byte path to Redis (stream.hpp).
#include "pgcqrs/sidecar/redis/stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>

namespace pgcqrs::sidecar::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// TCP keepalive notices a vanished Redis without waiting for a reply: probes after 15 s idle,
// every 5 s, 3 of them (what hiredis's redisEnableKeepAlive set).
void tune(asio::ip::tcp::socket& s) {
  error_code ec;
  s.set_option(asio::ip::tcp::no_delay(true), ec);
  s.set_option(asio::socket_base::keep_alive(true), ec);
  int fd = s.native_handle(), idle = 15, interval = 5, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

std::string failure(const error_code& ec) { return "cannot connect to Redis: " + ec.message(); }

}  // namespace

void Stream::async_connect(const Endpoint& ep, ConnectHandler done) {
  if (ep.is_unix) {
    auto& s = socket_.emplace<Unix>(io_);
    s.async_connect(asio::local::stream_protocol::endpoint(ep.path), [done = std::move(done)](const error_code& ec) {
      done(ec ? failure(ec) : std::string());
    });
    return;
  }
  error_code ec;
  auto address = asio::ip::make_address(ep.host, ec);
  if (!ec) {  // a numeric address: no resolver (and no resolver thread)
    connect_tcp(asio::ip::tcp::resolver::results_type::create(asio::ip::tcp::endpoint(address, static_cast<unsigned short>(ep.port)),
                                                              ep.host, std::to_string(ep.port)),
                std::move(done));
    return;
  }
  resolver_.async_resolve(ep.host, std::to_string(ep.port),
                          [this, done = std::move(done)](const error_code& rec, asio::ip::tcp::resolver::results_type r) mutable {
                            if (rec) return done(failure(rec));
                            connect_tcp(r, std::move(done));
                          });
}

void Stream::connect_tcp(const asio::ip::tcp::resolver::results_type& addresses, ConnectHandler done) {
  auto& s = socket_.emplace<Tcp>(io_);
  asio::async_connect(s, addresses, [this, done = std::move(done)](const error_code& ec, const asio::ip::tcp::endpoint&) {
    if (ec) return done(failure(ec));
    if (auto* t = std::get_if<Tcp>(&socket_)) tune(*t);
    done("");
  });
}

void Stream::close() {
  error_code ec;
  resolver_.cancel();
  if (auto* t = std::get_if<Tcp>(&socket_)) t->close(ec);
  if (auto* u = std::get_if<Unix>(&socket_)) u->close(ec);
}

}  // namespace pgcqrs::sidecar::redis
