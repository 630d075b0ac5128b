// The sidecar's log: one line per record on stderr (stdout carries `status` and `verify`
// results), as text or as one JSON object per line for log shippers.
#pragma once

#include <string>

namespace pgcqrs::sidecar {

// level: trace, debug, info, warn, error; format: text or json (validated by parse_config).
void setup_logging(const std::string& level, const std::string& format);

// A JSON string literal (quotes included) of s: log messages quote server errors verbatim.
std::string json_string(const std::string& s);

}  // namespace pgcqrs::sidecar
