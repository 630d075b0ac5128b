// The calls in flight on one Redis connection, oldest first: replies come in the order the
// calls were sent, so each reply belongs to the front call. A call is one command, or a
// pipeline of commands whose replies only matter for the last one (the first error among the
// others is kept for it). Sans-I/O: the client feeds it replies, tests feed it by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

struct redisReply;

namespace pgcqrs::sidecar::redis {

class CallLedger {
 public:
  using Handler = std::function<void(redisReply*)>;  // nullptr: the connection is gone
  using Clock = std::chrono::steady_clock;

  struct Done {
    Handler handler;           // to be called with the reply that finished the call
    std::string queued_error;  // the first error among the call's earlier replies
  };

  // A call of `replies` commands (at least 1) sent at `sent`.
  void push(uint32_t replies, Handler handler, Clock::time_point sent);

  // The next reply, in order. Returns the call it finishes, or nothing for an earlier reply
  // of a pipeline. Must not be called when empty() (a reply nobody asked for).
  std::optional<Done> take(const redisReply& reply);

  // Every call's handler, oldest first; the ledger is left empty.
  std::vector<Handler> drain();

  bool empty() const { return count_ == 0; }
  size_t calls() const { return count_; }
  size_t replies_pending() const { return replies_; }
  // When the oldest call still waiting was sent.
  std::optional<Clock::time_point> oldest() const;

 private:
  struct Entry {
    uint32_t left = 0;
    Handler handler;
    Clock::time_point sent;
    std::string queued_error;
  };
  Entry& at(size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  void grow();

  std::vector<Entry> ring_;  // a ring whose size is a power of two: no allocation per call
  size_t head_ = 0, count_ = 0, replies_ = 0;
};

}  // namespace pgcqrs::sidecar::redis
