// One request per connection, answered from the in-memory Metrics.
#include "pgcqrs/sidecar/http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pgcqrs::sidecar::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, const tcp::endpoint& ep, const Metrics& m) : acceptor(io, ep), metrics(m) {}
  tcp::acceptor acceptor;
  const Metrics& metrics;
  bool closed = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket sock) {
      if (self->closed) return;
      if (!ec) self->serve(std::move(sock));
      self->accept();
    });
  }

  void serve(tcp::socket sock) {
    struct Conn {
      tcp::socket sock;
      beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      bhttp::response<bhttp::string_body> res;
    };
    auto c = std::make_shared<Conn>(Conn{std::move(sock), {}, {}, {}});
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
        bool up = self->metrics.streaming;
        res.result(up ? bhttp::status::ok : bhttp::status::service_unavailable);
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = up ? "ok\n" : "not streaming\n";
      } else {
        res.result(bhttp::status::not_found);
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = "try /metrics or /healthz\n";
      }
      res.prepare_payload();
      bhttp::async_write(c->sock, res, [c](const boost::system::error_code&, size_t) {
        boost::system::error_code ignored;
        c->sock.shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }
};

Server::Server(asio::io_context& io, const std::string& host_port, const Metrics& metrics) {
  auto colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto addr = asio::ip::make_address(host);
  auto port = static_cast<unsigned short>(std::stoi(host_port.substr(colon + 1)));
  impl_ = std::make_shared<Impl>(io, tcp::endpoint(addr, port), metrics);
  impl_->accept();
}

Server::~Server() {
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace pgcqrs::sidecar::http
