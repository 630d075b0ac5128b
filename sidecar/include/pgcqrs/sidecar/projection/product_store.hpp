// What the projector knows of the products' hashes (product:{id}) and what a run changes in
// them and in top_products: typed (sales as integers, cents) and found by product id, where
// RedisView holds any key as strings. It keeps RedisView's protocol (redis_view.hpp): an
// unknown product is read with HGETALL, asked for through the view so that a round's reads go
// out together, and a read that is needed throws Missing; a run's changes go to a working copy
// that the commit writes and keeps as the next batch's knowledge. Only the projector writes
// top_products and never reads it, so no knowledge of it is kept, only a run's changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/projection/redis_view.hpp"

namespace pgcqrs::sidecar::projection {

class ProductStore {
 public:
  // keys and view outlive the store (both belong to the projector that holds it).
  ProductStore(const Keys& keys, RedisView& view) : keys_(keys), view_(view) {}

  // ---- reads ----------------------------------------------------------------------------
  // Asks for the product's hash unless it is known; true while it is unknown.
  bool prefetch(int64_t id);
  // Asks whether it exists unless known; while the view speculates, an unknown product is
  // taken to be absent instead, and take_checks() gives the EXISTS that must answer 0.
  bool prefetch_exists(int64_t id);
  std::vector<Command> take_checks();
  void drop_assumptions();
  // Whether a read is one this store asked for; absorb() takes its reply.
  bool owns(const Command& read) const;
  void absorb(const Command& read, Reply reply);

  // ---- state (each throws Missing, its read asked for, when it is not known) -------------
  bool exists(int64_t id);
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
  void del_top();        // top_products as a whole

  // ---- the batch (called with RedisView's of the same names) -----------------------------
  void begin_batch();
  void begin_run();
  void commit(redis::RespWriter& out);  // this run's changes, then kept as knowledge
  void forget();

 private:
  // The hash's fields, in the order the commit writes them (by name, as RedisView does).
  enum Field : uint8_t { kIsActive, kLsn, kName, kPrice, kProductId, kRevenue, kUnitsSold, kFields };
  struct Product {
    std::string is_active, lsn, name, price, product_id;  // as Redis holds them
    int64_t revenue = 0, units_sold = 0;                  // cents, units
    uint8_t known = 0;                                    // fields known, a bit per Field
    bool whole = false;                                   // every field known: one not known is absent
    std::optional<bool> exists;
    bool has(Field f) const { return known & (1u << f); }
  };
  struct Slot {
    int64_t id = 0;
    bool known = false;  // `base` is what Redis holds
    bool assumed_absent = false, check_taken = false;
    uint64_t run = 0;    // `now`, `dirty` and `deleted` belong to this run (else stale)
    Product now, base;
    uint8_t dirty = 0;   // fields this run set
    bool deleted = false;  // DEL first
  };

  const Product* known(int64_t id) const;
  Slot& slot(int64_t id);
  Slot& work(int64_t id);
  void set_field(Product& p, Slot& s, Field f) {
    p.known |= static_cast<uint8_t>(1u << f);
    s.dirty |= static_cast<uint8_t>(1u << f);
    p.exists = true;
  }
  [[noreturn]] void need(int64_t id) { view_.need({"HGETALL", keys_.product(std::to_string(id))}); }
  std::optional<int64_t> id_of(const std::string& key) const;

  const Keys& keys_;
  RedisView& view_;
  std::unordered_map<int64_t, std::unique_ptr<Slot>> slots_;
  uint64_t run_ = 1;
  std::vector<Slot*> work_order_;  // products this run changed, in the order first changed
  std::vector<Slot*> assumed_;
  bool top_deleted_ = false;                             // DEL top_products first
  std::map<int64_t, std::optional<int64_t>> top_;        // ZADD revenue cents, nullopt: ZREM
  static constexpr size_t kLimit = 50000;  // products kept between batches
};

}  // namespace pgcqrs::sidecar::projection
