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

}  // namespace pgcqrs
