// hiredis async hooks on an Asio loop: the context's socket is watched by a stream_descriptor
// that never owns it (released, never closed: hiredis closes its own fd).
#pragma once

#include <boost/asio/io_context.hpp>

struct redisAsyncContext;

namespace pgcqrs::sidecar::redis {

// Installs the hooks; returns REDIS_OK or REDIS_ERR (hooks already set). The adapter frees
// itself when hiredis calls its cleanup hook (redisAsyncFree or a disconnect).
int attach_asio(redisAsyncContext* ac, boost::asio::io_context& io);

}  // namespace pgcqrs::sidecar::redis
