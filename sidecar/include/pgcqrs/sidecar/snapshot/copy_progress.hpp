// How far a copy of the write model has come, for the log and /metrics: rows copied and
// expected per table, the rate and the time left. Pure: the copy fills it, others read it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace pgcqrs::sidecar::snapshot {

struct CopyProgress {
  // In the order the copy reads them.
  static constexpr std::array<const char*, 3> kTables = {"users", "products", "orders"};
  std::array<uint64_t, 3> copied{};    // rows of each table copied so far
  std::array<uint64_t, 3> expected{};  // rows of each table under the copy's snapshot
  double seconds = 0;                  // since the copy started
  bool running = false;

  uint64_t copied_total() const { return copied[0] + copied[1] + copied[2]; }
  uint64_t expected_total() const { return expected[0] + expected[1] + expected[2]; }
  double rows_per_second() const { return seconds > 0 ? copied_total() / seconds : 0; }
  // At the rate so far; 0 once everything expected is copied, or before any row is.
  double seconds_left() const;
  // "1200 of 5000 users, 0 of 100 products, 0 of 90000 orders (2400 rows/s, about 39 s left)"
  std::string describe() const;
};

}  // namespace pgcqrs::sidecar::snapshot
