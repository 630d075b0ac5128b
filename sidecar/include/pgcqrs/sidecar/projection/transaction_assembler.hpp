// Groups a transaction's messages (begin, events, commit) into projection-script calls:
// one call per transaction, or several bounded chunks for a huge one. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/projection/event.hpp"

namespace pgcqrs::sidecar::projection {

// One EVALSHA of the projection script. Header arguments are added by script_argv().
struct ScriptCall {
  uint64_t lsn = 0;
  std::string lsn_text;
  std::string commit_time;
  bool final = false;      // carries the commit: the checkpoint moves to lsn
  size_t events = 0;       // domain events in this call
  std::vector<std::string> tokens;
  size_t bytes = 0;        // sum of token sizes, for memory accounting
};

struct AssemblerLimits {
  size_t max_events = 500;         // domain events per call
  size_t max_bytes = 1 << 20;      // token bytes per call
};

class TransactionAssembler {
 public:
  explicit TransactionAssembler(AssemblerLimits limits = {}) : limits_(limits) {}

  // Feeds one message; completed calls are appended to out. Returns an error text for a
  // message that breaks the framing (event outside a transaction, LSN mismatch, ...).
  // Takes the message's tokens (pass an rvalue to move rather than copy them).
  std::string feed(Message m, std::vector<ScriptCall>& out);

  bool in_transaction() const { return in_txn_; }

 private:
  void flush(bool final, std::vector<ScriptCall>& out);

  AssemblerLimits limits_;
  bool in_txn_ = false;
  ScriptCall current_;
  int64_t events_seen_ = 0;
};

// Transaction: checked against and advancing the checkpoint; Snapshot: rows copied under the
// exported snapshot, no checkpoint yet; Mark: sets the checkpoint (end of the copy).
enum class ScriptMode { Transaction, Snapshot, Mark };

// Several calls (transactions or chunks, in stream order) sent as one EVALSHA: under a backlog
// this amortizes the per-call cost; the whole batch and the checkpoint move atomically.
constexpr int kDefaultFanoutBudget = 1000;

class ScriptBatch {
 public:
  ScriptBatch();
  void add(ScriptCall&& call);
  bool empty() const { return segments_ == 0; }
  size_t segments() const { return segments_; }
  size_t events() const { return events_; }
  size_t bytes() const { return bytes_; }
  bool has_final() const { return has_final_; }
  uint64_t final_lsn() const { return final_lsn_; }  // last transaction the batch completes
  const std::string& final_commit_time() const { return final_commit_time_; }
  size_t transactions() const { return transactions_; }
  const std::vector<std::pair<std::string, uint64_t>>& event_types() const { return types_; }

  // The full argument vector: EVALSHA sha 0 mode slot now floor budget, then per call:
  // lsn final commit_time ntokens tokens... floor_lsn_text is the position already confirmed to
  // the slot; a checkpoint below it means Redis lost acknowledged writes. fanout_budget bounds
  // the orders one call updates for renames. Leaves the batch empty.
  std::vector<std::string> take_argv(const std::string& sha, ScriptMode mode, const std::string& slot,
                                     const std::string& now_iso, const std::string& floor_lsn_text,
                                     int fanout_budget = kDefaultFanoutBudget);

 private:
  std::vector<std::string> argv_;
  size_t segments_ = 0, events_ = 0, bytes_ = 0, transactions_ = 0;
  bool has_final_ = false;
  uint64_t final_lsn_ = 0;
  std::string final_commit_time_;
  std::vector<std::pair<std::string, uint64_t>> types_;
};

// Adds the call's domain events to per-type counts (for /metrics).
void count_event_types(const ScriptCall& call, std::vector<std::pair<std::string, uint64_t>>& types);

// One call as its own batch.
std::vector<std::string> script_argv(const std::string& sha, ScriptMode mode, const ScriptCall& call,
                                     const std::string& slot, const std::string& now_iso,
                                     const std::string& floor_lsn_text, int fanout_budget = kDefaultFanoutBudget);

}  // namespace pgcqrs::sidecar::projection
