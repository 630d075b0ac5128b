// /metrics and /healthz over HTTP/1.1 on a loopback address (Beast, on the sidecar's loop).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "pgcqrs/sidecar/http/metrics.hpp"

namespace pgcqrs::sidecar::http {

class Server {
 public:
  // Throws if host:port cannot be bound.
  Server(boost::asio::io_context& io, const std::string& host_port, const Metrics& metrics);
  ~Server();
  unsigned short port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pgcqrs::sidecar::http
