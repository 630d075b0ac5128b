// The sidecar's log: one line per record on stderr (stdout carries `status` and `verify`
// results), as text or as one JSON object per line for log shippers.
#pragma once

#include <string>

namespace pgcqrs::sidecar {

// level: trace, debug, info, warn, error; format: text or json (validated by parse_config).
void setup_logging(const std::string& level, const std::string& format);

}  // namespace pgcqrs::sidecar
