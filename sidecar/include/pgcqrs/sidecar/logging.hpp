// The sidecar's log: one line per record on stderr (stdout carries `status` and `verify`
// results), as text or as one JSON object per line for log shippers.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace pgcqrs::sidecar {

// level: trace, debug, info, warn, error; format: text or json (validated by parse_config).
// The default logger, on stderr.
void setup_logging(const std::string& level, const std::string& format);

// A logger writing to sink with the pattern of format (json: one object per line with the
// fields time, level and message).
std::shared_ptr<spdlog::logger> make_logger(const std::string& level, const std::string& format,
                                            spdlog::sink_ptr sink);

}  // namespace pgcqrs::sidecar
