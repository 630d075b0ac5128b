// The copy's progress as figures and as a log line (copy_progress.hpp).
#include "pgcqrs/sidecar/snapshot/copy_progress.hpp"

#include <cmath>

namespace pgcqrs::sidecar::snapshot {

double CopyProgress::seconds_left() const {
  const double rate = rows_per_second();
  if (rate <= 0 || copied_total() >= expected_total()) return 0;
  return static_cast<double>(expected_total() - copied_total()) / rate;
}

std::string CopyProgress::describe() const {
  std::string out;
  for (size_t i = 0; i < kTables.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(copied[i]) + " of " + std::to_string(expected[i]) + " " + kTables[i];
  }
  out += " (" + std::to_string(std::llround(rows_per_second())) + " rows/s, about " +
         std::to_string(std::llround(std::ceil(seconds_left()))) + " s left)";
  return out;
}

}  // namespace pgcqrs::sidecar::snapshot
