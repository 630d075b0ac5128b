// Logger setup: stderr, UTC timestamps, text or JSON lines.
#include "pgcqrs/sidecar/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace pgcqrs::sidecar {
namespace {

// %* in the JSON pattern: the message as the inside of a JSON string.
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    // nlohmann's escaping, as pgcqrs-query's JSON; a server error may hold invalid UTF-8.
    std::string quoted = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& level, const std::string& format,
                                            spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("pgcqrs-sidecar", std::move(sink));
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(level));
  return logger;
}

void setup_logging(const std::string& level, const std::string& format) {
  spdlog::set_default_logger(make_logger(level, format, std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
}

}  // namespace pgcqrs::sidecar
