// pgcqrs-query's reads: each page is one state of the read model (one read-only command, or
// one MULTI/EXEC fenced by a WATCH of the checkpoint), of the generation the checkpoint names
// in the same MULTI/EXEC (a rebuild's switch between two reads is seen and read again); and
// the read-your-writes wait on the checkpoint. On a Redis Cluster (docs/scale-out.md) no
// transaction spans the checkpoint's slot and a bucket's: each key is read whole from its
// master, between two reads of the checkpoint's generation that must agree.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <memory>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/cluster_client.hpp"
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
  // A row of a declarative read model: the hash its key template names for these values of
  // its root's primary key (docs/read-models.md, "In Redis"). Throws when Redis knows no
  // model of that name or key gives another number of values than the key has columns.
  std::optional<Hash> model_row(const std::string& model, const std::vector<std::string>& key);
  // A ranked declarative model's rows by its rank column, highest first (at most limit).
  // Throws when Redis knows no model of that name, or the model has no rank.
  std::vector<Hash> model_top(const std::string& model, int limit);

  // The read model's checkpoint, if it has one and it is not marked dirty.
  std::optional<uint64_t> checkpoint();
  // Waits until the checkpoint reaches lsn; false when timeout_ms passed first.
  bool wait_for(uint64_t lsn, int timeout_ms);

 private:
  // A page: the commands that read an index (on the keys of the generation read), the ids
  // their replies list, in page order, and the key of each id's hash.
  using IndexReads = std::function<std::vector<std::vector<std::string>>(const Keys&)>;
  using IdsOf = std::function<std::vector<std::string>(const std::vector<redis::ReplyPtr>&)>;
  using HashKeyOf = std::function<std::string(const Keys&, const std::string&)>;
  std::vector<Hash> page(const IndexReads& index_reads, const IdsOf& ids_of, const HashKeyOf& hash_key);
  // The best `limit` members of the 64 sorted sets set_key names, one per bucket, merged, and
  // the hashes they name.
  std::vector<Hash> ranked(const std::function<std::string(const Keys&, int)>& set_key, const HashKeyOf& hash_key,
                           int limit);
  // A declarative model's plan, from the registry (the same in every generation: each copy
  // takes it from the table read_models).
  std::string model_plan(const std::string& model);

  // A command's reply, read in the same MULTI/EXEC as the checkpoint's generation, on that
  // generation's keys: reply points into owner, or is null when Redis refused to queue the
  // command (owner is then that error).
  struct Current {
    redis::ReplyPtr owner;
    const redisReply* reply = nullptr;
  };
  Current current(const std::function<std::vector<std::string>(const Keys&)>& argv_of);
  uint64_t generation_of(const redisReply* r) const;  // the checkpoint's field as HGET returned it

  // On a cluster: reads(keys) between two readings of the generation, on the generation the
  // first names, again until both agree.
  template <typename T>
  T on_cluster(const std::function<T(const Keys&)>& reads);
  uint64_t cluster_generation();
  std::vector<Hash> cluster_hashes(const std::vector<std::string>& keys);

  redis::Endpoint ep_;
  Keys keys_;  // of the generation last read
  redis::SyncClient client_;
  std::unique_ptr<redis::ClusterClient> cluster_;  // set when --redis names a node of a cluster
};

}  // namespace pgcqrs::sidecar::query
