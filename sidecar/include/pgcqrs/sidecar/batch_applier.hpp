// Transactions to Redis, batch by batch, through the projector: calls wait until flush()
// makes them one batch; the batch's reads go pipelined, round by round, then its one
// MULTI/EXEC, which the next batch's reads may follow at once, all through a sink (one Redis
// or a cluster: sink/sink.hpp); a fan-out stopped at its
// budget is sent again before anything else. It counts what is in flight (backpressure; the
// sink times out a call left unanswered) and says what happened through Events; the session
// decides what that means (confirm, stop, reconnect). docs/read-models.md, "The projector".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgcqrs/sidecar/http/metrics.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/sink/sink.hpp"

namespace pgcqrs::sidecar {

class BatchApplier : public std::enable_shared_from_this<BatchApplier> {
 public:
  // A batch that Redis has applied.
  struct Applied {
    projection::Projector::Outcome outcome;
    uint64_t final_lsn = 0;   // the last transaction it completes (0: none, or a fan-out goes on)
    std::string commit_time;  // of that transaction
  };
  struct Events {
    std::function<void(const Applied&)> applied;
    // The checkpoint refused the batch (nocheckpoint, behind, dirty), nothing written.
    std::function<void(const std::string& verdict, const std::string& detail)> refused;
    // Redis failed or refused a batch, the connection broke, or the projection failed.
    std::function<void(const std::string& error, bool fatal)> failed;
  };
  struct Limits {
    size_t events = 100;       // per batch (--chunk-events)
    size_t bytes = 1u << 20;   // events' footprint per batch
    size_t transactions = 1000;
    size_t inflight = 64;      // batches in flight before the next waits for a reply (--max-inflight)
  };

  // sink outlives the applier.
  BatchApplier(sink::Sink& sink, http::Metrics& metrics, const Keys& keys, Limits limits, Events events,
               std::function<projection::ProjectorContext()> context);

  void add(projection::ScriptCall&& call);
  bool full() const;  // flush() now: the next batch is as large as it may be
  // Hands what waits to the projector as one batch, unless a batch is reading.
  void flush();
  // No more callbacks: the session has ended.
  void close() { closed_ = true; }

  // Batches reading (at most one) and writing (their MULTI/EXEC in flight).
  size_t inflight() const { return writing_ + (reading_ ? 1 : 0); }
  // Nothing waits, goes again or is in flight.
  bool idle() const { return pending_.empty() && unfinished_.empty() && inflight() == 0; }

 private:
  struct Written;
  void step(projection::Projector::Step s);
  void send_reads(const std::vector<projection::Command>& cmds);
  void on_reads(std::vector<projection::Reply> replies);
  void send_writes(projection::Projector::Step& s);
  void on_written(const sink::Written& result, const Written& w);
  void fail(const std::string& error, bool fatal = false);

  sink::Sink& sink_;
  http::Metrics& metrics_;
  Limits limits_;
  Events events_;
  std::function<projection::ProjectorContext()> context_;
  const Keys keys_;
  projection::Projector projector_;
  std::vector<projection::ScriptCall> pending_;
  size_t pending_events_ = 0, pending_bytes_ = 0;
  std::vector<projection::ScriptCall> unfinished_;  // a fan-out stopped at its budget
  bool fanning_out_ = false;
  bool reading_ = false;  // a batch is in its read rounds: nothing else is sent meanwhile
  size_t writing_ = 0;    // batches whose MULTI/EXEC is in flight
  bool closed_ = false;
  // The batch being read: what its write will report.
  std::vector<std::pair<std::string, uint64_t>> batch_types_;
  uint64_t batch_final_lsn_ = 0;
  std::string batch_commit_time_;
};

}  // namespace pgcqrs::sidecar
