#include "pgcqrs/sidecar/cluster/recovery.hpp"

#include <hiredis/hiredis.h>

namespace pgcqrs::sidecar::cluster {

Recovered finish_intent(redis::ClusterClient& redis, std::string_view checkpoint_key, std::string_view prefix) {
  Recovered out;
  std::string key = intent_key(prefix, checkpoint_key);
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
  out.batch = intent.batch;

  // Every fence at once: one round trip per master.
  std::vector<std::pair<std::string, std::vector<std::string>>> reads;
  for (const auto& t : intent.transactions) {
    std::string fence = redis::fence_key(prefix, t.slot);
    reads.push_back({fence, {"HGET", fence, kFenceField}});
  }
  auto replies = redis.pipeline(reads);
  std::vector<std::optional<uint64_t>> fences;
  for (size_t i = 0; i < replies.size(); ++i) {
    const redisReply* r = replies[i].get();
    if (r->type == REDIS_REPLY_NIL) {
      fences.emplace_back();
      continue;
    }
    auto p = r->type == REDIS_REPLY_STRING ? parse_batch({r->str, r->len}) : std::nullopt;
    if (!p) {
      out.error = reads[i].first + " holds " + redis::reply_string(r) + ", not a batch number";
      return out;
    }
    fences.push_back(p);
  }
  Replay todo = replay(intent, fences);
  if (!todo.ahead.empty()) {
    out.error = "the fence of slot " + std::to_string(todo.ahead.front()) + " is past the intent's batch " +
                std::to_string(intent.batch);
    return out;
  }
  for (size_t i : todo.apply) redis.transaction(intent.transactions[i]);
  out.applied = todo.apply.size();
  redis.transaction(intent.finish);
  return out;
}

}  // namespace pgcqrs::sidecar::cluster
