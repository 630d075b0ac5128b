// One asynchronous Redis connection on the Asio loop (hiredis async + the Asio adapter).
// Replies arrive in command order; every pending callback runs exactly once, with nullptr
// when the connection is lost.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

struct redisAsyncContext;
struct redisReply;

namespace pgcqrs::sidecar::redis {

class AsyncClient {
 public:
  using ReplyHandler = std::function<void(redisReply*)>;  // nullptr: connection lost
  using EventHandler = std::function<void(const std::string& error)>;

  explicit AsyncClient(boost::asio::io_context& io) : io_(io) {}
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Starts connecting; on_connected("") or on_connected(error) follows (from the loop, never
  // inside hiredis, so it may close or destroy the client), then on_disconnected(error) once
  // if an established connection is lost. Any handler may close or destroy the client.
  void connect(const Endpoint& ep, EventHandler on_connected, EventHandler on_disconnected);
  bool connected() const { return ac_ != nullptr && connected_; }

  // Queues a command (binary-safe argument vector). Returns false if not connected.
  bool command(const std::vector<std::string>& argv, ReplyHandler handler);

  // Queues commands already in RESP (resp.hpp), commands starting at `starts`, whose replies
  // only matter for the last one: cheaper per command than command() (no argument vector, no
  // handler each). `last` sees only the last reply; the first error among the others is
  // kept as queued_error() (inside MULTI it names what made EXEC answer EXECABORT).
  bool pipeline(const std::string& resp, const std::vector<size_t>& starts, ReplyHandler last);
  const std::string& queued_error() const { return queued_error_; }

  // Writes what is queued now, without waiting for the loop's next turn: Redis can start on a
  // batch while this thread goes on to render the next one. An error is left to the write
  // wait already armed, which reports it as a lost connection from the loop, not from here.
  void flush();

  size_t pending() const { return pending_; }

  // Frees the context now; pending handlers receive nullptr.
  void close();

 private:
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_ignored_reply(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& io_;
  redisAsyncContext* ac_ = nullptr;
  bool connected_ = false;
  size_t pending_ = 0;
  std::string queued_error_;
  EventHandler on_connected_, on_disconnected_;
};

}  // namespace pgcqrs::sidecar::redis
