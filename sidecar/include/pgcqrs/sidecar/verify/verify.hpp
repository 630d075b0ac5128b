// `pgcqrs-sidecar verify`: the oracle. Waits until Redis has caught up with the write model,
// reads the whole write model with SQL and the whole read model from Redis, and prints every
// key and field that differs. It uses no projection code: only the documented layout.
#pragma once

#include <string>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

namespace pgcqrs::sidecar::verify {

struct Options {
  std::string pg;  // libpq connection string ("" = PG* environment variables)
  redis::Endpoint redis;
  std::string key_prefix;  // before every key name of the layout (--key-prefix)
  int timeout_s = 60;     // how long to wait for the read model to catch up
  int attempts = 3;       // reads to try while writes are still arriving
  int max_report = 100;   // difference lines printed
};

// Exit status: 0 identical, 1 differences (or not caught up), 2 could not read.
int run(const Options& options);

}  // namespace pgcqrs::sidecar::verify
