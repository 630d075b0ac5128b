// Groups a transaction's messages (begin, events, commit) into calls for the projector: one
// call per transaction, or several bounded chunks for a huge one. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/projection/event.hpp"

namespace pgcqrs::sidecar::projection {

// A transaction, or one bounded chunk of a huge one, as the projector receives it.
struct ScriptCall {
  uint64_t lsn = 0;
  std::string lsn_text;
  std::string commit_time;
  bool final = false;      // carries the commit: the checkpoint moves to lsn
  std::vector<DomainEvent> events;  // in commit order
  std::vector<RowEvent> rows;       // declarative models' events, in commit order among events (by seq)
  size_t bytes = 0;        // the events' footprint, for memory accounting
};

struct AssemblerLimits {
  size_t max_events = 500;         // domain and row events per call
  size_t max_bytes = 1 << 20;      // events' footprint per call
};

class TransactionAssembler {
 public:
  explicit TransactionAssembler(AssemblerLimits limits = {}) : limits_(limits) {}

  // Feeds one message; completed calls are appended to out. Returns an error text for a
  // message that breaks the framing (event outside a transaction, LSN mismatch, ...).
  // Takes the message's event (pass an rvalue to move rather than copy it).
  std::string feed(Message m, std::vector<ScriptCall>& out);

  bool in_transaction() const { return in_txn_; }

 private:
  void flush(bool final, std::vector<ScriptCall>& out);

  AssemblerLimits limits_;
  bool in_txn_ = false;
  ScriptCall current_;
  int64_t events_seen_ = 0;
};

// The fan-out budget when none is configured: orders one batch updates for a rename.
constexpr int kDefaultFanoutBudget = 1000;

// Adds the call's domain events to per-type counts (for /metrics).
void count_event_types(const ScriptCall& call, std::vector<std::pair<std::string, uint64_t>>& types);

}  // namespace pgcqrs::sidecar::projection
