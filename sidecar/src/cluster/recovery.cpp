#include "pgcqrs/sidecar/cluster/recovery.hpp"

#include <hiredis/hiredis.h>

namespace pgcqrs::sidecar::cluster {

Recovered finish_intent(redis::ClusterClient& redis, std::string_view checkpoint_key, std::string_view prefix) {
  Recovered out;
  std::string key = intent_key(checkpoint_key);
  auto stored = redis.command(key, {"GET", key});
  if (stored->type == REDIS_REPLY_NIL) return out;
  out.found = true;
  if (stored->type != REDIS_REPLY_STRING) {
    out.error = key + " is not a string";
    return out;
  }
  Decoded decoded = decode_intent({stored->str, stored->len});
  if (!decoded.intent) {
    out.error = decoded.error;
    return out;
  }
  const Intent& intent = *decoded.intent;
  out.position = intent.position;

  std::vector<std::optional<Position>> fences;
  for (const auto& t : intent.transactions) {
    std::string fence = redis::fence_key(prefix, t.slot);
    auto r = redis.command(fence, {"HGET", fence, kFenceField});
    if (r->type == REDIS_REPLY_NIL) {
      fences.emplace_back();
      continue;
    }
    auto p = r->type == REDIS_REPLY_STRING ? parse_position({r->str, r->len}) : std::nullopt;
    if (!p) {
      out.error = fence + " holds " + redis::reply_string(r.get()) + ", not a position";
      return out;
    }
    fences.push_back(p);
  }
  Replay todo = replay(intent, fences);
  if (!todo.ahead.empty()) {
    out.error = "the fence of slot " + std::to_string(todo.ahead.front()) + " is past the intent at " +
                format_position(intent.position);
    return out;
  }
  for (size_t i : todo.apply) redis.transaction(intent.transactions[i]);
  out.applied = todo.apply.size();
  redis.transaction(intent.finish);
  return out;
}

}  // namespace pgcqrs::sidecar::cluster
