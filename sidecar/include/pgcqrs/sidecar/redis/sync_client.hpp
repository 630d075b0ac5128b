// A blocking Redis connection for start-up checks, the initial snapshot, `status`, `verify`
// and the query client: the streaming path uses AsyncClient. It drives the same Stream (TCP,
// TLS or a Unix socket) on a private Asio loop, each step within the timeout. Failures throw
// RedisError naming the command; after a timeout or a lost connection the client is unusable.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

struct redisReply;

namespace pgcqrs::sidecar::redis {

struct RedisError : std::runtime_error {
  explicit RedisError(const std::string& what, std::string code = "", bool handshake = false)
      : std::runtime_error(what), code(std::move(code)), handshake(handshake) {}
  // An error reply's first word (WRONGPASS, NOPERM, LOADING...); "TLS" for a TLS setup that
  // cannot work (tls.hpp); "" for I/O.
  std::string code;
  bool handshake = false;  // refused by AUTH or SELECT on connecting
};

// The code of an error reply: its first word.
std::string reply_error_code(const redisReply* r);

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class SyncClient {
 public:
  // Connects, authenticates (AUTH user password when set) and SELECTs the database. Each
  // step (the connect with its handshake, a write, a reply) must finish within timeout_ms.
  SyncClient(const Endpoint& ep, int timeout_ms);
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Runs one command; an error reply throws unless allow_error.
  ReplyPtr command(const std::vector<std::string>& argv, bool allow_error = false);
  // Pipelining: append, then read the replies in order.
  void append(const std::vector<std::string>& argv);
  void append_formatted(std::string_view resp);  // commands already in RESP
  ReplyPtr read_reply();                           // sends what was appended first
  // Sends what was appended without waiting for replies, so that Redis runs it while the
  // caller prepares more (read_reply() reads the replies later, in order).
  void send();

 private:
  struct Connection;
  std::unique_ptr<Connection> c_;
};

// Commands that authenticate and select the database on a fresh connection.
std::vector<std::vector<std::string>> hello_commands(const Endpoint& ep);

// Reply helpers.
std::string reply_string(const redisReply* r);  // bulk/status/integer as text, "" for nil
std::string describe_reply_error(const redisReply* r);

}  // namespace pgcqrs::sidecar::redis
