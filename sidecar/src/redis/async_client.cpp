// hiredis async context lifecycle; hiredis frees the context itself after a disconnect.
#include "pgcqrs/sidecar/redis/async_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "pgcqrs/sidecar/redis/asio_adapter.hpp"

#include <boost/asio/post.hpp>

namespace pgcqrs::sidecar::redis {

namespace {
struct Pending {
  AsyncClient* client;
  AsyncClient::ReplyHandler handler;
};
}  // namespace

AsyncClient::~AsyncClient() { close(); }

void AsyncClient::connect(const Endpoint& ep, EventHandler on_connected, EventHandler on_disconnected) {
  on_connected_ = std::move(on_connected);
  on_disconnected_ = std::move(on_disconnected);
  redisAsyncContext* ac = ep.is_unix ? redisAsyncConnectUnix(ep.path.c_str())
                                     : redisAsyncConnect(ep.host.c_str(), ep.port);
  if (ac == nullptr || ac->err) {
    std::string err = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    auto cb = on_connected_;
    boost::asio::post(io_, [cb, err] { cb("cannot connect to Redis: " + err); });
    return;
  }
  ac->data = this;
  // TCP keepalive notices a vanished Redis without waiting for a reply (not for Unix sockets,
  // where hiredis 0.14 would fail the setsockopt and mark the context broken).
  if (!ep.is_unix) redisEnableKeepAlive(&ac->c);
  attach_asio(ac, io_);
  redisAsyncSetConnectCallback(ac, &AsyncClient::on_connect);
  redisAsyncSetDisconnectCallback(ac, &AsyncClient::on_disconnect);
  ac_ = ac;
}

// hiredis (0.14) goes on using the context after its connect callback returns, and unlike a
// reply callback it does not guard it against redisAsyncFree: a handler that closes or
// destroys the client (a stream that fails right after Redis connects) would free it under
// hiredis's feet. So the handler runs from the loop, after the callback.
void AsyncClient::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<AsyncClient*>(ac->data);
  if (!self) return;
  std::string err;
  if (status != REDIS_OK) {
    err = std::string("cannot connect to Redis: ") + ac->errstr;
    self->ac_ = nullptr;  // hiredis frees the context after this callback returns
  } else {
    self->connected_ = true;
  }
  boost::asio::post(self->io_, [cb = self->on_connected_, err] { cb(err); });
}

void AsyncClient::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<AsyncClient*>(ac->data);
  if (!self) return;
  bool was_connected = self->connected_;
  self->ac_ = nullptr;
  self->connected_ = false;
  if (was_connected && self->on_disconnected_)
    self->on_disconnected_(status == REDIS_OK ? "Redis connection closed" : std::string("Redis connection lost: ") + ac->errstr);
}

void AsyncClient::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
  // After close() (ac->data cleared) the client may be gone: a handler may destroy it while
  // hiredis still owes the other handlers their nullptr.
  if (ac->data) --p->client->pending_;
  p->handler(static_cast<redisReply*>(reply));
}

bool AsyncClient::command(const std::vector<std::string>& argv, ReplyHandler handler) {
  if (!connected()) return false;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* p = new Pending{this, std::move(handler)};
  if (redisAsyncCommandArgv(ac_, &AsyncClient::on_reply, p, static_cast<int>(argv.size()), ptrs.data(), lens.data()) != REDIS_OK) {
    delete p;
    return false;
  }
  ++pending_;
  return true;
}

void AsyncClient::on_ignored_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  if (!ac->data) return;
  auto* self = static_cast<AsyncClient*>(privdata);
  --self->pending_;
  auto* r = static_cast<redisReply*>(reply);
  if (r && r->type == REDIS_REPLY_ERROR && self->queued_error_.empty()) self->queued_error_.assign(r->str, r->len);
}

bool AsyncClient::pipeline(const std::string& resp, const std::vector<size_t>& starts, ReplyHandler last) {
  if (!connected() || starts.empty()) return false;
  queued_error_.clear();
  for (size_t i = 0; i < starts.size(); ++i) {
    bool is_last = i + 1 == starts.size();
    size_t end = is_last ? resp.size() : starts[i + 1];
    Pending* p = is_last ? new Pending{this, std::move(last)} : nullptr;
    int rc = is_last ? redisAsyncFormattedCommand(ac_, &AsyncClient::on_reply, p, resp.data() + starts[i], end - starts[i])
                     : redisAsyncFormattedCommand(ac_, &AsyncClient::on_ignored_reply, this, resp.data() + starts[i],
                                                  end - starts[i]);
    if (rc != REDIS_OK) {
      delete p;
      return false;
    }
    ++pending_;
  }
  return true;
}

void AsyncClient::flush() {
  if (!connected()) return;
  int done = 0;
  redisBufferWrite(&ac_->c, &done);
}

void AsyncClient::close() {
  if (!ac_) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  connected_ = false;
  pending_ = 0;
  ac->data = nullptr;  // no callbacks into a closing client (it may be destroyed meanwhile)
  redisAsyncFree(ac);  // pending reply handlers run with nullptr, now or after the current one
}

}  // namespace pgcqrs::sidecar::redis
