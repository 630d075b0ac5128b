// The products' hashes and their buckets' top_products (product_store.hpp).
#include "pgcqrs/sidecar/projection/product_store.hpp"

#include "pgcqrs/core/money.hpp"

namespace pgcqrs::sidecar::projection {

const std::string* ProductStore::name(int64_t id) {
  const ProductHash* p = hashes_.get(id, F::kName);
  return p ? &p->name : nullptr;
}

void ProductStore::add(int64_t id, const std::string& name, const std::string& price, bool is_active,
                       const std::string& lsn) {
  const bool fresh = !hashes_.exists(id);
  hashes_.set(id, F::kProductId).product_id = std::to_string(id);
  hashes_.set(id, F::kName).name = name;
  hashes_.set(id, F::kPrice).price = price;
  hashes_.set(id, F::kIsActive).is_active = is_active ? "true" : "false";
  hashes_.set(id, F::kLsn).lsn = lsn;
  if (fresh) {
    hashes_.set(id, F::kUnitsSold).units_sold = 0;
    hashes_.set(id, F::kRevenue).revenue = 0;
    top_.insert_or_assign(id, 0);
  }
}

void ProductStore::add_sales(int64_t id, int64_t units, int64_t cents, const std::string& lsn) {
  // An absent field counts as 0.
  const ProductHash* sold = hashes_.get(id, F::kUnitsSold);
  const int64_t before_units = sold ? sold->units_sold : 0;
  const ProductHash* revenue = hashes_.get(id, F::kRevenue);
  const int64_t before_cents = revenue ? revenue->revenue : 0;
  hashes_.set(id, F::kUnitsSold).units_sold = before_units + units;
  hashes_.set(id, F::kRevenue).revenue = before_cents + cents;
  hashes_.set(id, F::kLsn).lsn = lsn;
  top_.insert_or_assign(id, before_cents + cents);
}

void ProductStore::set(int64_t id, Text field, const std::string& value, const std::string& lsn) {
  switch (field) {
    case Text::Name: hashes_.set(id, F::kName).name = value; break;
    case Text::Price: hashes_.set(id, F::kPrice).price = value; break;
    case Text::IsActive: hashes_.set(id, F::kIsActive).is_active = value; break;
  }
  hashes_.set(id, F::kLsn).lsn = lsn;
}

void ProductStore::reset_sales(int64_t id, const std::string& lsn) {
  hashes_.set(id, F::kUnitsSold).units_sold = 0;
  hashes_.set(id, F::kRevenue).revenue = 0;
  hashes_.set(id, F::kLsn).lsn = lsn;
  top_.insert_or_assign(id, 0);
}

void ProductStore::del(int64_t id) {
  hashes_.del(id);
  top_.insert_or_assign(id, std::nullopt);
}

void ProductStore::del_top() {
  top_deleted_ = true;
  top_.clear();
}

void ProductStore::begin_batch() {
  hashes_.begin_batch();
  drop_top_changes();
}

void ProductStore::begin_run() {
  hashes_.begin_run();
  drop_top_changes();
}

void ProductStore::drop_top_changes() {
  top_deleted_ = false;
  top_.clear();
}

void ProductStore::commit(redis::RespWriter& out) {
  hashes_.commit(out);
  if (top_deleted_)
    for (int b = 0; b < Keys::kBuckets; ++b) out.cmd("DEL", keys_.top_products(b));
  // Each bucket's changes in one ZREM and one ZADD of its own key: no command spans buckets,
  // which a Redis Cluster may keep on different masters.
  std::map<int, std::vector<std::pair<int64_t, std::optional<int64_t>>>> by_bucket;
  for (const auto& change : top_) by_bucket[Keys::bucket_of(change.first)].push_back(change);
  for (const auto& [bucket, changes] : by_bucket) {
    const std::string key = keys_.top_products(bucket);
    size_t adds = 0, rems = 0;
    for (const auto& [id, cents] : changes) (cents ? adds : rems)++;
    if (rems > 0) {
      out.begin(2 + rems);
      out.arg("ZREM");
      out.arg(key);
      for (const auto& [id, cents] : changes)
        if (!cents) out.arg(std::to_string(id));
    }
    if (adds > 0) {
      out.begin(2 + 2 * adds);
      out.arg("ZADD");
      out.arg(key);
      for (const auto& [id, cents] : changes)
        if (cents) {
          out.arg(cents_to_money(*cents));
          out.arg(std::to_string(id));
        }
    }
  }
  drop_top_changes();
}

void ProductStore::forget() {
  hashes_.forget();
  drop_top_changes();
}

}  // namespace pgcqrs::sidecar::projection
