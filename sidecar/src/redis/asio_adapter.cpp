// The adapter keeps itself alive through shared_ptr copies held by pending waits, so a wait
// completing after hiredis freed the context finds a detached adapter instead of freed memory.
#include "pgcqrs/sidecar/redis/asio_adapter.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

namespace pgcqrs::sidecar::redis {
namespace {

namespace asio = boost::asio;

class Adapter : public std::enable_shared_from_this<Adapter> {
 public:
  Adapter(redisAsyncContext* ac, asio::io_context& io) : ac_(ac), sd_(io, ac->c.fd) {}

  void add_read() {
    want_read_ = true;
    arm_read();
  }
  void del_read() { want_read_ = false; }
  void add_write() {
    want_write_ = true;
    arm_write();
  }
  void del_write() { want_write_ = false; }

  void cleanup() {
    ac_ = nullptr;
    want_read_ = want_write_ = false;
    boost::system::error_code ec;
    sd_.cancel(ec);
    sd_.release();
  }

 private:
  void arm_read() {
    if (read_pending_ || !ac_) return;
    read_pending_ = true;
    sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->read_pending_ = false;
                     if (ec || !self->ac_ || !self->want_read_) return;
                     redisAsyncHandleRead(self->ac_);  // may call cleanup()
                     if (self->ac_ && self->want_read_) self->arm_read();
                   });
  }
  void arm_write() {
    if (write_pending_ || !ac_) return;
    write_pending_ = true;
    sd_.async_wait(asio::posix::stream_descriptor::wait_write,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->write_pending_ = false;
                     if (ec || !self->ac_ || !self->want_write_) return;
                     redisAsyncHandleWrite(self->ac_);  // may call cleanup()
                     if (self->ac_ && self->want_write_) self->arm_write();
                   });
  }

  redisAsyncContext* ac_;
  asio::posix::stream_descriptor sd_;
  bool want_read_ = false, want_write_ = false;
  bool read_pending_ = false, write_pending_ = false;
};

using Handle = std::shared_ptr<Adapter>;

Adapter& of(void* data) { return **static_cast<Handle*>(data); }

}  // namespace

int attach_asio(redisAsyncContext* ac, asio::io_context& io) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* handle = new Handle(std::make_shared<Adapter>(ac, io));
  ac->ev.data = handle;
  ac->ev.addRead = [](void* d) { of(d).add_read(); };
  ac->ev.delRead = [](void* d) { of(d).del_read(); };
  ac->ev.addWrite = [](void* d) { of(d).add_write(); };
  ac->ev.delWrite = [](void* d) { of(d).del_write(); };
  ac->ev.cleanup = [](void* d) {
    auto* h = static_cast<Handle*>(d);
    (*h)->cleanup();
    delete h;
  };
  return REDIS_OK;
}

}  // namespace pgcqrs::sidecar::redis
