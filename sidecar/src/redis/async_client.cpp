// The async client's connection (async_client.hpp): one read always pending, one write at a
// time from a double buffer, a timer for the oldest call in flight. Its state is shared with
// the I/O it started, and every completion checks the state first: a client closed or
// destroyed from a handler leaves completions that find a closed connection, not freed memory.
#include "pgcqrs/sidecar/redis/async_client.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pgcqrs/sidecar/redis/call_ledger.hpp"
#include "pgcqrs/sidecar/redis/reply_reader.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/sidecar/redis/stream.hpp"

namespace pgcqrs::sidecar::redis {

namespace asio = boost::asio;
using boost::system::error_code;

struct AsyncClient::Connection : std::enable_shared_from_this<AsyncClient::Connection> {
  enum class State { connecting, connected, closed };

  Connection(asio::io_context& io, std::chrono::milliseconds timeout)
      : io(io), stream(io), timer(io), reply_timeout(timeout) {}

  void start(const Endpoint& ep) {
    stream.async_connect(ep, [self = shared_from_this()](const StreamFailure& failure) {
      if (self->state != State::connecting) return;  // closed meanwhile
      self->timer.cancel();
      auto cb = self->on_connected;
      if (failure) {
        self->state = State::closed;
        self->stream.close();
        return cb(failure.message);
      }
      self->state = State::connected;
      self->read();
      cb("");
    });
    // The reply timeout bounds the connect too: a peer that accepts but never finishes a TLS
    // handshake (a port without TLS does that) would otherwise hold the session for good.
    if (reply_timeout.count() == 0) return;
    timer.expires_after(reply_timeout);
    timer.async_wait([self = shared_from_this(), where = ep.redacted()](const error_code& ec) {
      if (ec || self->state != State::connecting) return;
      self->state = State::closed;
      self->stream.close();
      auto cb = self->on_connected;
      cb("cannot connect to Redis at " + where + ": no connection within " + self->timeout_text());
    });
  }

  void queued(uint32_t replies, ReplyHandler handler) {
    ledger.push(replies, std::move(handler), CallLedger::Clock::now());
    arm_timer();
    if (!writing && !write_posted) {  // commands queued in this turn of the loop go together
      write_posted = true;
      asio::post(io, [self = shared_from_this()] {
        self->write_posted = false;
        if (self->state == State::connected && !self->writing) self->write();
      });
    }
  }

  void write() {
    if (out.empty() && shared.empty()) return;
    std::swap(out, writing_buf);  // both keep their capacity
    out.clear();
    std::swap(shared, writing_shared);
    shared.clear();
    writing = true;
    auto done = [self = shared_from_this()](const error_code& ec, size_t) {
      self->writing = false;
      if (self->state != State::connected) return;
      if (ec) return self->lost(self->stream.failure(ec).message);
      self->writing_buf.clear();
      self->writing_shared.clear();
      self->write();
    };
    if (writing_shared.empty()) return stream.async_write(asio::buffer(writing_buf), std::move(done));
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(2 * writing_shared.size() + 1);
    size_t from = 0;
    for (const Shared& s : writing_shared) {
      if (s.at > from) buffers.emplace_back(writing_buf.data() + from, s.at - from);
      buffers.emplace_back(s.bytes.data(), s.bytes.size());
      from = s.at;
    }
    if (writing_buf.size() > from) buffers.emplace_back(writing_buf.data() + from, writing_buf.size() - from);
    stream.async_write(buffers, std::move(done));
  }

  void read() {
    stream.async_read_some(asio::buffer(in), [self = shared_from_this()](const error_code& ec, size_t n) {
      if (self->state != State::connected) return;
      if (ec) return self->lost(self->stream.failure(ec).message);
      self->on_bytes(n);
    });
  }

  void on_bytes(size_t n) {
    reader.feed(in.data(), n);
    while (redisReply* r = reader.next()) {
      if (ledger.empty()) return lost("Redis sent a reply that no call was waiting for");
      auto done = ledger.take(*r);
      if (!done) continue;
      queued_error = std::move(done->queued_error);
      done->handler(r);
      if (state != State::connected) return;  // the handler closed (or destroyed) the client
    }
    if (!reader.error().empty()) return lost("Redis sent bytes that are not RESP: " + reader.error());
    read();
  }

  void arm_timer() {
    if (reply_timeout.count() == 0 || timer_armed) return;
    auto oldest = ledger.oldest();
    if (!oldest) return;
    timer_armed = true;
    timer.expires_at(*oldest + reply_timeout);
    timer.async_wait([self = shared_from_this()](const error_code& ec) {
      self->timer_armed = false;
      if (ec || self->state != State::connected) return;
      auto oldest = self->ledger.oldest();
      if (oldest && CallLedger::Clock::now() - *oldest >= self->reply_timeout)
        return self->lost("Redis has not answered a call for " + self->timeout_text());
      self->arm_timer();  // the call it waited for was answered: wait for the next oldest
    });
  }

  std::string timeout_text() const {
    auto ms = reply_timeout.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  }

  // Ends the connection: on_disconnected says why first (a pending handler that got nullptr
  // first would tell its owner less), then the pending handlers get nullptr.
  void lost(const std::string& error) {
    bool was_connected = state == State::connected;
    shut();
    if (was_connected && !closed_by_user && on_disconnected) {
      auto cb = on_disconnected;
      cb(error);
    }
    for (auto& h : ledger.drain()) h(nullptr);
  }

  void close() {
    closed_by_user = true;
    shut();
    for (auto& h : ledger.drain()) h(nullptr);
  }

  void shut() {
    state = State::closed;
    stream.close();
    timer.cancel();
    out.clear();
    shared.clear();
  }

  asio::io_context& io;
  Stream stream;
  asio::steady_timer timer;
  std::chrono::milliseconds reply_timeout;
  State state = State::connecting;
  bool closed_by_user = false;
  CallLedger ledger;
  ReplyReader reader;
  std::array<char, 64 * 1024> in{};
  std::string out, writing_buf;
  // Bytes written from where their owner keeps them (pipeline_pieces), each after out[0, at).
  struct Shared {
    size_t at = 0;
    std::string_view bytes;
    std::shared_ptr<const void> keep;
  };
  std::vector<Shared> shared, writing_shared;
  bool writing = false, write_posted = false, timer_armed = false;
  std::string queued_error;
  EventHandler on_connected, on_disconnected;
};

AsyncClient::~AsyncClient() { close(); }

void AsyncClient::connect(const Endpoint& ep, EventHandler on_connected, EventHandler on_disconnected) {
  close();
  conn_ = std::make_shared<Connection>(io_, reply_timeout_);
  conn_->on_connected = std::move(on_connected);
  conn_->on_disconnected = std::move(on_disconnected);
  conn_->start(ep);
}

bool AsyncClient::connected() const { return conn_ && conn_->state == Connection::State::connected; }

bool AsyncClient::command(const std::vector<std::string>& argv, ReplyHandler handler) {
  if (!connected()) return false;
  append_command(conn_->out, argv);
  conn_->queued(1, std::move(handler));
  return true;
}

bool AsyncClient::pipeline(const std::string& resp, const std::vector<size_t>& starts, ReplyHandler last) {
  if (!connected() || starts.empty()) return false;
  conn_->out.append(resp, starts.front());
  conn_->queued(static_cast<uint32_t>(starts.size()), std::move(last));
  return true;
}

bool AsyncClient::pipeline_pieces(const std::vector<std::string_view>& pieces, std::shared_ptr<const void> keep,
                                  size_t replies, ReplyHandler last) {
  // Below this a piece is copied: another buffer to write costs more than its bytes.
  constexpr size_t kCopyBelow = 4096;
  if (!connected() || replies == 0) return false;
  for (std::string_view piece : pieces) {
    if (piece.size() < kCopyBelow)
      conn_->out.append(piece);
    else
      conn_->shared.push_back({conn_->out.size(), piece, keep});
  }
  conn_->queued(static_cast<uint32_t>(replies), std::move(last));
  return true;
}

const std::string& AsyncClient::queued_error() const {
  static const std::string none;
  return conn_ ? conn_->queued_error : none;
}

void AsyncClient::flush() {
  if (connected() && !conn_->writing) conn_->write();
}

size_t AsyncClient::pending() const { return conn_ ? conn_->ledger.replies_pending() : 0; }

void AsyncClient::close() {
  if (!conn_) return;
  auto conn = std::move(conn_);  // a handler that destroys the client finds nothing to close
  conn->close();
}

}  // namespace pgcqrs::sidecar::redis
