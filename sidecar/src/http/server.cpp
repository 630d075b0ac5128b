// One request per connection, answered from the in-memory Metrics; connections are capped
// and a slow request is dropped at its deadline (ServerLimits).
#include "pgcqrs/sidecar/http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pgcqrs::sidecar::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, const tcp::endpoint& ep, const Metrics& m, ServerLimits l)
      : acceptor(io, ep), metrics(m), limits(l) {}
  tcp::acceptor acceptor;
  const Metrics& metrics;
  ServerLimits limits;
  size_t open = 0;
  bool closed = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket sock) {
      if (self->closed) return;
      if (!ec && self->open < self->limits.max_connections) self->serve(std::move(sock));
      self->accept();  // a connection past the cap is closed as `sock` goes
    });
  }

  // One connection: counted while it lives, closed by its deadline if the request is slow.
  struct Conn {
    Conn(Impl& server, tcp::socket s) : owner(server.shared_from_this()), sock(std::move(s)), deadline(sock.get_executor()) {
      ++owner->open;
    }
    ~Conn() { --owner->open; }
    std::shared_ptr<Impl> owner;
    tcp::socket sock;
    asio::steady_timer deadline;
    beast::flat_buffer buf;
    bhttp::request<bhttp::string_body> req;
    bhttp::response<bhttp::string_body> res;
  };

  void serve(tcp::socket sock) {
    auto c = std::make_shared<Conn>(*this, std::move(sock));
    c->deadline.expires_after(limits.read_timeout);
    c->deadline.async_wait([weak = std::weak_ptr<Conn>(c)](const boost::system::error_code& ec) {
      auto conn = weak.lock();
      if (ec || !conn) return;
      boost::system::error_code ignored;
      conn->sock.close(ignored);  // the pending read or write ends with an error
    });
    bhttp::async_read(c->sock, c->buf, c->req, [self = shared_from_this(), c](const boost::system::error_code& ec, size_t) {
      if (ec || self->closed) return;
      auto& res = c->res;
      res.version(c->req.version());
      res.keep_alive(false);
      std::string target(c->req.target());
      if (target == "/metrics") {
        res.result(bhttp::status::ok);
        res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
        res.body() = self->metrics.render();
      } else if (target == "/healthz") {
        res.result(self->metrics.healthy() ? bhttp::status::ok : bhttp::status::service_unavailable);
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = self->metrics.health();
      } else {
        res.result(bhttp::status::not_found);
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = "try /metrics or /healthz\n";
      }
      res.prepare_payload();
      bhttp::async_write(c->sock, res, [c](const boost::system::error_code&, size_t) {
        boost::system::error_code ignored;
        c->sock.shutdown(tcp::socket::shutdown_both, ignored);
        c->deadline.cancel();
      });
    });
  }
};

Server::Server(asio::io_context& io, const std::string& host_port, const Metrics& metrics, ServerLimits limits) {
  auto colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto addr = asio::ip::make_address(host);
  auto port = static_cast<unsigned short>(std::stoi(host_port.substr(colon + 1)));
  impl_ = std::make_shared<Impl>(io, tcp::endpoint(addr, port), metrics, limits);
  impl_->accept();
}

Server::~Server() {
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace pgcqrs::sidecar::http
