// The projection script (sidecar/src/projection/apply.lua), embedded at build time.
#pragma once

namespace pgcqrs::sidecar::projection {
extern const char* const kApplyScript;
}
