// What the sidecar makes of Redis's settings at start-up: a node of a Redis Cluster is refused
// (the sidecar writes to one Redis so far), so is a Redis that may evict keys (unless
// --allow-eviction), and the durability hold follows the append-only file's fsync policy
// (docs/operations.md). A pure function of what CONFIG GET returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/failure.hpp"

namespace pgcqrs::sidecar {

// Each setting as CONFIG GET returned it (nullopt: the command was refused, NOPERM).
struct RedisSettings {
  std::optional<std::string> maxmemory_policy;
  std::optional<std::string> hash_max_listpack_value;
  std::optional<std::string> appendonly;
  std::optional<std::string> appendfsync;
};

struct RedisSettingsVerdict {
  std::optional<Failure> refusal;  // start-up fails
  int64_t hold_ms = 0;             // how long a position waits after Redis acknowledged it
  struct Note {
    bool warning = false;  // else information
    std::string text;
  };
  std::vector<Note> notes;  // what to say about the settings (once per process)
};

RedisSettingsVerdict judge_redis_settings(const RedisSettings& settings, bool allow_eviction);

}  // namespace pgcqrs::sidecar
