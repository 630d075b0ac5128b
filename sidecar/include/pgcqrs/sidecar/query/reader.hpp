// pgcqrs-query's reads: each page is one state of the read model (one read-only command, or
// one MULTI/EXEC fenced by a WATCH of the checkpoint), of the generation the checkpoint names
// in the same MULTI/EXEC (a rebuild's switch between two reads is seen and read again); and
// the read-your-writes wait on the checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/query/render.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar::query {

class Reader {
 public:
  Reader(const redis::Endpoint& ep, Keys keys);

  // The user's newest orders (at most limit), newest first.
  std::vector<Hash> user_orders(int64_t user_id, int limit);
  std::optional<Hash> order(int64_t order_id);
  // Products by revenue, highest first.
  std::vector<Hash> top_products(int limit);

  // The read model's checkpoint, if it has one and it is not marked dirty.
  std::optional<uint64_t> checkpoint();
  // Waits until the checkpoint reaches lsn; false when timeout_ms passed first.
  bool wait_for(uint64_t lsn, int timeout_ms);

 private:
  using KeyOf = std::function<std::string(const Keys&)>;  // a key, in whichever generation is read
  // The first `limit` ids of the sorted set index_key, highest score first, each read as the
  // hash hash_prefix + id (its documented fields).
  std::vector<Hash> page(const KeyOf& index_key, int limit, const KeyOf& hash_prefix,
                         const std::vector<std::string>& fields);

  // A command's reply, read in the same MULTI/EXEC as the checkpoint's generation, on that
  // generation's keys: reply points into owner, or is null when Redis refused to queue the
  // command (owner is then that error).
  struct Current {
    redis::ReplyPtr owner;
    const redisReply* reply = nullptr;
  };
  Current current(const std::function<std::vector<std::string>(const Keys&)>& argv_of);
  uint64_t generation_of(const redisReply* r) const;  // the checkpoint's field as HGET returned it

  redis::Endpoint ep_;
  Keys keys_;  // of the generation last read
  redis::SyncClient client_;
  bool sort_allowed_ = true;  // false once Redis refused SORT_RO's GET for this user's ACL
};

}  // namespace pgcqrs::sidecar::query
