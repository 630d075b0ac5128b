// Validation of application events sent with pg_logical_emit_message(true, 'pgcqrs', ...).
#pragma once
#include "pgcqrs/core/pure.hpp"

#include "pgcqrs/core/event_types.hpp"  // is_reserved_event_type

#include <string>
#include <string_view>

namespace pgcqrs {

struct AppMessageCheck {
  bool valid = false;
  std::string type;    // the "type" member when valid
  std::string reason;  // why it is invalid, naming the problem
};

// Valid means: one JSON object (RFC 8259, UTF-8) whose "type" member is a non-empty string
// that is not a reserved event name.
AppMessageCheck check_app_message(std::string_view content);

}  // namespace pgcqrs
