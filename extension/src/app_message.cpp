// The check of an application event's payload: core's strict JSON reader (the one the sidecar
// reads the stream with), keeping only the top-level "type".
#include "pgcqrs/app_message.hpp"
#include "pgcqrs/core/json_reader.hpp"

#include <list>
#include <string>

namespace pgcqrs {

AppMessageCheck check_app_message(std::string_view content) {
  AppMessageCheck result;
  std::list<std::string> decoded;
  json::Reader r(content, decoded);
  r.ws();
  if (r.at_end()) {
    result.reason = "payload is empty";
    return result;
  }
  if (!r.at('{')) {
    result.reason = "payload is not a JSON object";
    return result;
  }
  bool has_type = false;  // a later "type" member replaces an earlier one
  std::string type;
  bool read = r.object([&](std::string_view name) {
    if (name != "type") return r.value(nullptr);
    json::Value v;
    if (!r.value(&v)) return false;
    has_type = v.kind == json::Kind::String;
    type = has_type ? std::string(v.text) : std::string();
    return true;
  });
  if (read) {
    r.ws();
    if (!r.at_end()) read = r.fail("unexpected data after the JSON object");
  }
  if (!read) {
    result.reason = std::string("payload is not valid JSON: ") + r.error() +
                    (r.error_offset() >= content.size() ? " at end of input"
                                                        : " at byte " + std::to_string(r.error_offset()));
  } else if (!has_type) {
    result.reason = "payload has no \"type\" string member";
  } else if (type.empty()) {
    result.reason = "payload \"type\" is empty";
  } else if (is_reserved_event_type(type)) {
    result.reason = "payload \"type\" \"" + type + "\" is reserved for pgcqrs events";
  } else {
    result.valid = true;
    result.type = std::move(type);
  }
  return result;
}

}  // namespace pgcqrs
