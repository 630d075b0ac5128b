// PostgreSQL zone: which write-model table a relation is, and where its columns are. Cached by
// relation OID and invalidated by relcache callbacks, so DDL (an added column, DROP and
// CREATE EXTENSION) is followed without comparing names on every change.
#pragma once

#include "pg_headers.h"

namespace pgcqrs {

// ReadModels: the catalog of declarative read models, whose rows the stream reports as
// registrations and drops.
enum class Table : uint8 { None, Users, Products, Orders, OrderItems, ReadModels };

// The value types pgcqrs reads natively; any other column type is printed with its output
// function.
enum class ColumnType : uint8 { Int8, Int4, Bool, Text, Numeric, TimestampTz };

constexpr int max_columns = 5;
// The most columns of one table registered read models read (read_model.cpp refuses more).
constexpr int max_model_columns = 256;

struct RelationInfo {
  Table table;
  int ncolumns;
  AttrNumber attnum[max_columns];  // InvalidAttrNumber when the column does not exist
  Oid typid[max_columns];
  ColumnType expected[max_columns];
  // A table that registered read models read (docs/read-models.md), the write model's
  // included: the columns they read, in table order, and which of them the old row image of
  // an UPDATE or DELETE holds (the replica identity's). nmodel_columns is 0 for any other table.
  int nmodel_columns;
  AttrNumber model_attnum[max_model_columns];
  bool model_in_identity[max_model_columns];
  char qualified_name[2 * NAMEDATALEN + 8];  // "schema"."table", quoted as a plan names it
};

// Registers the relcache callback; call once per backend, from _PG_init.
void relation_map_init();

// The entry for rel; table is Table::None for every relation outside the write model. Read
// while decoding, it reflects the read models registered as of the change being decoded.
const RelationInfo* relation_info(Relation rel);

}  // namespace pgcqrs
