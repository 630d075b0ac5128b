// Exactly once on a Redis Cluster, where a batch is applied slot by slot (redis/slot_split.hpp)
// and a crash can leave some of its slots written and others not. Re-running the projection
// for the slots left would read the written ones as they are after the batch, so a restart
// does not project again: it applies the batch's own transactions, which were written ahead
// as the intent, in one slot with the checkpoint.
//
// Per batch: (1) the intent, SET in the checkpoint's slot; (2) the per-slot transactions,
// each ending with its slot's fence; (3) the finish: the checkpoint moved to the batch's
// position and the intent deleted, in one MULTI/EXEC in that slot. A start that finds an
// intent applies the transactions whose fences are behind its position, then its finish
// (cluster/recovery.hpp). The fences also tell a master that
// came back without writes it had acknowledged (a replica promoted before it had them):
// FenceLedger.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/slot_split.hpp"

namespace pgcqrs::sidecar::cluster {

// How far the stream is applied: a transaction's commit LSN, and for a transaction applied
// in parts (the checkpoint's partial_lsn, partial_seq), the last event applied of it.
struct Position {
  static constexpr uint64_t kWhole = UINT64_MAX;
  uint64_t lsn = 0;
  uint64_t seq = kWhole;  // kWhole: all of it, which comes after every part

  auto operator<=>(const Position&) const = default;
};
// "0/16B3748" for a whole transaction, "0/16B3748#12" for one applied up to event 12.
std::string format_position(Position p);
std::optional<Position> parse_position(std::string_view text);

// The fence's field: its value is a position.
inline constexpr const char* kFenceField = "lsn";

struct Intent {
  Position position;
  std::vector<redis::SlotTransaction> transactions;
  redis::SlotTransaction finish;  // in the checkpoint's slot; it deletes the intent
};

// Where the intent of the checkpoint at checkpoint_key is kept: in the checkpoint's slot, by a
// hash tag of the checkpoint's whole name (a key prefix has no braces).
std::string intent_key(std::string_view checkpoint_key);

// The intent as the bytes of one string value, and back. decode_intent's error names what is
// wrong and where; a restart that cannot read the intent must rebuild, not guess.
std::string encode_intent(const Intent& intent);
struct Decoded {
  std::optional<Intent> intent;
  std::string error;
};
Decoded decode_intent(std::string_view bytes);

// The transactions of intent that a restart applies: those whose slot's fence (as read, in the
// order of intent.transactions; nullopt: the slot has no fence) is behind intent.position.
// A fence past it means a later batch reached that slot, which cannot happen before (3).
struct Replay {
  std::vector<size_t> apply;  // indexes into intent.transactions
  std::vector<uint16_t> ahead;  // slots whose fence is past the intent: the read models cannot be trusted
};
Replay replay(const Intent& intent, const std::vector<std::optional<Position>>& fences);

// The position each slot was last acknowledged at.
class FenceLedger {
 public:
  void acknowledged(uint16_t slot, Position p);
  std::optional<Position> at(uint16_t slot) const;
  // The slots among those read whose fence is behind what Redis acknowledged for them: a
  // failover lost their writes.
  std::vector<uint16_t> lost(const std::vector<std::pair<uint16_t, std::optional<Position>>>& fences) const;

 private:
  std::vector<std::optional<Position>> acked_ = std::vector<std::optional<Position>>(redis::kSlotCount);
};

}  // namespace pgcqrs::sidecar::cluster
