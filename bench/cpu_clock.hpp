// This process's CPU time (user + system), for benchmarks that report CPU per operation.
#pragma once

#include <sys/resource.h>

inline double cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}
