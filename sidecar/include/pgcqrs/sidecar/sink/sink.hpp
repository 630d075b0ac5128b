// Where BatchApplier sends a batch: its reads, pipelined, and its writes, the projector's
// MULTI ... EXEC. One Redis takes the writes as they are (redis_sink.hpp); a Redis Cluster
// takes them cut by hash slot, behind an intent (cluster_sink.hpp). The applier, and the
// projector behind it, do not know which they write to.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/projection/reply.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::sink {

// How a batch's writes ended.
struct Written {
  enum class Kind {
    applied,       // all of them
    lost,          // the connection broke first: maybe some, maybe none (the checkpoint says)
    rejected,      // none: Redis refused the batch (EXECABORT: OOM, READONLY, NOPERM, ...)
    watch_broken,  // none: the checkpoint changed between the reads and the writes
    partial,       // some: a command failed after others ran (Redis does not roll back)
    unexpected,    // a reply that means neither: a Redis that answers wrongly
  } kind = Kind::applied;
  std::string error;  // what Redis said, for all but applied and watch_broken
};

class Sink {
 public:
  // replies: one per command, in order; nullptr, with error saying why, when they cannot all
  // be had (a connection broke; on a cluster, a slot moved).
  using Replies = std::function<void(std::vector<projection::Reply>* replies, const std::string& error)>;
  using Done = std::function<void(const Written&)>;

  virtual ~Sink() = default;
  // Each returns false, having sent nothing, when the sink is not usable (not connected).
  // commands: argument vectors, each with its key first after the name (as the projector reads).
  // commands: argument vectors, each with its key after its name (as the projector reads).
  virtual bool read(const std::vector<std::vector<std::string>>& commands, Replies done) = 0;
  // writes: MULTI, the batch's commands, EXEC.
  virtual bool write(const redis::RespWriter& writes, Done done) = 0;
  // Marks the checkpoint dirty at lsn: what a partial write leaves; done once Redis answered.
  virtual bool mark_dirty(const std::string& lsn, std::function<void()> done) = 0;
  // Sends what is queued now: Redis starts on a batch while the next one is projected.
  virtual void flush() = 0;
  // Closes the connections now; no callback runs after it.
  virtual void close() = 0;
};

}  // namespace pgcqrs::sidecar::sink
