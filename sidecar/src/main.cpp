// pgcqrs-sidecar entry point: parses flags and environment, sets up logging, dispatches.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pgcqrs/sidecar/app.hpp"
#include "pgcqrs/sidecar/config.hpp"

int main(int argc, char** argv) {
  // hiredis writes to sockets without MSG_NOSIGNAL: a Redis that closes the connection
  // must surface as an error to reconnect from, not a SIGPIPE that kills us silently.
  std::signal(SIGPIPE, SIG_IGN);
  using namespace pgcqrs::sidecar;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto result = parse_config(
      args,
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
      },
      [](const std::string& path) -> std::optional<std::string> {
        std::ifstream in(path);
        if (!in) return std::nullopt;
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
      });
  if (!result.config) {
    if (result.error == "help") {
      std::cout << usage();
      return 0;
    }
    std::cerr << "pgcqrs-sidecar: " << result.error << "\n";
    return 2;
  }
  const Config& config = *result.config;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  if (config.command == "status") return status(config);
  if (config.command == "verify") return run_verify(config);
  return run(config);
}
