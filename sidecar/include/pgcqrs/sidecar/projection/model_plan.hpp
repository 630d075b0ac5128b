// A declarative read model's plan (docs/read-models.md, "Declarative read models"), as the
// extension's analysis wrote it and the stream carried it, and what the projector derives
// from it: a row's identity, the Redis key of its hash, whether it passes the filters.
// Pure logic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/projection/row_event.hpp"

namespace pgcqrs::sidecar::projection {

struct ModelPlan {
  enum class Join { Root, Left, Inner, Nested };
  struct Table {
    std::string name;               // qualified, as the row events name it
    Join join = Join::Root;
    std::vector<std::string> key;   // the unique key it is matched on (the root: its primary key)
    std::vector<std::string> reads; // the columns the model reads
    int via = -1;                   // a lookup: the table it is looked up from
    std::vector<std::string> from;  // a lookup: via's columns, in key's order; nested: the root's, in parent's
    std::vector<std::string> parent;  // nested child rows: their columns that name their root row
    bool copied = false;  // nested: a column reads the children's values, not only their count
  };
  struct Column {
    enum class Aggregate { None, Count, Sum };
    std::string name;  // the view's
    int table = 0;
    std::string column;  // empty: count(*)
    Aggregate aggregate = Aggregate::None;  // a grouped model's count or sum of the column
    int scale = 0;                          // Sum: the decimals of the values and of the total
    // Nested child rows (table: theirs): a JSON array of an object per row, their count, or
    // the sum, least or greatest value of column.
    enum class Nested { None, Array, Count, Sum, Min, Max };
    enum class Json { Number, String, Boolean };
    struct Field {
      std::string key, column;
      Json json = Json::String;
    };
    struct Order {
      std::string column;  // an integer column
      bool desc = false;
    };
    Nested nested = Nested::None;
    std::vector<Field> fields;  // Array: each object's keys and the columns they hold
    std::vector<Order> order;   // Array: the rows' order (total, with the parent columns)
    bool empty_array = false;   // Array: no child row is [] (else no field, NULL)
  };
  struct Filter {
    enum class Op { Eq, Ne, In, NotIn, IsNull, IsNotNull };
    int table = 0;       // the root, or a nested table (its child rows are filtered)
    std::string column;
    Op op = Op::Eq;
    std::vector<std::string> values;
  };
  // The key template cut at its placeholders: literal text, then the index in tables[0].key
  // of the column the placeholder names (-1 after the last literal).
  struct Piece {
    std::string literal;
    int key = -1;
  };

  std::string name, key;
  int64_t version = 1;             // 1 at registration, one more at each replacement
  std::vector<std::string> group;  // a grouped model's GROUP BY columns of the root; empty: a row per root row
  std::string rank;                // a column scoring each row (group) in the model's sorted sets; empty: none
  std::vector<Table> tables;       // the root first
  std::vector<Column> columns;
  std::vector<Filter> filters;
  std::vector<Piece> pieces;

  bool grouped() const { return !group.empty(); }
  // What the key's placeholders name, and an identity is made of: a grouped model's group
  // columns, or the root's primary key.
  const std::vector<std::string>& key_columns() const { return grouped() ? group : tables.at(0).key; }
};

// The plan of model `name` from its JSON; nullopt with `error` saying what is wrong.
std::optional<ModelPlan> parse_plan(std::string_view name, std::string_view json, std::string& error);

// A row's identity under a key (columns): one value's text, or several as a JSON array of
// strings; nullopt when a column is NULL or absent (no row matches a NULL key).
std::optional<std::string> identity(const RowValues& row, const std::vector<std::string>& columns);
// The values an identity holds, in the key's order.
std::vector<std::string> identity_values(std::string_view identity, size_t columns);

// The bucket (0..63) of an identity: an integer's id mod 64, as the built-in models' keys
// (keys.hpp); any other text by its FNV-1a hash.
int identity_bucket(std::string_view identity);

// The key of the model's hash for the root row (a grouped model: the group) of identity id, after scope (the prefix and
// the generation): the template with each placeholder replaced by its value, the first
// preceded by the row's bucket as a hash tag (`card:{id}` -> `card:{42}:42`), so that on a
// cluster a row's keys share a slot.
std::string model_key(const ModelPlan& plan, std::string_view scope, const std::string& id);

// What every hash of the model starts with after the prefix and the generation: the key
// template's text before its first placeholder, and the brace of the bucket's hash tag
// (`card:{` for `card:{id}`).
std::string key_stem(const ModelPlan& plan);

// The models in a registry's fields (name -> plan JSON) whose plans read; a plan that does
// not is skipped (it never wrote a key).
std::vector<ModelPlan> plans_of(const std::vector<std::pair<std::string, std::string>>& registry);

// A ranked model's sorted set of bucket b, after scope: the key template's text before its
// first placeholder, then the bucket in braces (`card:{17}`, beside the hashes `card:{17}:42`),
// so that a row's hash and its place in the ranking share a slot on a cluster.
std::string rank_key(const ModelPlan& plan, std::string_view scope, int bucket);
// A rank column's text as a sorted set's score (PostgreSQL's infinities as Redis's); nullopt
// for what ranks nowhere: NaN, or no number.
std::optional<std::string> rank_score(std::string_view value);

// A nested column's value for a root row's child rows (each as the columns the plan reads):
// the JSON array as PostgreSQL's jsonb prints it (objects' keys shorter first, then in byte
// order; `, ` and `: ` between), their count, or their sum, least or greatest value (NaN
// above every number, as PostgreSQL orders it); nullopt for NULL.
std::optional<std::string> nested_value(const ModelPlan::Column& column, std::vector<RowValues> children);

// Whether a row of table (the root, or a nested table's child) passes every filter on it.
bool passes(const ModelPlan& plan, const RowValues& row, int table = 0);

}  // namespace pgcqrs::sidecar::projection
