// A batch as the projector writes it to one Redis (MULTI, its commands, EXEC) cut for a Redis
// Cluster (cluster/intent.hpp): the read models' writes split by hash slot, each slot's
// transaction fenced with the batch's number; the checkpoint's writes and the PUBLISH of the
// channel make the finish, in the checkpoint's slot, which also records the batch's number and
// deletes the intent. The projector does not know which of the two it writes to.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/keys.hpp"

namespace pgcqrs::sidecar::cluster {

// resp and starts: the projector's Write step. Throws std::invalid_argument for bytes that are
// not MULTI, commands and EXEC, or a command without a key.
Intent plan_batch(std::string_view resp, const std::vector<size_t>& starts, uint64_t batch, const Keys& keys);

}  // namespace pgcqrs::sidecar::cluster
