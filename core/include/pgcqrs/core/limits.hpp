// The size limits of the event contract (docs/events.md, "Limits"): what keeps every message
// the plugin writes far below PostgreSQL's 1 GB string limit, whatever the data.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <cstddef>

namespace pgcqrs {

// A text value is sent as at most this many bytes of UTF-8 (before JSON escaping, which at
// most multiplies it by 6); a longer one is cut at a character boundary and marked.
inline constexpr std::size_t max_text_bytes = 1 << 20;

// An application message (pg_logical_emit_message) of more bytes is an InvalidMessage.
inline constexpr std::size_t max_message_bytes = 1 << 20;

// OrderPlaced folds items only while their rendered JSON is below this size (and fewer than
// EventWriter::max_folded_items); later items arrive as OrderItemAdded.
inline constexpr std::size_t max_folded_bytes = 1 << 20;

}  // namespace pgcqrs
