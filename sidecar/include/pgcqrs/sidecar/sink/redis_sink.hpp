// The sink for one Redis (sink.hpp): everything on one connection, in order, and a batch's
// MULTI ... EXEC sent as the projector wrote it, so that it applies atomically with its
// checkpoint under the WATCH its reads began with.
#pragma once

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/async_client.hpp"
#include "pgcqrs/sidecar/sink/sink.hpp"

namespace pgcqrs::sidecar::sink {

class RedisSink : public Sink {
 public:
  // redis outlives the sink.
  RedisSink(redis::AsyncClient& redis, Keys keys) : redis_(redis), keys_(std::move(keys)) {}

  bool read(const std::vector<std::vector<std::string>>& commands, Replies done) override;
  bool write(const redis::RespWriter& writes, Done done) override;
  bool mark_dirty(const std::string& lsn, std::function<void()> done) override;
  void flush() override { redis_.flush(); }
  void close() override { redis_.close(); }

 private:
  redis::AsyncClient& redis_;
  const Keys keys_;
};

}  // namespace pgcqrs::sidecar::sink
