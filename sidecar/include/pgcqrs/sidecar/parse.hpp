// Strict number parsing shared by the command line and Redis URLs: digits only, in range.
#pragma once

#include <string>

namespace pgcqrs::sidecar {

// Parses s as a decimal integer in [lo, hi] into out; false (out untouched) otherwise.
inline bool parse_int(const std::string& s, int lo, int hi, int& out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace pgcqrs::sidecar
