// How the Runner tells of transient failures: the first of a run, and any that fails in a new
// way, as a warning; the retries that fail the same way at debug level; the recovery once, as
// an info line. A server that is down for an hour is then one warning and one info line, not
// a warning every 30 s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgcqrs::sidecar {

class FailureRun {
 public:
  enum class Say { warning, debug };

  // A session failed with error at now_ms: how to log it.
  Say on_failure(const std::string& error, int64_t now_ms) {
    if (attempts_++ == 0) since_ms_ = now_ms;
    bool same = error == last_error_;
    last_error_ = error;
    return same ? Say::debug : Say::warning;
  }

  struct Recovery {
    int attempts;        // failed attempts in the run
    int64_t failing_ms;  // from the first failure to the recovery
  };
  // A session streams at now_ms: the run that ended, if there was one.
  std::optional<Recovery> on_streaming(int64_t now_ms) {
    std::optional<Recovery> r;
    if (attempts_ > 0) r = Recovery{attempts_, now_ms - since_ms_};
    attempts_ = 0;
    last_error_.clear();
    return r;
  }

  int attempts() const { return attempts_; }

 private:
  int attempts_ = 0;
  int64_t since_ms_ = 0;
  std::string last_error_;
};

}  // namespace pgcqrs::sidecar
