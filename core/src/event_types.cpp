// Event names to types (see event_types.hpp).
#include "pgcqrs/core/event_types.hpp"

namespace pgcqrs {

std::optional<EventType> domain_event_type(std::string_view name) {
  for (std::size_t i = 0; i < domain_event_names.size(); ++i)
    if (domain_event_names[i] == name) return static_cast<EventType>(i);
  return std::nullopt;
}

bool is_reserved_event_type(std::string_view type) {
  return type == begin_message || type == commit_message || type == invalid_message || type == row_inserted ||
         type == row_updated || type == row_deleted || type == rows_truncated || type == read_model_registered ||
         type == read_model_replaced || type == read_model_dropped || domain_event_type(type).has_value();
}

}  // namespace pgcqrs
