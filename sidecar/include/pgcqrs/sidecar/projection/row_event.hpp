// The events of declarative read models (docs/events.md, "Row events") as the projector
// receives them: a row of a table that models read, a TRUNCATE of such tables, a model
// registered or dropped. Values are kept as text: a string as it arrived, a number as
// written, a boolean as PostgreSQL prints it ("t", "f"), so that a filter's constant (the
// plan's text) compares with it as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgcqrs::sidecar::projection {

// A row's columns by name, in the order they arrived; nullopt is SQL NULL.
using RowValues = std::vector<std::pair<std::string, std::optional<std::string>>>;

// The column's value: nullptr when the row does not carry it, else its text or nullopt.
const std::optional<std::string>* find_value(const RowValues& row, std::string_view column);

struct RowEvent {
  enum class Kind { Inserted, Updated, Deleted, Truncated, Registered, Replaced, Dropped };
  Kind kind = Kind::Inserted;
  int64_t seq = 0;
  std::string table;                 // Inserted, Updated, Deleted: the qualified name
  RowValues row;                     // Inserted, Updated
  std::optional<RowValues> old;      // Updated (when logged), Deleted
  std::vector<std::string> unchanged;  // Updated: TOAST columns left as they were
  std::vector<std::string> tables;   // Truncated
  std::string name;                  // Registered, Replaced, Dropped: the model
  std::string plan;                  // Registered, Replaced: the plan, as JSON text
  bool operator==(const RowEvent&) const = default;
};

// The event's name in the stream ("RowInserted", ...).
std::string_view type_name(RowEvent::Kind kind);

// What an event holds in memory: the measure of a batch's size.
size_t footprint(const RowEvent& e);

// Reads a message whose type is one of the six above; "" or what is wrong with it.
std::string parse_row_event(std::string_view json, std::string_view type, RowEvent& out);

}  // namespace pgcqrs::sidecar::projection
