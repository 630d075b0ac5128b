// Queries on a PostgreSQL connection without blocking the event loop: libpq in non-blocking
// mode, its socket watched by an Asio descriptor that never owns it (released, never closed).
// One query at a time: a caller that finds the channel busy skips its turn, so a server that
// answers slowly delays the next query, never the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/replication/pg_handles.hpp"

namespace pgcqrs::sidecar::replication {

class QueryChannel : public std::enable_shared_from_this<QueryChannel> {
 public:
  struct Result {
    std::string error;                            // empty: the query succeeded
    std::string sqlstate;                         // the server's, when it sent the error
    std::vector<std::optional<std::string>> row;  // its first row (nullopt: NULL), if any
  };
  using Done = std::function<void(const Result&)>;

  explicit QueryChannel(boost::asio::io_context& io) : io_(io), sd_(io) {}
  ~QueryChannel() { close(); }  // the descriptor must not close libpq's socket
  QueryChannel(const QueryChannel&) = delete;
  QueryChannel& operator=(const QueryChannel&) = delete;

  // Takes a connected connection (made non-blocking here); "" or why it cannot be used.
  std::string open(PgConnPtr conn);
  bool busy() const { return busy_; }
  // Sends sql with text parameters; done runs on the loop with the first row or the error.
  // False (and done never runs) when the channel is closed or a query is under way.
  bool run(const std::string& sql, const std::vector<std::string>& params, Done done);
  // No more callbacks; the connection is closed.
  void close();

 private:
  void flush();
  void read();
  void take_error(const PGresult* res);  // keeps the first SQLSTATE the server sent
  void wait(boost::asio::posix::stream_descriptor::wait_type type);
  void complete(std::string error);

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor sd_;
  PgConnPtr conn_;
  bool busy_ = false, waiting_ = false;
  uint64_t generation_ = 0;
  Done done_;
  Result result_;
};

}  // namespace pgcqrs::sidecar::replication
