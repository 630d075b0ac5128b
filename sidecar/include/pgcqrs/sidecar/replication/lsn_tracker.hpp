// The positions reported to the slot, named as pg_stat_replication names them:
// written = received from the walsender, applied = in Redis (EXEC acknowledged),
// flushed = in Redis and past Redis's fsync window, the only position ever confirmed.
// Sans-I/O: time is passed in (milliseconds on any monotonic clock).
#pragma once

#include <cstdint>
#include <deque>
#include <utility>

namespace pgcqrs::sidecar::replication {

class LsnTracker {
 public:
  // start: the position the slot already confirmed; hold_ms: how long an applied commit
  // waits before it counts as durable (Redis appendfsync everysec), 0 for none.
  LsnTracker(uint64_t start, int64_t hold_ms) : written_(start), applied_(start), flushed_(start), hold_ms_(hold_ms) {}

  void on_received(uint64_t lsn) {
    if (lsn > written_) written_ = lsn;
  }

  // Redis acknowledged everything up to commit_lsn at now_ms.
  void on_applied(uint64_t commit_lsn, int64_t now_ms) {
    if (commit_lsn <= applied_) return;
    applied_ = commit_lsn;
    if (commit_lsn > written_) written_ = commit_lsn;
    if (hold_ms_ <= 0) {
      flushed_ = commit_lsn;
      return;
    }
    pending_.emplace_back(commit_lsn, now_ms + hold_ms_);
  }

  // Promotes applied positions whose hold has elapsed; returns true if flushed moved.
  bool tick(int64_t now_ms) {
    bool moved = false;
    while (!pending_.empty() && pending_.front().second <= now_ms) {
      flushed_ = pending_.front().first;
      pending_.pop_front();
      moved = true;
    }
    return moved;
  }

  // Earliest time at which tick() would move flushed, or -1.
  int64_t next_due_ms() const { return pending_.empty() ? -1 : pending_.front().second; }

  bool all_flushed() const { return flushed_ == applied_; }
  uint64_t written() const { return written_; }
  uint64_t applied() const { return applied_; }
  uint64_t flushed() const { return flushed_; }
  int64_t hold_ms() const { return hold_ms_; }

 private:
  uint64_t written_;
  uint64_t applied_;
  uint64_t flushed_;
  int64_t hold_ms_;
  std::deque<std::pair<uint64_t, int64_t>> pending_;  // (commit lsn, due time)
};

}  // namespace pgcqrs::sidecar::replication
