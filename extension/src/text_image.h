// PostgreSQL zone: text as the event contract sends it (docs/events.md, "Limits and
// encodings"): valid UTF-8 of at most max_text_bytes, converted from the database encoding
// without ever raising, with what was cut or replaced recorded in the Value.
#pragma once

#include "pgcqrs/events.hpp"

#include "pg_headers.h"

namespace pgcqrs {

// A text value stored in the database encoding. The result borrows memory allocated in the
// current memory context, and keeps data as the value's identity (Value::stored).
Value text_image(const char* data, size_t len);

// Bytes meant to be UTF-8 (an application message): invalid bytes become U+FFFD.
Value utf8_image(const char* data, size_t len);

// A value that is not rendered at all (a changed column type stored in more than
// max_text_bytes): sent as "" marked as cut, with the stored bytes' size and digest.
Value unrendered_image(const char* data, size_t len);

}  // namespace pgcqrs
