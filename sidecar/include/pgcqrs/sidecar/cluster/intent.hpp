// Exactly once on a Redis Cluster, where a batch is applied slot by slot (redis/slot_split.hpp)
// and a crash can leave some of its slots written and others not. Re-running the projection
// for the slots left would read the written ones as they are after the batch, so a restart
// does not project again: it applies the batch's own transactions, which were written ahead
// as the intent, in one slot with the checkpoint.
//
// Per batch: (1) the intent, SET in the checkpoint's slot; (2) the per-slot transactions,
// each ending with its slot's fence; (3) the finish: the checkpoint moved past the batch and
// the intent deleted, in one MULTI/EXEC in that slot (cluster/batch_plan.hpp cuts a batch so). A start that finds an
// intent applies the transactions whose fences are behind its batch, then its finish
// (cluster/recovery.hpp). The fences also tell a master that
// came back without writes it had acknowledged (a replica promoted before it had them):
// FenceLedger.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/slot_split.hpp"

namespace pgcqrs::sidecar::cluster {

// Batches are numbered, one after the other: the checkpoint's `batch` field holds the number
// of the last one finished, each slot's fence the number of the last one applied to it. A
// number rather than a position in the stream: the batches of one fan-out share their
// position (the same event of the same transaction), and each must still be told apart.
inline constexpr const char* kFenceField = "batch";
std::optional<uint64_t> parse_batch(std::string_view text);  // a decimal number

struct Intent {
  uint64_t batch = 0;
  std::vector<redis::SlotTransaction> transactions;
  redis::SlotTransaction finish;  // in the checkpoint's slot; it deletes the intent
};

// Where the intent of the checkpoint at checkpoint_key is kept: `{prefix}pgcqrs:intent:{tag}`,
// in the checkpoint's slot (the tag is slot_tag's for it), and under the key prefix, where the
// sidecar's ACL key pattern `~{prefix}pgcqrs:*` reaches it.
std::string intent_key(std::string_view prefix, std::string_view checkpoint_key);

// The intent as the bytes of one string value, and back. decode_intent's error names what is
// wrong and where; a restart that cannot read the intent must rebuild, not guess.
std::string encode_intent(const Intent& intent);
// `SET key <encode_intent(intent)>` in RESP, in pieces to be written one after the other: the
// framing and the intent's lines, in `frame`, and each transaction's bytes where the intent holds
// them, so that sending it copies none of them. The pieces point into frame and intent.
std::vector<std::string_view> set_intent_pieces(std::string_view key, const Intent& intent, std::string& frame);
struct Decoded {
  std::optional<Intent> intent;
  std::string error;
};
Decoded decode_intent(std::string_view bytes);

// The transactions of intent that a restart applies: those whose slot's fence (as read, in the
// order of intent.transactions; nullopt: the slot has no fence) is behind intent.batch.
// A fence past it means a later batch reached that slot, which cannot happen before (3).
struct Replay {
  std::vector<size_t> apply;  // indexes into intent.transactions
  std::vector<uint16_t> ahead;  // slots whose fence is past the intent: the read models cannot be trusted
};
Replay replay(const Intent& intent, const std::vector<std::optional<uint64_t>>& fences);

// The batch each slot was last acknowledged at.
class FenceLedger {
 public:
  void acknowledged(uint16_t slot, uint64_t batch);
  std::optional<uint64_t> at(uint16_t slot) const;
  // The slots among those read whose fence is behind what Redis acknowledged for them: a
  // failover lost their writes.
  std::vector<uint16_t> lost(const std::vector<std::pair<uint16_t, std::optional<uint64_t>>>& fences) const;

 private:
  std::vector<std::optional<uint64_t>> acked_ = std::vector<std::optional<uint64_t>>(redis::kSlotCount);
};

}  // namespace pgcqrs::sidecar::cluster
