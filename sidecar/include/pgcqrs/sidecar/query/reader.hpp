// pgcqrs-query's reads: each page is one state of the read model (one read-only command, or
// one MULTI/EXEC fenced by a WATCH of the checkpoint); and the read-your-writes wait on the
// checkpoint.
#pragma once

#include <cstdint>
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
  // The first `limit` ids of the sorted set index_key, highest score first, each read as the
  // hash hash_prefix + id (its documented fields).
  std::vector<Hash> page(const std::string& index_key, int limit, const std::string& hash_prefix,
                         const std::vector<std::string>& fields);

  redis::Endpoint ep_;
  const Keys keys_;
  redis::SyncClient client_;
  bool sort_allowed_ = true;  // false once Redis refused SORT_RO's GET for this user's ACL
};

}  // namespace pgcqrs::sidecar::query
