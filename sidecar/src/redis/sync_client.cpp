// The blocking client (sync_client.hpp): the async Stream driven to completion, replies
// parsed by hiredis's reader into trees the caller owns (freed by ReplyPtr).
#include "pgcqrs/sidecar/redis/sync_client.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>

#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/sidecar/redis/stream.hpp"

namespace pgcqrs::sidecar::redis {

namespace asio = boost::asio;
using boost::system::error_code;

void ReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

std::vector<std::vector<std::string>> hello_commands(const Endpoint& ep) {
  std::vector<std::vector<std::string>> out;
  if (!ep.password.empty()) {
    if (ep.user.empty())
      out.push_back({"AUTH", ep.password});
    else
      out.push_back({"AUTH", ep.user, ep.password});
  }
  if (ep.db != 0) out.push_back({"SELECT", std::to_string(ep.db)});
  return out;
}

std::string reply_string(const redisReply* r) {
  if (!r) return {};
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    default:
      return {};
  }
}

std::string describe_reply_error(const redisReply* r) {
  if (!r) return "no reply (connection lost)";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return {};
}

std::string reply_error_code(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ERROR) return {};
  std::string text(r->str, r->len);
  return text.substr(0, text.find(' '));
}

// The private loop: each operation is started, then the loop runs until it completes or the
// deadline passes. At the deadline the stream is closed and the loop run until the cancelled
// operation has finished, so nothing refers to the client's buffers after it throws.
struct SyncClient::Connection {
  Connection(const Endpoint& ep, int timeout_ms) : ep(ep), timeout(timeout_ms), stream(io), reader(redisReaderCreate()) {
    if (!reader) throw std::bad_alloc();
  }
  ~Connection() {
    stream.close();
    redisReaderFree(reader);
  }

  // Runs the loop until *done; throws if the deadline passes first.
  void run(const bool& done, const char* what) {
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && io.run_one_until(deadline) > 0) {
    }
    if (done) return;
    unusable("Redis at " + ep.redacted() + " did not answer within " + std::to_string(timeout.count()) + " ms (" +
             std::string(what) + ")");
  }

  [[noreturn]] void unusable(const std::string& why, const std::string& code = "", bool handshake = false) {
    broken = why;
    stream.close();
    io.restart();
    io.run();  // the cancelled operation completes (operation_aborted) before its buffers go
    throw RedisError(why, code, handshake);
  }

  [[noreturn]] void failed(const StreamFailure& f) {
    if (f.permanent) unusable(f.message, "TLS", true);
    unusable(f.message);
  }

  void connect() {
    bool done = false;
    StreamFailure result;
    stream.async_connect(ep, [&](const StreamFailure& f) {
      result = f;
      done = true;
    });
    // A Redis port without TLS takes the ClientHello for the start of a command and waits.
    run(done, ep.tls ? "connect and TLS handshake; a port without TLS never answers one" : "connect");
    if (result) failed(result);
  }

  void flush() {
    size_t sent = 0;
    while (sent < out.size()) {  // in pieces, each within the timeout: a large snapshot batch may take a while
      size_t n = std::min<size_t>(out.size() - sent, 256 * 1024);
      bool done = false;
      error_code result;
      stream.async_write(asio::buffer(out.data() + sent, n), [&](const error_code& ec, size_t) {
        result = ec;
        done = true;
      });
      run(done, "sending commands");
      if (result) failed(stream.failure(result));
      sent += n;
    }
    out.clear();
  }

  void send() {
    if (!broken.empty()) throw RedisError("Redis connection unusable after: " + broken);
    flush();
  }

  ReplyPtr read_reply() {
    send();
    while (true) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK)
        unusable("Redis sent bytes that are not RESP: " + std::string(reader->errstr));
      if (reply) return ReplyPtr(static_cast<redisReply*>(reply));
      bool done = false;
      error_code result;
      size_t got = 0;
      stream.async_read_some(asio::buffer(in), [&](const error_code& ec, size_t n) {
        result = ec;
        got = n;
        done = true;
      });
      run(done, "waiting for a reply");
      if (result) {
        auto f = stream.failure(result);
        // A TLS port drops a client that speaks plain text without a word.
        if (!answered && !ep.tls && !ep.is_unix) f.message += " (if this is Redis's tls-port, use a rediss:// URL)";
        failed(f);
      }
      answered = true;
      redisReaderFeed(reader, in.data(), got);
    }
  }

  Endpoint ep;
  std::chrono::milliseconds timeout;
  asio::io_context io{1};
  Stream stream;
  redisReader* reader;
  std::string out;
  std::array<char, 64 * 1024> in{};
  std::string broken;     // why the connection cannot be used any more
  bool answered = false;  // Redis has sent a byte
};

SyncClient::SyncClient(const Endpoint& ep, int timeout_ms) : c_(std::make_unique<Connection>(ep, timeout_ms)) {
  c_->connect();
  for (const auto& cmd : hello_commands(ep)) {
    auto r = command(cmd, true);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string what = cmd[0] == "AUTH" ? "authentication" : "SELECT";
      throw RedisError("Redis " + what + " failed at " + ep.redacted() + ": " + describe_reply_error(r.get()),
                       reply_error_code(r.get()), true);
    }
  }
}

SyncClient::~SyncClient() = default;

void SyncClient::append(const std::vector<std::string>& argv) { append_command(c_->out, argv); }

void SyncClient::append_formatted(std::string_view resp) { c_->out.append(resp); }

ReplyPtr SyncClient::read_reply() { return c_->read_reply(); }

void SyncClient::send() { c_->send(); }

ReplyPtr SyncClient::command(const std::vector<std::string>& argv, bool allow_error) {
  append(argv);
  auto r = read_reply();
  if (!allow_error && r->type == REDIS_REPLY_ERROR)
    throw RedisError("Redis " + argv[0] + " failed: " + describe_reply_error(r.get()), reply_error_code(r.get()));
  return r;
}

}  // namespace pgcqrs::sidecar::redis
