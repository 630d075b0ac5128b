// How long the sidecar waits before it reconnects: doubling from 250 ms up to 30 s, back to
// 250 ms only after a session that streamed healthily for a while. A slot that fails right
// after every connect is then retried every 30 s, not four times a second.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pgcqrs::sidecar {

class Backoff {
 public:
  static constexpr int64_t kFirstMs = 250, kCapMs = 30000, kHealthyMs = 60000;

  // A session ended after streaming for streamed_ms (0: it never streamed): the delay before
  // the next one.
  int64_t next(int64_t streamed_ms) {
    if (streamed_ms >= kHealthyMs) delay_ms_ = kFirstMs;
    int64_t now = delay_ms_;
    delay_ms_ = std::min(delay_ms_ * 2, kCapMs);
    return now;
  }

 private:
  int64_t delay_ms_ = kFirstMs;
};

}  // namespace pgcqrs::sidecar
