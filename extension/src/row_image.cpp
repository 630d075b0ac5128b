// PostgreSQL zone: datums to plain values, without depending on any session setting.
#include "pgcqrs/core/limits.hpp"

#include "row_image.h"

#include "pg_headers.h"
#include "text_image.h"

namespace pgcqrs {
namespace {

// A varlena an UPDATE left in TOAST storage untouched: the decoder cannot fetch it, but the
// old row image (REPLICA IDENTITY FULL) holds the same value.
bool unchanged_toast(Datum d) {
  return VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d));
}

// A value as its type's output function prints it. A stored value over the text limit is not
// rendered: its text form could pass PostgreSQL's 1 GB limit.
Value output_text(Datum d, Form_pg_attribute attr, Oid typid) {
  if (attr->attlen == -1 && toast_raw_datum_size(d) - VARHDRSZ > max_text_bytes) {
    struct varlena* v = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
    return unrendered_image(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
  }
  Oid output;
  bool varlena;
  getTypeOutputInfo(typid, &output, &varlena);
  const char* text = OidOutputFunctionCall(output, d);
  return text_image(text, strlen(text));
}

Value read_value(const RelationInfo& info, int column, TupleDesc desc, HeapTuple tuple) {
  AttrNumber attnum = info.attnum[column];
  if (attnum == InvalidAttrNumber || attnum > desc->natts) return Value{};
  bool isnull;
  Datum d = heap_getattr(tuple, attnum, desc, &isnull);
  if (isnull) return Value::null();

  Form_pg_attribute attr = TupleDescAttr(desc, attnum - 1);
  if (attr->attlen == -1 && unchanged_toast(d)) return Value::unchanged();

  Oid typid = info.typid[column];
  switch (info.expected[column]) {
    case ColumnType::Int8:
      if (typid == INT8OID) return Value::integer(DatumGetInt64(d));
      break;
    case ColumnType::Int4:
      if (typid == INT4OID) return Value::integer(DatumGetInt32(d));
      break;
    case ColumnType::Bool:
      if (typid == BOOLOID) return Value::boolean(DatumGetBool(d));
      break;
    case ColumnType::Text:
      if (typid == TEXTOID || typid == VARCHAROID) {
        struct varlena* v = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
        return text_image(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
      }
      break;
    case ColumnType::Numeric:
      if (typid == NUMERICOID)
        return Value::decimal(DatumGetCString(DirectFunctionCall1(numeric_out, d)));
      break;
    case ColumnType::TimestampTz:
      if (typid == TIMESTAMPTZOID || typid == TIMESTAMPOID) return Value::timestamp(DatumGetInt64(d));
      break;
  }
  // A column whose type was altered: its own output function, as text.
  return output_text(d, attr, typid);
}

// Any column of a table a registered read model reads: integers and booleans as themselves,
// text as text, timestamptz as an instant, anything else as its type's output text.
Value read_any(TupleDesc desc, HeapTuple tuple, AttrNumber attnum) {
  if (attnum > desc->natts) return Value{};
  bool isnull;
  Datum d = heap_getattr(tuple, attnum, desc, &isnull);
  if (isnull) return Value::null();
  Form_pg_attribute attr = TupleDescAttr(desc, attnum - 1);
  if (attr->attlen == -1 && unchanged_toast(d)) return Value::unchanged();
  switch (attr->atttypid) {
    case INT2OID: return Value::integer(DatumGetInt16(d));
    case INT4OID: return Value::integer(DatumGetInt32(d));
    case INT8OID: return Value::integer(DatumGetInt64(d));
    case BOOLOID: return Value::boolean(DatumGetBool(d));
    case TIMESTAMPTZOID: return Value::timestamp(DatumGetInt64(d));
    case TEXTOID:
    case VARCHAROID: {
      struct varlena* v = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
      return text_image(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
    }
    default: return output_text(d, attr, attr->atttypid);
  }
}

}  // namespace

ReadModelRow read_read_model(const RelationInfo& info, TupleDesc desc, HeapTuple tuple) {
  return {read_value(info, 0, desc, tuple), read_value(info, 1, desc, tuple), read_value(info, 2, desc, tuple)};
}

RowColumn* read_model_row(const RelationInfo& info, TupleDesc desc, HeapTuple tuple, HeapTuple old_tuple) {
  auto* columns = static_cast<RowColumn*>(palloc0(sizeof(RowColumn) * info.nmodel_columns));
  for (int c = 0; c < info.nmodel_columns; ++c) {
    AttrNumber attnum = info.model_attnum[c];
    columns[c].name = NameStr(TupleDescAttr(desc, attnum - 1)->attname);
    if (tuple) columns[c].value = read_any(desc, tuple, attnum);
    // The old image's other columns are NULL placeholders, not values.
    if (old_tuple && info.model_in_identity[c]) columns[c].old_value = read_any(desc, old_tuple, attnum);
  }
  return columns;
}

UserRow read_user(const RelationInfo& info, TupleDesc desc, HeapTuple tuple) {
  return {read_value(info, 0, desc, tuple), read_value(info, 1, desc, tuple),
          read_value(info, 2, desc, tuple), read_value(info, 3, desc, tuple),
          read_value(info, 4, desc, tuple)};
}

ProductRow read_product(const RelationInfo& info, TupleDesc desc, HeapTuple tuple) {
  return {read_value(info, 0, desc, tuple), read_value(info, 1, desc, tuple),
          read_value(info, 2, desc, tuple), read_value(info, 3, desc, tuple)};
}

OrderRow read_order(const RelationInfo& info, TupleDesc desc, HeapTuple tuple) {
  return {read_value(info, 0, desc, tuple), read_value(info, 1, desc, tuple),
          read_value(info, 2, desc, tuple), read_value(info, 3, desc, tuple),
          read_value(info, 4, desc, tuple)};
}

ItemRow read_item(const RelationInfo& info, TupleDesc desc, HeapTuple tuple) {
  return {read_value(info, 0, desc, tuple), read_value(info, 1, desc, tuple),
          read_value(info, 2, desc, tuple), read_value(info, 3, desc, tuple)};
}

}  // namespace pgcqrs
