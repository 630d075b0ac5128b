// PostgreSQL zone: the analysis of a declarative read model's view, shared by read_model.cpp
// (the view's shape, its tables, filters and key, and the plan) and read_model_aggregates.cpp
// (grouped models and nested child rows). Every refusal is an ereport: plain C calls only.
#pragma once

#include "pg_headers.h"

extern "C" {
#include "nodes/parsenodes.h"
}

namespace pgcqrs::read_model {

#define ERRCODE_PGCQRS_READ_MODEL MAKE_SQLSTATE('C', 'Q', '0', '0', '8')

constexpr int max_tables = 16;   // a root and 15 lookups: more is a schema to rethink
constexpr int max_view_columns = 256;
constexpr int max_filters = 32;
constexpr int max_fields = 32;   // of a nested array's objects, and of its ORDER BY

// A table of the view's FROM, in join order: the root first, then each lookup.
struct ModelTable {
  Index rti;      // its range table index in the view's query
  Oid relid;
  int via;        // the table (index into tables) a lookup's key is read from; -1 for the root
  bool left;      // LEFT JOIN (the root's row stays without a match), else INNER
  Oid key_index;  // the root's primary key, or the lookup's unique index the join matches
  int nkeys;
  AttrNumber key[INDEX_MAX_KEYS];  // the key's columns, in the index's order
  AttrNumber from[INDEX_MAX_KEYS]; // a lookup: the column of `via` each key column equals;
                                   // nested rows: the root's primary key, in `parent`'s order
  bool nested;                     // child rows of the root, nested in its row (key: their primary key)
  int nparent;
  AttrNumber parent[INDEX_MAX_KEYS];  // nested rows: the columns that name their root row
};

struct Column {
  const char* name;       // the view's column
  int table;
  AttrNumber attno;       // 0: count(*), which reads no column
  const char* aggregate;  // a grouped model's "count" or "sum" of the column; nullptr: the column
  Oid type;               // an aggregate's result type
  int scale;              // sum: the decimals of its values and of its total
  // Nested child rows (table: theirs): "array" (jsonb_agg of an object per row), "count" or
  // "sum" (of attno); nullptr: none.
  const char* nested;
  int nfields;
  const char* field_key[max_fields];  // array: each object's keys and the columns they hold
  AttrNumber field[max_fields];
  int norder;
  AttrNumber order[max_fields];       // array: its ORDER BY
  bool order_desc[max_fields];
  bool empty_array;                   // coalesce(..., '[]'): no child row is [] (else NULL)
};

struct Filter {
  int table;
  AttrNumber attno;
  const char* op;   // "=", "<>", "in", "not in", "is null", "is not null"
  List* values;     // of char*: the constants as their type's text
};

struct Analysis {
  const char* view_name;
  Query* query;
  ModelTable tables[max_tables];
  int ntables;
  Column columns[max_view_columns];
  int ncolumns;
  Filter filters[max_filters];
  int nfilters;
  bool grouped;                      // GROUP BY: a row per group of root rows
  int ngroup;
  AttrNumber group[INDEX_MAX_KEYS];  // the root's GROUP BY columns, in GROUP BY order
  int nkey;
  AttrNumber key[INDEX_MAX_KEYS];    // the model's key: the root's primary key, or the group
};

// Every refusal: the view, what in it cannot be kept exactly, and what to do instead.
void refuse(const Analysis& a, const char* hint, const char* fmt, ...) pg_attribute_printf(3, 4) pg_attribute_noreturn();
const char* table_name(Oid relid);
const char* column_name(const Analysis& a, int table, AttrNumber attno);
// The table and column a view expression reads, when it is a plain column of a table of this
// query (through a join's merged USING column too); false for anything else.
bool column_of(const Analysis& a, Node* expr, int* table, AttrNumber* attno);
// A table the model reads: refused unless its changes reach the stream and name their row.
void check_table(Analysis& a, Index rti, RangeTblEntry* rte);
// The columns of a unique index into t's key; false if it is not a plain unique key.
bool read_unique_key(Oid index, ModelTable& t, bool* primary);
bool text_equality_is_exact(Oid type, Oid collation);
char* const_text(const Analysis& a, Const* c);
Node* strip(Node* node);
// One ANDed condition of a WHERE (`where`, for messages) into a.filters: of the view (child 0),
// or of the subquery nesting table `child`, whose range table index there is child_rti.
void add_filter(Analysis& a, Node* cond, int child, Index child_rti, const char* where);

// read_model_aggregates.cpp
void add_aggregate(Analysis& a, Column& c, Aggref* agg);
void add_groups(Analysis& a);
void add_nested(Analysis& a, Column& c, Node* expr);

}  // namespace pgcqrs::read_model
