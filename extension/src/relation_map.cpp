// PostgreSQL zone: the OID-keyed cache of write-model tables and of the tables registered read
// models read (see relation_map.h).
#include "relation_map.h"

#include "pg_headers.h"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "commands/trigger.h"
#include "nodes/bitmapset.h"
#include "utils/jsonb.h"
#include "utils/fmgroids.h"
#include "utils/relcache.h"

PG_FUNCTION_INFO_V1(pgcqrs_read_models_changed);
Datum pgcqrs_read_models_changed(PG_FUNCTION_ARGS);
}

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
    // The plan (jsonb) is read as its output text.
    {Table::ReadModels, "read_models", 3,
     {{"name", ColumnType::Text, TEXTOID}, {"key", ColumnType::Text, TEXTOID}, {"plan", ColumnType::Text, JSONBOID}}},
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

// Adds to info the columns that the plan of one registered model reads from rel: those its
// "tables" entry for rel lists under "reads" (read_model.cpp writes them).
void add_model_columns(Relation rel, Jsonb* plan, RelationInfo* info) {
  JsonbValue tables;
  if (!getKeyJsonValueFromContainer(&plan->root, "tables", 6, &tables) || tables.type != jbvBinary) return;
  size_t name_len = strlen(info->qualified_name);
  for (uint32 i = 0;; ++i) {
    JsonbValue* table = getIthJsonbValueFromContainer(tables.val.binary.data, i);
    if (table == nullptr) break;
    JsonbValue name, reads;
    if (table->type != jbvBinary || !getKeyJsonValueFromContainer(table->val.binary.data, "table", 5, &name) ||
        name.type != jbvString || static_cast<size_t>(name.val.string.len) != name_len ||
        memcmp(name.val.string.val, info->qualified_name, name_len) != 0 ||
        !getKeyJsonValueFromContainer(table->val.binary.data, "reads", 5, &reads) || reads.type != jbvBinary)
      continue;
    for (uint32 k = 0;; ++k) {
      JsonbValue* column = getIthJsonbValueFromContainer(reads.val.binary.data, k);
      if (column == nullptr) break;
      if (column->type != jbvString) continue;
      char* column_name = pnstrdup(column->val.string.val, column->val.string.len);
      AttrNumber attnum = get_attnum(RelationGetRelid(rel), column_name);
      if (attnum == InvalidAttrNumber) continue;
      int at = 0;
      while (at < info->nmodel_columns && info->model_attnum[at] < attnum) ++at;
      if (at < info->nmodel_columns && info->model_attnum[at] == attnum) continue;
      if (info->nmodel_columns == max_model_columns) return;
      memmove(&info->model_attnum[at + 1], &info->model_attnum[at],
              sizeof(AttrNumber) * (info->nmodel_columns - at));
      info->model_attnum[at] = attnum;
      ++info->nmodel_columns;
    }
  }
}

// The schema of the extension (PostgreSQL 15 has no function for it).
Oid extension_schema(Oid extension) {
  Relation catalog = table_open(ExtensionRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(extension));
  SysScanDesc scan = systable_beginscan(catalog, ExtensionOidIndexId, true, nullptr, 1, &key);
  HeapTuple tuple = systable_getnext(scan);
  Oid schema = HeapTupleIsValid(tuple) ? reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extnamespace
                                       : InvalidOid;
  systable_endscan(scan);
  table_close(catalog, AccessShareLock);
  return schema;
}

// The columns registered read models read from rel, as of the snapshot decoding runs in:
// read_models is a user catalog table, so a model counts from the commit that registered it.
void build_models(Relation rel, Oid extension, RelationInfo* info) {
  info->nmodel_columns = 0;
  Oid catalog = get_relname_relid("read_models", extension_schema(extension));
  if (!OidIsValid(catalog) || catalog == RelationGetRelid(rel)) return;  // pgcqrs 1.0, or the catalog itself
  AttrNumber plan_attnum = get_attnum(catalog, "plan");
  if (plan_attnum == InvalidAttrNumber) return;
  snprintf(info->qualified_name, sizeof info->qualified_name, "%s",
           quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)));
  Relation models = table_open(catalog, AccessShareLock);
  SysScanDesc scan = systable_beginscan(models, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    bool isnull;
    Datum plan = heap_getattr(tuple, plan_attnum, RelationGetDescr(models), &isnull);
    if (!isnull) add_model_columns(rel, DatumGetJsonbP(plan), info);
  }
  systable_endscan(scan);
  table_close(models, AccessShareLock);
  if (info->nmodel_columns == 0) return;
  // The old image holds the replica identity's columns: all of them under FULL.
  bool full = rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL;
  Bitmapset* identity = full ? nullptr : RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
  for (int c = 0; c < info->nmodel_columns; ++c)
    info->model_in_identity[c] =
        full || bms_is_member(info->model_attnum[c] - FirstLowInvalidHeapAttributeNumber, identity);
}

void build(Relation rel, RelationInfo* info) {
  info->table = Table::None;
  info->ncolumns = 0;
  info->nmodel_columns = 0;
  Oid extension = get_extension_oid("pgcqrs", true);
  if (!OidIsValid(extension)) return;
  if (getExtensionOfObject(RelationRelationId, RelationGetRelid(rel)) != extension)
    return build_models(rel, extension, info);
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
    // Models may read the write model too: its rows go beside its domain events.
    if (spec.table != Table::ReadModels) build_models(rel, extension, info);
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

// The AFTER trigger of read_models: a model registered or dropped changes which tables the
// plugin reads and how. Invalidating every relcache entry makes each backend, and decoding at
// this transaction's commit, build the entries again (relation_map's callback).
Datum pgcqrs_read_models_changed(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("pgcqrs: read_models_changed() runs as a trigger only")));
  CacheInvalidateRelcacheAll();
  return PointerGetDatum(nullptr);
}
