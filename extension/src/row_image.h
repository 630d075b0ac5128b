// PostgreSQL zone: reads a decoded heap tuple into the plain rows the event writer takes.
// Values borrow memory allocated in the current memory context (reset after each change).
#pragma once

#include "pgcqrs/events.hpp"

#include "pg_headers.h"
#include "relation_map.h"

namespace pgcqrs {

UserRow read_user(const RelationInfo& info, TupleDesc desc, HeapTuple tuple);
ProductRow read_product(const RelationInfo& info, TupleDesc desc, HeapTuple tuple);
OrderRow read_order(const RelationInfo& info, TupleDesc desc, HeapTuple tuple);
ItemRow read_item(const RelationInfo& info, TupleDesc desc, HeapTuple tuple);
ReadModelRow read_read_model(const RelationInfo& info, TupleDesc desc, HeapTuple tuple);

// The columns registered read models read from a row of their table (info.nmodel_columns of
// them, palloc'd): tuple's values (none when null) and old_tuple's for the replica identity's
// columns (none when old_tuple is null).
RowColumn* read_model_row(const RelationInfo& info, TupleDesc desc, HeapTuple tuple, HeapTuple old_tuple);

}  // namespace pgcqrs
