// The calls in flight, in a ring buffer (call_ledger.hpp).
#include "pgcqrs/sidecar/redis/call_ledger.hpp"

#include <hiredis/hiredis.h>

namespace pgcqrs::sidecar::redis {

void CallLedger::grow() {
  std::vector<Entry> bigger(ring_.empty() ? 16 : ring_.size() * 2);
  for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(at(i));
  ring_ = std::move(bigger);
  head_ = 0;
}

void CallLedger::push(uint32_t replies, Handler handler, Clock::time_point sent) {
  if (count_ == ring_.size()) grow();
  Entry& e = at(count_);
  e.left = replies == 0 ? 1 : replies;
  e.handler = std::move(handler);
  e.sent = sent;
  e.queued_error.clear();
  ++count_;
  replies_ += e.left;
}

std::optional<CallLedger::Done> CallLedger::take(const redisReply& reply) {
  Entry& e = at(0);
  --replies_;
  if (--e.left > 0) {
    if (reply.type == REDIS_REPLY_ERROR && e.queued_error.empty()) e.queued_error.assign(reply.str, reply.len);
    return std::nullopt;
  }
  Done done{std::move(e.handler), std::move(e.queued_error)};
  e.handler = nullptr;
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
  return done;
}

std::vector<CallLedger::Handler> CallLedger::drain() {
  std::vector<Handler> out;
  out.reserve(count_);
  for (size_t i = 0; i < count_; ++i) {
    out.push_back(std::move(at(i).handler));
    at(i).handler = nullptr;
  }
  head_ = count_ = replies_ = 0;
  return out;
}

std::optional<CallLedger::Clock::time_point> CallLedger::oldest() const {
  if (count_ == 0) return std::nullopt;
  return ring_[head_].sent;
}

}  // namespace pgcqrs::sidecar::redis
