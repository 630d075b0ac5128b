// The oracle's view of the read models: what the write model implies (built from rows read
// with SQL) and what Redis holds, as plain key -> value maps, and their differences. Pure
// logic; it knows the documented layout (docs/read-models.md), nothing of the projection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pgcqrs::sidecar::verify {

struct KeyValue {
  enum class Type { Hash, ZSet, Set, List, Other };
  Type type = Type::Other;
  std::map<std::string, std::string> hash;
  std::map<std::string, std::string> zset;  // member -> score, as Redis prints it
  std::set<std::string> set;
  std::vector<std::string> list;  // JSON documents, compared as JSON
};
using Model = std::map<std::string, KeyValue>;

// Write-model rows as the oracle reads them with SQL (timestamps already ISO-8601 UTC text,
// money as numeric text).
struct UserRow { int64_t id; std::string name, email; bool is_active; };
struct ProductRow { int64_t id; std::string name, price; bool is_active; };
struct OrderRow {
  int64_t id, user_id;
  std::string status, created_at, updated_at;
  std::optional<int64_t> created_ms;  // empty for infinite timestamps (created_at says which)
};
struct ItemRow { int64_t order_id, product_id; int64_t quantity; std::string unit_price; };

struct WriteModel {
  std::vector<UserRow> users;
  std::vector<ProductRow> products;
  std::vector<OrderRow> orders;
  std::vector<ItemRow> items;
};

// The read models (query keys and documented auxiliary keys) the write model implies.
// Hash fields named "lsn" are not part of it: they are checked against the checkpoint
// (a hash's lsn is the commit LSN of the last transaction that changed it, or the copy's
// consistent point; PostgreSQL 15 cannot say which commit last changed a row, so the oracle
// checks the bound it can: no hash is ahead of the checkpoint).
Model expected_model(const WriteModel& wm);

// Whether a Redis key belongs to the documented layout (so its absence from the expected
// model makes it a key that should not exist). Keys of other applications are left alone.
bool is_read_model_key(const std::string& key);

struct CompareOptions {
  std::optional<uint64_t> checkpoint;  // every hash's lsn must be <= this
  // The hashes of a declarative read model (docs/read-models.md, "In Redis"): exactly the
  // fields expected (no lsn, no JSON), and every key read that no row of the view names is
  // one too many.
  bool declared = false;
};

using Fields = std::map<std::string, std::string>;

// The differences of pgcqrs:checkpoint (its fields, as HGETALL reads them) from a checkpoint
// that has caught up and holds a valid read model (docs/read-models.md): an LSN, the slot
// followed (one of `slots`, the pgcqrs slots of the database), the layout this oracle knows,
// when it was written; no `dirty` mark (a call
// stopped midway: the read models may hold part of a transaction) and no `partial_*` fields
// (a transaction or a fan-out half applied); no field the layout does not document.
std::vector<std::string> check_checkpoint(const Fields& checkpoint, const std::set<std::string>& slots,
                                          const std::string& key);

// Why a checkpoint does not (yet) vouch for the read models: empty when it does. While the
// sidecar streams, a `partial_*` field or a `dirty` mark is a state to wait out (the call
// goes on, a rebuild follows); the oracle reports it only if it stays.
std::string checkpoint_unsettled(const Fields& checkpoint);

// One line per difference, naming the key and field: "order_details:42 field total:
// expected \"24.98\", found \"23.98\"". Empty when Redis holds exactly what is expected.
std::vector<std::string> compare(const Model& expected, const Model& actual, const CompareOptions& options);

}  // namespace pgcqrs::sidecar::verify
