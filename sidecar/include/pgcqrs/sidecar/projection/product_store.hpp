// The products in the read models: their hashes, typed and found by product id (a HashStore,
// hash_store.hpp), and their buckets' top_products. Only the projector writes top_products and
// it never reads it, so no knowledge of it is kept, only a run's changes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/projection/entity_hashes.hpp"
#include "pgcqrs/sidecar/projection/hash_store.hpp"
#include "pgcqrs/sidecar/projection/redis_view.hpp"

namespace pgcqrs::sidecar::projection {

class ProductStore {
 public:
  // keys and view outlive the store (both belong to the projector that holds it).
  ProductStore(const Keys& keys, RedisView& view) : keys_(keys), hashes_(keys, view) {}

  // ---- reads (HashStore's) ---------------------------------------------------------------
  bool prefetch(int64_t id) { return hashes_.prefetch(id); }
  bool prefetch_exists(int64_t id) { return hashes_.prefetch_exists(id); }
  std::vector<Command> take_checks() { return hashes_.take_checks(); }
  void drop_assumptions() { hashes_.drop_assumptions(); }
  bool owns(const Command& read) const { return hashes_.owns(read); }
  void absorb(const Command& read, Reply reply) { hashes_.absorb(read, std::move(reply)); }

  // ---- state (each throws Missing, its read asked for, when it is not known) -------------
  bool exists(int64_t id) { return hashes_.exists(id); }
  const std::string* name(int64_t id);  // null when the product or its name is absent

  // ---- changes (of a product that exists, unless said otherwise) ------------------------
  // ProductAdded: its fields; a product new to the read models also gets zero sales.
  void add(int64_t id, const std::string& name, const std::string& price, bool is_active, const std::string& lsn);
  void add_sales(int64_t id, int64_t units, int64_t cents, const std::string& lsn);
  enum class Text { Name, Price, IsActive };
  void set(int64_t id, Text field, const std::string& value, const std::string& lsn);
  // TRUNCATE of the orders: zero sales, written without reading the product (SCAN found it).
  void reset_sales(int64_t id, const std::string& lsn);
  void del(int64_t id);  // the hash and its place in top_products
  void del_top();        // every bucket's top_products

  // ---- the batch (called with RedisView's of the same names) -----------------------------
  void begin_batch();
  void begin_run();
  void commit(redis::RespWriter& out);  // this run's changes, then kept as knowledge
  void forget();

 private:
  using F = ProductHash::Field;
  void drop_top_changes();

  const Keys& keys_;
  HashStore<ProductHash> hashes_;
  bool top_deleted_ = false;                       // DEL every top_products first
  std::map<int64_t, std::optional<int64_t>> top_;  // ZADD revenue cents, nullopt: ZREM
};

}  // namespace pgcqrs::sidecar::projection
