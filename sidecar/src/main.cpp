// pgcqrs-sidecar entry point: parses flags and environment, sets up logging, dispatches.
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "pgcqrs/sidecar/app.hpp"
#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/logging.hpp"

int main(int argc, char** argv) {
  // A server that closes the connection must surface as an error to reconnect from, never
  // as a SIGPIPE that kills us silently (Asio's sends pass MSG_NOSIGNAL; this covers the rest).
  std::signal(SIGPIPE, SIG_IGN);
  // Every batch allocates and frees a few MB (the batch's RESP, the view's working copy). With
  // glibc's defaults those blocks go back to the kernel and come back as fresh pages (page
  // faults, malloc_consolidate) batch after batch; kept in the heap, up to these bounds, they
  // are reused (bench/drain.sh: the sidecar's CPU per order, docs/benchmarks.md).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  using namespace pgcqrs::sidecar;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto result = parse_config(
      args,
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
      },
      read_file);
  if (!result.config) {
    if (result.error == "help") {
      std::cout << usage(result.help_command);
      return 0;
    }
    if (result.error == "version") {
      std::cout << version() << "\n";
      return 0;
    }
    std::cerr << "pgcqrs-sidecar: " << result.error << "\n";
    return 2;
  }
  for (const auto& w : result.warnings) std::cerr << "pgcqrs-sidecar: warning: " << w << "\n";
  const Config& config = *result.config;
  setup_logging(config.log_level, config.log_format);
  if (config.command == "status") return status(config);
  if (config.command == "verify") return run_verify(config);
  if (config.command == "rebuild") return ask_rebuild(config);
  return run(config);
}
