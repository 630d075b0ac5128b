// One asynchronous Redis connection on the Asio loop: the command bytes are formatted once
// into a reused buffer and written to a Stream (TCP, TLS or a Unix socket: stream.hpp);
// replies are parsed by hiredis's reply reader into a reused arena and handed to the calls
// in flight (call_ledger.hpp) in command order. Every pending callback runs exactly
// once, with nullptr when the connection is lost or closed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

struct redisReply;

namespace pgcqrs::sidecar::redis {

class AsyncClient {
 public:
  // The reply is valid only while the handler runs; nullptr: connection lost or closed.
  using ReplyHandler = std::function<void(redisReply*)>;
  using EventHandler = std::function<void(const std::string& error)>;

  explicit AsyncClient(boost::asio::io_context& io) : io_(io) {}
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Starts connecting; on_connected("") or on_connected(error) follows (from the loop, so it
  // may close or destroy the client), then on_disconnected(error) once if an established
  // connection is lost (before the pending handlers get nullptr). Any handler may close or
  // destroy the client. A client may connect again after close().
  void connect(const Endpoint& ep, EventHandler on_connected, EventHandler on_disconnected);
  bool connected() const;

  // A call that has waited longer than this for its reply ends the connection (handlers get
  // nullptr, on_disconnected says so), and a connect (with its TLS handshake) that takes
  // longer fails; zero (the default) waits for ever.
  void set_reply_timeout(std::chrono::milliseconds timeout) { reply_timeout_ = timeout; }

  // Queues a command (binary-safe argument vector). Returns false if not connected.
  bool command(const std::vector<std::string>& argv, ReplyHandler handler);

  // Queues commands already in RESP (resp.hpp), commands starting at `starts`, whose replies
  // only matter for the last one: cheaper per command than command() (no argument vector, no
  // handler each). `last` sees only the last reply; the first error among the others is
  // queued_error() while `last` runs (inside MULTI it names what made EXEC answer EXECABORT).
  bool pipeline(const std::string& resp, const std::vector<size_t>& starts, ReplyHandler last);
  // The same for commands (`replies` of them) given in pieces, written in their order: long
  // pieces from where they are, held by `keep` until written, so that a batch's bytes are not
  // copied again to be sent; short ones are copied.
  bool pipeline_pieces(const std::vector<std::string_view>& pieces, std::shared_ptr<const void> keep, size_t replies,
                       ReplyHandler last);
  const std::string& queued_error() const;

  // Writes what is queued now, without waiting for the loop's next turn: Redis can start on a
  // batch while this thread goes on to render the next one. A write error is reported from
  // the loop as a lost connection, never from here.
  void flush();

  // Replies still owed (a pipeline counts each of its commands).
  size_t pending() const;

  // Closes the connection now; pending handlers receive nullptr, on_disconnected is not called.
  void close();

 private:
  struct Connection;
  boost::asio::io_context& io_;
  std::chrono::milliseconds reply_timeout_{0};
  std::shared_ptr<Connection> conn_;  // also held by its pending I/O, so it outlives the client
};

}  // namespace pgcqrs::sidecar::redis
