// The projection script (sidecar/src/projection/apply.lua), embedded at build time.
#pragma once

namespace pgcqrs::sidecar::projection {
extern const char* const kApplyScript;

// The version of the key layout the script writes, recorded as pgcqrs:checkpoint `layout` at
// the end of a copy. Read models of another layout are rebuilt at start (docs/read-models.md).
inline constexpr const char* kLayout = "3";
}
