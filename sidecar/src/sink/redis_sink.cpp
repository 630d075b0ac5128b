// One Redis as the sink (redis_sink.hpp).
#include "pgcqrs/sidecar/sink/redis_sink.hpp"

#include <memory>

#include <hiredis/hiredis.h>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar::sink {

// The reads go pipelined; the last reply hands them all over.
bool RedisSink::read(const std::vector<std::vector<std::string>>& commands, Replies done) {
  auto replies = std::make_shared<std::vector<projection::Reply>>();
  replies->reserve(commands.size());
  auto failed = std::make_shared<bool>(false);
  for (size_t i = 0; i < commands.size(); ++i) {
    const bool last = i + 1 == commands.size();
    bool ok = redis_.command(commands[i], [replies, failed, last, done](redisReply* r) {
      if (*failed) return;
      if (!r) {
        *failed = true;
        return done(nullptr, "Redis connection lost with calls in flight");
      }
      replies->push_back(projection::copy_reply(*r));
      if (last) done(replies.get(), "");
    });
    if (!ok) return false;
  }
  return true;
}

bool RedisSink::write(const redis::RespWriter& writes, Done done) {
  return redis_.pipeline(writes.buffer(), writes.starts(), [this, done](redisReply* r) {
    using K = Written::Kind;
    if (!r) return done({K::lost, "Redis connection lost with calls in flight"});
    if (r->type == REDIS_REPLY_ERROR) {
      // EXECABORT: a queued command was refused (OOM, READONLY, NOPERM); its error says why.
      const std::string& queued = redis_.queued_error();
      return done({K::rejected, queued.empty() ? redis::describe_reply_error(r)
                                               : queued + " (" + redis::describe_reply_error(r) + ")"});
    }
    if (r->type == REDIS_REPLY_NIL) return done({K::watch_broken, ""});
    if (r->type != REDIS_REPLY_ARRAY) return done({K::unexpected, "unexpected reply to EXEC"});
    for (size_t i = 0; i < r->elements; ++i)
      if (r->element[i]->type == REDIS_REPLY_ERROR) return done({K::partial, redis::describe_reply_error(r->element[i])});
    done({K::applied, ""});
  });
}

bool RedisSink::mark_dirty(const std::string& lsn, std::function<void()> done) {
  return redis_.command({"HSET", keys_.checkpoint(), checkpoint::field::dirty, lsn}, [done](redisReply*) { done(); });
}

}  // namespace pgcqrs::sidecar::sink
