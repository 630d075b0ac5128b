// /metrics and /healthz over HTTP/1.1 on a loopback address (Beast, on the sidecar's loop).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "pgcqrs/sidecar/http/metrics.hpp"

namespace pgcqrs::sidecar::http {

// What one client may hold: an idle or slow connection is closed after read_timeout, and
// past max_connections open ones a new connection is closed at once, so idle clients cannot
// exhaust file descriptors or keep /healthz from answering for long.
struct ServerLimits {
  std::chrono::milliseconds read_timeout{5000};
  size_t max_connections = 16;
};

class Server {
 public:
  // Throws if host:port cannot be bound.
  Server(boost::asio::io_context& io, const std::string& host_port, const Metrics& metrics,
         ServerLimits limits = {});
  ~Server();
  unsigned short port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pgcqrs::sidecar::http
