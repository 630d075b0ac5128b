// The names of everything pgcqrs keeps in Redis (docs/read-models.md), each under the prefix
// that --key-prefix sets. Every unit that names a key, a SCAN pattern or the channel asks
// this, so that pipelines with different prefixes share one Redis and a rebuild deletes only
// its own keys.
//
// Layout 4: an entity's keys carry the hash tag of its bucket, its id mod 64
// (`order_details:{42}:42`, `user:{36}:100`), so that on a Redis Cluster every key of a
// bucket lives in one hash slot, where one MULTI/EXEC can change them together; the global
// views are one key per bucket (`top_products:{5}`). Sixty-four buckets spread over up to 64
// masters, and a batch writes a few dozen transactions, not one per entity.
//
// The read models of a generation N > 0 carry `gN:` after the prefix (`g3:order_details:{7}:7`);
// generation 0 is the names from before generations, kept so that an upgrade rebuilds nothing.
// A rebuild writes generation N+1 beside N, and the checkpoint's `generation` field, which
// stays outside every generation with the channel, says which one readers read
// (docs/consistency.md, "During a rebuild").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgcqrs::sidecar {

class Keys {
 public:
  static constexpr int kBuckets = 64;
  // An id's bucket: id mod 64, 0..63 for negative ids too. Text that is not an integer (a
  // member of a set that names no entity) is bucket 0.
  static int bucket_of(int64_t id) { return static_cast<int>(((id % kBuckets) + kBuckets) % kBuckets); }
  static int bucket_of(std::string_view id);

  // The prefix must pass key_prefix_problem(); the default is no prefix.
  explicit Keys(std::string prefix = {}, uint64_t generation = 0);

  const std::string& prefix() const { return prefix_; }
  uint64_t generation() const { return generation_; }
  // The same prefix, another generation.
  Keys at(uint64_t generation) const { return Keys(prefix_, generation); }

  // Per-entity keys, from an id as text or as a number: stem, `{bucket}:`, id.
  std::string order(std::string_view id) const { return join(order_, id); }  // order_details:{b}:id
  std::string order(int64_t id) const { return join(order_, id); }
  std::string user(std::string_view id) const { return join(user_, id); }
  std::string user(int64_t id) const { return join(user_, id); }
  std::string product(std::string_view id) const { return join(product_, id); }
  std::string product(int64_t id) const { return join(product_, id); }
  std::string user_orders(std::string_view id) const { return join(user_orders_, id); }
  std::string user_latest(std::string_view id) const { return join(user_latest_, id); }
  std::string product_orders(std::string_view id) const { return join(product_orders_, id); }
  // What precedes the tag in an order's, a user's or a product's key: the SCAN of every
  // order matches the first, id_in() reads an id back from any.
  const std::string& order_stem() const { return order_; }
  const std::string& user_stem() const { return user_; }
  const std::string& product_stem() const { return product_; }
  // The id in key, when key is stem, a tag and an id (nullopt otherwise).
  static std::optional<std::string_view> id_in(std::string_view stem, std::string_view key);

  // Per-bucket keys: the products of bucket b by revenue, and the ids present of each entity.
  std::string top_products(int bucket) const { return tagged(top_products_, bucket); }
  std::string users(int bucket) const { return tagged(users_, bucket); }
  std::string products(int bucket) const { return tagged(products_, bucket); }

  // What precedes the keys of declarative read models: the prefix and the generation. A
  // model's hashes are named by its key template; what the projector keeps beside them
  // (registry(), and per model the rows and lookups it joins) is under `pgcqrs:m:`.
  const std::string& scope() const { return scope_; }
  std::string registry() const { return scope_ + "pgcqrs:models"; }

  const std::string& checkpoint() const { return checkpoint_; }
  // Each applied transaction's position is published here after its EXEC (readers waiting
  // for a write token subscribe to it).
  const std::string& channel() const { return channel_; }

  // A SCAN MATCH pattern for the keys whose names start with stem (one of the stems above).
  std::string pattern(std::string_view stem) const;
  // Everything of this generation a rebuild deletes: the patterns of the key families
  // (older layouts' included) and the single keys of older layouts. The checkpoint is no
  // generation's.
  std::vector<std::string> rebuild_patterns() const;
  std::vector<std::string> rebuild_singles() const;
  // Whether key is a read model of any generation under this prefix: what a copy into a Redis
  // without a checkpoint deletes, since no checkpoint says which generations exist.
  bool names_read_model(std::string_view key) const;

 private:
  static std::string join(const std::string& stem, std::string_view id);    // one allocation
  static std::string join(const std::string& stem, int64_t id);
  static std::string tagged(const std::string& stem, int bucket);  // stem{bucket}

  std::string prefix_;
  uint64_t generation_;
  std::string scope_;
  std::string order_, user_, product_, user_orders_, user_latest_, product_orders_;
  std::string top_products_, users_, products_, checkpoint_, channel_;
};

// A SCAN MATCH pattern that matches text as it is (its * ? [ ] \\ escaped): for names taken
// from elsewhere, such as a declarative read model's key template.
std::string scan_literal(std::string_view text);

// Why a --key-prefix cannot be used ("" if it can): it must be at most 64 bytes of letters,
// digits and _ . : -, so that it needs no escape in a SCAN pattern or an ACL key pattern and
// leaves the braces of Redis Cluster's hash tags free.
std::string key_prefix_problem(std::string_view prefix);

}  // namespace pgcqrs::sidecar
