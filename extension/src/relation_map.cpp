// PostgreSQL zone: the OID-keyed cache of write-model tables (see relation_map.h).
#include "relation_map.h"

#include "pg_headers.h"

namespace pgcqrs {
namespace {

struct Column {
  const char* name;
  ColumnType type;
  Oid typid;
};

struct TableSpec {
  Table table;
  const char* name;
  int ncolumns;
  Column columns[max_columns];
};

// Column order here is the order row_image.cpp reads them in.
const TableSpec specs[] = {
    {Table::Users, "users", 5,
     {{"id", ColumnType::Int8, INT8OID},
      {"name", ColumnType::Text, TEXTOID},
      {"email", ColumnType::Text, TEXTOID},
      {"is_active", ColumnType::Bool, BOOLOID},
      {"created_at", ColumnType::TimestampTz, TIMESTAMPTZOID}}},
    {Table::Products, "products", 4,
     {{"id", ColumnType::Int8, INT8OID},
      {"name", ColumnType::Text, TEXTOID},
      {"price", ColumnType::Numeric, NUMERICOID},
      {"is_active", ColumnType::Bool, BOOLOID}}},
    {Table::Orders, "orders", 5,
     {{"id", ColumnType::Int8, INT8OID},
      {"user_id", ColumnType::Int8, INT8OID},
      {"status", ColumnType::Text, TEXTOID},
      {"created_at", ColumnType::TimestampTz, TIMESTAMPTZOID},
      {"updated_at", ColumnType::TimestampTz, TIMESTAMPTZOID}}},
    {Table::OrderItems, "order_items", 4,
     {{"order_id", ColumnType::Int8, INT8OID},
      {"product_id", ColumnType::Int8, INT8OID},
      {"quantity", ColumnType::Int4, INT4OID},
      {"unit_price", ColumnType::Numeric, NUMERICOID}}},
};

struct Entry {
  Oid relid;  // hash key
  bool valid;
  RelationInfo info;
};

HTAB* cache = nullptr;

void invalidate(Datum, Oid relid) {
  if (cache == nullptr) return;
  HASH_SEQ_STATUS status;
  hash_seq_init(&status, cache);
  while (auto* entry = static_cast<Entry*>(hash_seq_search(&status))) {
    if (relid == InvalidOid || entry->relid == relid) entry->valid = false;
  }
}

void build(Relation rel, RelationInfo* info) {
  info->table = Table::None;
  info->ncolumns = 0;
  Oid extension = get_extension_oid("pgcqrs", true);
  if (!OidIsValid(extension) ||
      getExtensionOfObject(RelationRelationId, RelationGetRelid(rel)) != extension)
    return;
  const char* relname = RelationGetRelationName(rel);
  for (const TableSpec& spec : specs) {
    if (strcmp(relname, spec.name) != 0) continue;
    info->table = spec.table;
    info->ncolumns = spec.ncolumns;
    TupleDesc desc = RelationGetDescr(rel);
    for (int c = 0; c < spec.ncolumns; ++c) {
      info->attnum[c] = InvalidAttrNumber;
      info->typid[c] = InvalidOid;
      info->expected[c] = spec.columns[c].type;
      for (int a = 0; a < desc->natts; ++a) {
        Form_pg_attribute attr = TupleDescAttr(desc, a);
        if (!attr->attisdropped && strcmp(NameStr(attr->attname), spec.columns[c].name) == 0) {
          info->attnum[c] = attr->attnum;
          info->typid[c] = attr->atttypid;
          break;
        }
      }
    }
    return;
  }
}

}  // namespace

void relation_map_init() {
  CacheRegisterRelcacheCallback(invalidate, (Datum)0);
}

const RelationInfo* relation_info(Relation rel) {
  if (cache == nullptr) {
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(Entry);
    ctl.hcxt = CacheMemoryContext;
    cache = hash_create("pgcqrs relation map", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  }
  Oid relid = RelationGetRelid(rel);
  bool found;
  auto* entry = static_cast<Entry*>(hash_search(cache, &relid, HASH_ENTER, &found));
  if (!found || !entry->valid) {
    entry->valid = false;
    build(rel, &entry->info);
    entry->valid = true;
  }
  return &entry->info;
}

}  // namespace pgcqrs
