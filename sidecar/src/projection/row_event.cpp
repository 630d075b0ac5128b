// Row events (row_event.hpp) from the plugin's JSON, with core's strict reader. A second pass
// over a message the first pass (event.cpp) classified: the domain events' fast path stays
// as it is.
#include "pgcqrs/sidecar/projection/row_event.hpp"

#include <list>

#include "pgcqrs/core/event_types.hpp"
#include "pgcqrs/core/json_reader.hpp"

namespace pgcqrs::sidecar::projection {

const std::optional<std::string>* find_value(const RowValues& row, std::string_view column) {
  for (const auto& [name, value] : row)
    if (name == column) return &value;
  return nullptr;
}

std::string_view type_name(RowEvent::Kind kind) {
  switch (kind) {
    case RowEvent::Kind::Inserted: return row_inserted;
    case RowEvent::Kind::Updated: return row_updated;
    case RowEvent::Kind::Deleted: return row_deleted;
    case RowEvent::Kind::Truncated: return rows_truncated;
    case RowEvent::Kind::Registered: return read_model_registered;
    case RowEvent::Kind::Replaced: return read_model_replaced;
    case RowEvent::Kind::Dropped: return read_model_dropped;
  }
  return "?";
}

size_t footprint(const RowEvent& e) {
  size_t n = sizeof e + e.table.size() + e.name.size() + e.plan.size();
  auto values = [&](const RowValues& row) {
    for (const auto& [name, value] : row) n += sizeof(RowValues::value_type) + name.size() + (value ? value->size() : 0);
  };
  values(e.row);
  if (e.old) values(*e.old);
  for (const auto& s : e.unchanged) n += sizeof s + s.size();
  for (const auto& s : e.tables) n += sizeof s + s.size();
  return n;
}

namespace {

using json::Kind;
using json::Reader;
using json::Value;

// A value's text at the reader's cursor: a string decoded, null as nullopt, anything else
// (a number, a boolean) as PostgreSQL would print it. Objects and arrays are no column's.
bool read_column(Reader& in, std::string_view input, std::optional<std::string>& out, std::string& error) {
  const size_t start = in.offset();
  Value v;
  if (!in.value(&v)) return false;
  switch (v.kind) {
    case Kind::Null: out.reset(); return true;
    case Kind::String: out = std::string(v.text); return true;
    case Kind::Bool: out = v.boolean ? "t" : "f"; return true;
    case Kind::Int:
    case Kind::Float: out = std::string(input.substr(start, in.offset() - start)); return true;
    default: error = "a column's value is an object or an array"; return false;
  }
}

bool read_row(Reader& in, std::string_view input, RowValues& row, std::string& error) {
  in.ws();
  if (!in.at('{')) {
    error = "a row is not an object";
    return false;
  }
  return in.object([&](std::string_view name) {
    row.emplace_back(std::string(name), std::nullopt);
    return read_column(in, input, row.back().second, error);
  });
}

bool read_strings(Reader& in, std::vector<std::string>& out, std::string& error) {
  in.ws();
  if (!in.at('[')) {
    error = "a list is not an array";
    return false;
  }
  return in.array([&] {
    Value v;
    if (!in.value(&v)) return false;
    if (v.kind != Kind::String) {
      error = "a list holds something other than strings";
      return false;
    }
    out.emplace_back(v.text);
    return true;
  });
}

}  // namespace

std::string parse_row_event(std::string_view input, std::string_view type, RowEvent& e) {
  e = RowEvent{};
  if (type == row_inserted) e.kind = RowEvent::Kind::Inserted;
  else if (type == row_updated) e.kind = RowEvent::Kind::Updated;
  else if (type == row_deleted) e.kind = RowEvent::Kind::Deleted;
  else if (type == rows_truncated) e.kind = RowEvent::Kind::Truncated;
  else if (type == read_model_registered) e.kind = RowEvent::Kind::Registered;
  else if (type == read_model_replaced) e.kind = RowEvent::Kind::Replaced;
  else if (type == read_model_dropped) e.kind = RowEvent::Kind::Dropped;
  else return std::string(type) + " is no row event";

  std::list<std::string> decoded;
  Reader in(input, decoded);
  std::string error;
  bool has_row = false, has_tables = false, has_plan = false;
  const bool ok = in.object([&](std::string_view member) {
    Value v;
    if (member == "seq") {
      if (!in.value(&v)) return false;
      e.seq = v.integer;
      return true;
    }
    if (member == "table" || member == "name") {
      if (!in.value(&v)) return false;
      if (v.kind != Kind::String) {
        error = "\"" + std::string(member) + "\" is not a string";
        return false;
      }
      (member == "table" ? e.table : e.name) = std::string(v.text);
      return true;
    }
    if (member == "row") return has_row = true, read_row(in, input, e.row, error);
    if (member == "old") return read_row(in, input, e.old.emplace(), error);
    if (member == "unchanged") return read_strings(in, e.unchanged, error);
    if (member == "tables") return has_tables = true, read_strings(in, e.tables, error);
    if (member == "plan") {
      in.ws();
      const size_t start = in.offset();
      if (!in.value(&v)) return false;
      if (v.kind != Kind::Object) {
        error = "\"plan\" is not an object";
        return false;
      }
      e.plan = std::string(input.substr(start, in.offset() - start));
      return has_plan = true;
    }
    return in.value(nullptr);
  });
  if (!ok) return error.empty() ? std::string("malformed JSON: ") + (in.error() ? in.error() : "?") : error;
  switch (e.kind) {
    case RowEvent::Kind::Inserted:
      if (e.table.empty() || !has_row) return std::string(type) + " has no \"table\" and \"row\"";
      break;
    case RowEvent::Kind::Updated:
      if (e.table.empty() || !has_row) return std::string(type) + " has no \"table\" and \"row\"";
      break;
    case RowEvent::Kind::Deleted:
      if (e.table.empty() || !e.old) return std::string(type) + " has no \"table\" and \"old\"";
      break;
    case RowEvent::Kind::Truncated:
      if (!has_tables) return std::string(type) + " has no \"tables\"";
      break;
    case RowEvent::Kind::Registered:
    case RowEvent::Kind::Replaced:
      if (e.name.empty() || !has_plan) return std::string(type) + " has no \"name\" and \"plan\"";
      break;
    case RowEvent::Kind::Dropped:
      if (e.name.empty()) return std::string(type) + " has no \"name\"";
      break;
  }
  return {};
}

}  // namespace pgcqrs::sidecar::projection
