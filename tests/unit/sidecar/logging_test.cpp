#include "pgcqrs/sidecar/logging.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

using pgcqrs::sidecar::make_logger;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

// --log-format json (docs/sidecar.md): one JSON object per line with exactly the fields time,
// level and message, whatever the message holds.
TEST(Logging, JsonFormatIsOneObjectPerLineWithTheDocumentedFields) {
  std::ostringstream out;
  auto logger = make_logger("debug", "json", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->info("streaming slot {} into Redis", "pgcqrs");
  logger->warn("a \"quoted\" name, a back\\slash and a\nline break");
  logger->critical("invalid UTF-8 from a server: \xff\xfe end");
  logger->debug("tab\there");
  logger->trace("not logged at debug level");
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  const std::vector<std::pair<std::string, std::string>> want = {
      {"info", "streaming slot pgcqrs into Redis"},
      {"warning", "a \"quoted\" name, a back\\slash and a\nline break"},
      {"critical", "invalid UTF-8 from a server: \xef\xbf\xbd\xef\xbf\xbd end"},
      {"debug", "tab\there"}};
  const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i]);  // throws if a line is not JSON
    ASSERT_TRUE(j.is_object()) << lines[i];
    EXPECT_EQ(j.size(), 3u) << lines[i];
    EXPECT_TRUE(std::regex_match(j.at("time").get<std::string>(), time)) << lines[i];
    EXPECT_EQ(j.at("level"), want[i].first) << lines[i];
    EXPECT_EQ(j.at("message"), want[i].second) << lines[i];
  }
}

TEST(Logging, TextFormatIsTimeLevelMessage) {
  std::ostringstream out;
  auto logger = make_logger("info", "text", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->warn("Redis has no append-only file");
  logger->debug("not logged at info level");
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning Redis has no append-only file)")))
      << lines[0];
}
