// The one crossing point between the PostgreSQL zone and the C++ zone (docs/boundary.md).
// PostgreSQL-zone code calls C++ only through PGCQRS_CXX: exceptions are caught inside the
// lambda, every C++ object is destroyed, and only then is the error raised with ereport.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>

namespace pgcqrs::boundary {

// Storage for the last C++ error's message; static so that raising it needs no C++ object.
inline char last_error_message[512];

inline void remember(const char* what) noexcept {
  std::snprintf(last_error_message, sizeof last_error_message, "%s", what ? what : "unknown");
}

// Runs fn; returns false (with last_error_message set) if it threw. Never throws.
template <class Fn>
bool call(Fn&& fn) noexcept {
  try {
    fn();
    return true;
  } catch (const std::bad_alloc&) {
    remember("out of memory in the pgcqrs C++ zone");
  } catch (const std::exception& e) {
    remember(e.what());
  } catch (...) {
    remember("unknown C++ exception");
  }
  return false;
}

}  // namespace pgcqrs::boundary

// PostgreSQL zone only (needs postgres.h): runs the statements as C++ and turns a C++
// exception into ereport(ERROR) after the lambda, and everything it owned, is gone.
#define PGCQRS_CXX(...)                                                                   \
  do {                                                                                    \
    if (!::pgcqrs::boundary::call([&]() { __VA_ARGS__; }))                                \
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),                                    \
                      errmsg("pgcqrs: %s", ::pgcqrs::boundary::last_error_message)));    \
  } while (0)
