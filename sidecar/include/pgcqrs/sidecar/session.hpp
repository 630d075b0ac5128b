// One run of the sidecar against one PostgreSQL and one Redis connection: checks Redis,
// decides between resuming and rebuilding, then streams the slot into Redis until it is
// stopped or something fails. The Runner (app.hpp) makes a new Session after a failure.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/http/metrics.hpp"
#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"

namespace pgcqrs::sidecar {

struct SessionEnd {
  bool clean = false;              // stopped on request after confirming what was applied
  std::optional<Failure> failure;  // why it ended, unless clean: the server, and whether to retry
  int64_t streamed_ms = 0;         // how long it streamed before it ended (0: it never did)
};

class Session {
 public:
  using Done = std::function<void(const SessionEnd&)>;
  using Streaming = std::function<void()>;
  // streaming is called when the session starts streaming (its start-up succeeded).
  // acknowledged: on a Redis Cluster, the batch each slot acknowledged, kept from one session
  // to the next of the process, so that a start can tell a failover that lost some
  // (cluster/intent.hpp, FenceLedger).
  static std::shared_ptr<Session> create(boost::asio::io_context& io, const Config& config,
                                         const redis::Endpoint& endpoint, http::Metrics& metrics,
                                         cluster::FenceLedger& acknowledged, Done done, Streaming streaming);
  virtual ~Session() = default;
  virtual void start() = 0;
  // Stop reading WAL, wait (bounded) for Redis, confirm, end the stream.
  virtual void stop() = 0;
};

}  // namespace pgcqrs::sidecar
