// Redis's settings judged at start-up (redis_settings.hpp).
#include "pgcqrs/sidecar/redis_settings.hpp"

#include <cstdlib>

namespace pgcqrs::sidecar {

RedisSettingsVerdict judge_redis_settings(const RedisSettings& s, bool allow_eviction) {
  RedisSettingsVerdict v;
  auto note = [&](bool warning, std::string text) { v.notes.push_back({warning, std::move(text)}); };
  if (!s.maxmemory_policy) {
    if (!allow_eviction) {
      v.refusal = Failure(Server::redis, ErrorKind::permanent,
                          "cannot read Redis maxmemory-policy (CONFIG GET refused): allow the sidecar's user "
                          "+config|get, or pass --allow-eviction if you know keys are never evicted");
      return v;
    }
  } else if (s.maxmemory_policy->rfind("allkeys-", 0) == 0) {
    if (!allow_eviction) {
      v.refusal = Failure(Server::redis, ErrorKind::permanent,
                          "Redis maxmemory-policy is " + *s.maxmemory_policy +
                              ": it may evict read-model keys and lose data silently; set it to noeviction, or pass "
                              "--allow-eviction to accept that");
      return v;
    }
    note(true, "Redis maxmemory-policy is " + *s.maxmemory_policy + ": keys may be evicted (--allow-eviction)");
  }
  // An order hash (its items JSON) fits Redis's compact listpack encoding only when values
  // of about 1 kB are allowed; otherwise it takes about a sixth more memory.
  if (s.hash_max_listpack_value && std::atoll(s.hash_max_listpack_value->c_str()) < 1024)
    note(true, "Redis hash-max-listpack-value is " + *s.hash_max_listpack_value +
                   ": order hashes will use the larger hashtable encoding; 1024 is recommended");
  if (!s.appendonly || !s.appendfsync) {
    v.hold_ms = 2000;
    note(true, "cannot read Redis persistence settings: holding confirmations 2000 ms as for appendfsync everysec");
  } else if (*s.appendonly != "yes") {
    v.hold_ms = 0;
    note(true, "Redis has no append-only file: a Redis restart loses data and forces a full rebuild; confirming "
               "positions as soon as Redis acknowledges");
  } else if (*s.appendfsync == "always") {
    v.hold_ms = 0;
    note(false, "Redis appendfsync always: confirming positions once Redis acknowledges");
  } else if (*s.appendfsync == "everysec") {
    v.hold_ms = 2000;
    note(false, "Redis appendfsync everysec: confirming positions 2000 ms after Redis acknowledges");
  } else {
    v.hold_ms = 35000;
    note(true, "Redis appendfsync " + *s.appendfsync +
                   ": the OS decides when data reaches disk; holding confirmations 35000 ms");
  }
  return v;
}

}  // namespace pgcqrs::sidecar
