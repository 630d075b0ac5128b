// The names of everything pgcqrs keeps in Redis (docs/read-models.md), each under the prefix
// that --key-prefix sets. Every unit that names a key, a SCAN pattern or the channel asks
// this, so that pipelines with different prefixes share one Redis and a rebuild deletes only
// its own keys.
//
// The read models of a generation N > 0 carry `gN:` after the prefix (`g3:order_details:7`);
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
  // The prefix must pass key_prefix_problem(); the default is no prefix.
  explicit Keys(std::string prefix = {}, uint64_t generation = 0);

  const std::string& prefix() const { return prefix_; }
  uint64_t generation() const { return generation_; }
  // The same prefix, another generation.
  Keys at(uint64_t generation) const { return Keys(prefix_, generation); }

  // Per-entity keys, from an id as text.
  std::string order(std::string_view id) const { return join(order_, id); }  // order_details:{id}
  std::string user(std::string_view id) const { return join(user_, id); }
  std::string product(std::string_view id) const { return join(product_, id); }
  std::string user_orders(std::string_view id) const { return join(user_orders_, id); }
  std::string user_latest(std::string_view id) const { return join(user_latest_, id); }
  std::string product_orders(std::string_view id) const { return join(product_orders_, id); }
  // What precedes an id in an order's, a product's or a user's key: the SCAN of every order strips it,
  // a page read by SORT ... GET appends `*->field` to it.
  const std::string& order_stem() const { return order_; }
  const std::string& product_stem() const { return product_; }
  const std::string& user_stem() const { return user_; }

  const std::string& top_products() const { return top_products_; }
  const std::string& users() const { return users_; }        // the set of every user id
  const std::string& products() const { return products_; }  // the set of every product id
  const std::string& checkpoint() const { return checkpoint_; }
  // Each applied transaction's position is published here after its EXEC (readers waiting
  // for a write token subscribe to it).
  const std::string& channel() const { return channel_; }

  // A SCAN MATCH pattern for the keys whose names start with stem (one of the stems above).
  std::string pattern(std::string_view stem) const;
  // Everything of this generation a rebuild deletes: the patterns of the per-entity families
  // (older layouts' included) and the single keys. The checkpoint is no generation's.
  std::vector<std::string> rebuild_patterns() const;
  std::vector<std::string> rebuild_singles() const;
  // Whether key is a read model of any generation under this prefix: what a copy into a Redis
  // without a checkpoint deletes, since no checkpoint says which generations exist.
  bool names_read_model(std::string_view key) const;

 private:
  static std::string join(const std::string& stem, std::string_view id);  // one allocation

  std::string prefix_;
  uint64_t generation_;
  std::string order_, user_, product_, user_orders_, user_latest_, product_orders_;
  std::string top_products_, users_, products_, checkpoint_, channel_;
};

// Why a --key-prefix cannot be used ("" if it can): it must be at most 64 bytes of letters,
// digits and _ . : -, so that it needs no escape in a SCAN pattern or an ACL key pattern and
// leaves the braces of Redis Cluster's hash tags free.
std::string key_prefix_problem(std::string_view prefix);

}  // namespace pgcqrs::sidecar
