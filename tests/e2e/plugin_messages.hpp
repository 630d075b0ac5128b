// The plugin's messages as the e2e tests of the projection write them (docs/events.md): a
// transaction's begin, its events and its commit, for one transaction id, and the calls the
// sidecar's assembler makes of them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

inline std::string begin(const std::string& lsn) {
  return R"({"type":"begin","v":1,"xid":1,"lsn":")" + lsn + R"(","commit_time":"2026-01-01T00:00:00.000000Z"})";
}
inline std::string commit(const std::string& lsn, int events) {
  return R"({"type":"commit","xid":1,"lsn":")" + lsn + R"(","events":)" + std::to_string(events) + "}";
}
inline std::string ev(const std::string& lsn, int seq, const std::string& type, const std::string& fields) {
  return R"({"type":")" + type + R"(","xid":1,"lsn":")" + lsn + R"(","seq":)" + std::to_string(seq) + "," + fields + "}";
}

// Parses messages of one or more transactions into calls (chunked at max_events).
inline std::vector<pgcqrs::sidecar::projection::ScriptCall> calls_of(const std::vector<std::string>& messages,
                                                                     size_t max_events = 500) {
  namespace projection = pgcqrs::sidecar::projection;
  projection::TransactionAssembler a(projection::AssemblerLimits{max_events, 1 << 20});
  std::vector<projection::ScriptCall> out;
  for (const auto& m : messages) {
    auto r = projection::parse_message(m);
    EXPECT_TRUE(r.message) << r.error;
    EXPECT_EQ(a.feed(*r.message, out), "");
  }
  return out;
}
