// What a start does on a Redis Cluster before it streams: finishes the batch that a crash
// left between its intent and its finish (cluster/intent.hpp), applying each of its slot
// transactions whose fence is behind it, then its finish, which deletes the intent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/redis/cluster_client.hpp"

namespace pgcqrs::sidecar::cluster {

struct Recovered {
  bool found = false;  // an intent was there
  uint64_t batch = 0;  // its batch's number
  size_t applied = 0;  // slot transactions applied again
  // Set when the read models cannot be trusted and must be rebuilt: an intent or a fence that
  // cannot be read, or a fence past the intent. Nothing was written then.
  std::string error;
};

// prefix: the key prefix, which the fences carry. Redis errors throw (redis::RedisError).
Recovered finish_intent(redis::ClusterClient& redis, std::string_view checkpoint_key, std::string_view prefix);

}  // namespace pgcqrs::sidecar::cluster
