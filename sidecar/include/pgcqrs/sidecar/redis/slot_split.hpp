// A batch's writes cut for a Redis Cluster, where a MULTI/EXEC may hold the keys of one hash
// slot only: one transaction per slot the batch writes, each closed by that slot's fence (a
// hash in the same slot holding the position of the last batch applied to it), so that a
// replay after a crash can tell, slot by slot, what is already there. Commands keep their
// order within a slot; slots are independent of one another by construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/key_slot.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::redis {

// The n-th argument (0: the command's name) of the RESP command at resp[at...].
// Throws std::invalid_argument when there are no such bytes or no such argument.
std::string_view command_argument(std::string_view resp, size_t at, int n);

// A short text whose hash slot is slot (a decimal number, the smallest there is for it): the
// hash tag that puts a key of ours into a given slot.
std::string_view slot_tag(uint16_t slot);

// The fence of slot: `{prefix}pgcqrs:fence:{tag}`.
std::string fence_key(std::string_view prefix, uint16_t slot);

struct SlotTransaction {
  uint16_t slot = 0;
  size_t commands = 0;  // queued between MULTI and EXEC, the fence included
  std::string resp;     // MULTI, the slot's commands, HSET of the fence (if any), EXEC
};

// Splits commands (RESP, one command starting at each offset in starts, each with its key as
// its first argument, as every write of the projector has) by the slot of that key. The fence
// of each slot written gets the fields and values in fence (field, value, field, value...);
// with none, no fence is written.
// Throws std::invalid_argument for a command without a key or bytes that are not commands.
std::vector<SlotTransaction> split_by_slot(std::string_view resp, const std::vector<size_t>& starts,
                                           std::string_view prefix, const std::vector<std::string>& fence);
// The same for commands whose slots the caller has found, in any places of resp.
struct SlotCommand {
  size_t start = 0, end = 0;  // the command is resp[start, end)
  uint16_t slot = 0;
};
std::vector<SlotTransaction> split_slot_commands(std::string_view resp, const std::vector<SlotCommand>& commands,
                                                 std::string_view prefix, const std::vector<std::string>& fence);

}  // namespace pgcqrs::sidecar::redis
