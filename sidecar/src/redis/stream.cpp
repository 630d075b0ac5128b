// Connecting the byte path to Redis (stream.hpp).
#include "pgcqrs/sidecar/redis/stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>

#include "pgcqrs/sidecar/redis/sync_client.hpp"

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

StreamFailure cannot_connect(const Endpoint& ep, const std::string& why) {
  return {"cannot connect to Redis at " + ep.redacted() + ": " + why, false};
}

}  // namespace

void Stream::async_connect(const Endpoint& ep, ConnectHandler done) {
  ep_ = ep;
  heard_ = false;
  socket_.emplace<std::monostate>();
  if (ep.is_unix) {
    auto& s = socket_.emplace<Unix>(io_);
    s.async_connect(asio::local::stream_protocol::endpoint(ep.path), [this, done = std::move(done)](const error_code& ec) {
      done(ec ? cannot_connect(ep_, ec.message()) : StreamFailure());
    });
    return;
  }
  if (ep.tls) {
    try {
      tls_context_ = make_tls_context(ep);  // read now: a renewed certificate counts from the next connect
    } catch (const RedisError& e) {
      asio::post(io_, [done = std::move(done), f = StreamFailure{e.what(), true}] { done(f); });
      return;
    }
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
                            if (rec) return done(cannot_connect(ep_, rec.message()));
                            connect_tcp(r, std::move(done));
                          });
}

Stream::Tcp& Stream::tcp() {
  if (auto* s = std::get_if<Tls>(&socket_)) return s->next_layer();
  return std::get<Tcp>(socket_);
}

void Stream::connect_tcp(const asio::ip::tcp::resolver::results_type& addresses, ConnectHandler done) {
  if (ep_.tls)
    socket_.emplace<Tls>(io_, *tls_context_);
  else
    socket_.emplace<Tcp>(io_);
  asio::async_connect(tcp(), addresses, [this, done = std::move(done)](const error_code& ec, const asio::ip::tcp::endpoint&) {
    if (ec) return done(cannot_connect(ep_, ec.message()));
    tune(tcp());
    if (ep_.tls) return handshake(std::move(done));
    done({});
  });
}

void Stream::handshake(ConnectHandler done) {
  auto& s = std::get<Tls>(socket_);
  expect_server_name(s.native_handle(), ep_.tls_name());
  s.async_handshake(asio::ssl::stream_base::client, [this, done = std::move(done)](const error_code& ec) {
    if (!ec) return done({});
    auto* s = std::get_if<Tls>(&socket_);
    auto f = tls_failure(ep_, ec, s ? s->native_handle() : nullptr, false);
    done(f.permanent ? f : cannot_connect(ep_, f.message));
  });
}

StreamFailure Stream::failure(const error_code& ec) {
  if (auto* s = std::get_if<Tls>(&socket_)) return tls_failure(ep_, ec, s->native_handle(), heard_);
  if (ec == asio::error::eof) return {"Redis connection closed", false};
  return {"Redis connection lost: " + ec.message(), false};
}

void Stream::close() {
  error_code ec;
  resolver_.cancel();
  if (auto* t = std::get_if<Tcp>(&socket_)) t->close(ec);
  if (auto* s = std::get_if<Tls>(&socket_)) s->next_layer().close(ec);
  if (auto* u = std::get_if<Unix>(&socket_)) u->close(ec);
}

}  // namespace pgcqrs::sidecar::redis
