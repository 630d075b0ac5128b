// The WAL source: the replication connection. At start-up (blocking, on the start-up
// thread) it connects and starts streaming the slot; then, on the event loop, its socket is
// watched by an Asio descriptor that never owns it: it reads what the walsender sends (WAL
// data, keepalives) as long as the consumer can take more, and writes standby status
// updates and the end of the copy without blocking.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/replication/pg_handles.hpp"
#include "pgcqrs/sidecar/replication/protocol.hpp"

namespace pgcqrs::sidecar::replication {

// A failed command of a replication connection, its kind from the SQLSTATE.
Failure command_failure(const std::string& what, PGconn* conn, const PGresult* r);

// Blocking, for the start-up thread: a replication connection to the database of conninfo.
PgConnPtr connect_replication(const std::string& conninfo);
// Blocking: START_REPLICATION of slot from lsn; then the connection is non-blocking.
void start_replication(PGconn* conn, const std::string& slot, uint64_t lsn);

class WalSource : public std::enable_shared_from_this<WalSource> {
 public:
  struct Consumer {
    std::function<bool()> can_take;                     // false: pause until resume()
    std::function<bool(const XLogData&)> data;          // false: read no further (it ended)
    std::function<bool(const Keepalive&)> keepalive;    // false: read no further
    std::function<void()> drained;                      // nothing buffered: the stream is idle now
    std::function<void(const Failure&)> failed;         // the stream broke; nothing more comes
  };

  explicit WalSource(boost::asio::io_context& io) : io_(io), sd_(io) {}
  ~WalSource() { close(); }
  WalSource(const WalSource&) = delete;
  WalSource& operator=(const WalSource&) = delete;

  // Takes a streaming connection (start_replication); "" or why its socket cannot be watched.
  std::string open(PgConnPtr conn, Consumer consumer);
  // Reads what is there, then waits for more, until paused, stopped or closed.
  void read();
  bool connected() const { return conn_ != nullptr; }
  bool paused() const { return paused_; }
  // After a pause (can_take said no): read again, from the loop.
  void resume();
  // Reads nothing more (a stop); status updates and the end of the copy still go.
  void stop_reading();
  void send_status(uint64_t written, uint64_t flushed, uint64_t applied, int64_t now_pg_us, bool reply_requested);
  // Ends the copy (after the last status update).
  void end_copy();
  // No more callbacks; the connection is closed.
  void close();

 private:
  bool handle(std::string_view bytes);
  void arm_read();
  void flush();
  void fail(const std::string& message);

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor sd_;
  PgConnPtr conn_;
  Consumer consumer_;
  bool stopped_ = false, paused_ = false, read_armed_ = false, write_armed_ = false;
};

}  // namespace pgcqrs::sidecar::replication
