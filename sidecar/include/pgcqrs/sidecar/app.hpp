// The commands: `run` (sessions with reconnect backoff, signals, HTTP), `status`, `verify`
// and `rebuild`.
#pragma once

#include "pgcqrs/sidecar/config.hpp"

namespace pgcqrs::sidecar {

// Exit codes: 0 stopped on request, 2 an error retrying cannot cure (a permanent Failure).
int run(const Config& config);
int status(const Config& config);
// The oracle (sidecar/src/verify): 0 identical, 1 differences, 2 could not read.
int run_verify(const Config& config);
// Asks for a blue/green rebuild (the checkpoint's `rebuild` field): 0 asked, 1 nothing to
// rebuild, 2 Redis unreachable.
int ask_rebuild(const Config& config);

}  // namespace pgcqrs::sidecar
