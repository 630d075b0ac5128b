// Batches through the projector to Redis (batch_applier.hpp).
#include "pgcqrs/sidecar/batch_applier.hpp"

#include <chrono>

#include <spdlog/spdlog.h>


namespace pgcqrs::sidecar {

using projection::Projector;

// A batch whose MULTI/EXEC is in flight.
struct BatchApplier::Written {
  Applied applied;
  std::string lsn_text;  // of its last call, for messages
  std::vector<std::pair<std::string, uint64_t>> types;
  std::chrono::steady_clock::time_point at;
};

BatchApplier::BatchApplier(sink::Sink& sink, http::Metrics& metrics, const Keys& keys, Limits limits, Events events,
                           std::function<projection::ProjectorContext()> context)
    : sink_(sink),
      metrics_(metrics),
      limits_(limits),
      events_(std::move(events)),
      context_(std::move(context)),
      keys_(keys),
      projector_(keys) {}

void BatchApplier::add(projection::ScriptCall&& call) {
  pending_events_ += call.events.size() + call.rows.size();
  pending_bytes_ += call.bytes;
  pending_.push_back(std::move(call));
}

bool BatchApplier::full() const {
  return pending_events_ >= limits_.events || pending_bytes_ >= limits_.bytes || pending_.size() >= limits_.transactions;
}

void BatchApplier::fail(const std::string& error, bool fatal) {
  if (closed_) return;
  closed_ = true;
  events_.failed(error, fatal);
}

void BatchApplier::flush() {
  if (reading_ || closed_) return;
  std::vector<projection::ScriptCall> calls;
  if (!unfinished_.empty()) {
    calls = std::move(unfinished_);  // a fan-out stopped at its budget: the same calls again
    unfinished_.clear();
  } else if (!pending_.empty()) {
    calls = std::move(pending_);
    pending_.clear();
    pending_events_ = pending_bytes_ = 0;
  } else {
    return;
  }
  batch_types_.clear();
  for (const auto& c : calls) projection::count_event_types(c, batch_types_);
  batch_final_lsn_ = 0;
  batch_commit_time_.clear();
  for (const auto& c : calls)
    if (c.final) {
      batch_final_lsn_ = c.lsn;
      batch_commit_time_ = c.commit_time;
    }
  reading_ = true;
  ++metrics_.chunks_sent;
  metrics_.inflight = inflight();
  Projector::Step s;
  try {
    s = projector_.start(std::move(calls), Projector::Mode::Transaction, context_());
  } catch (const std::exception& e) {
    return fail(std::string("projection failed: ") + e.what());
  }
  step(std::move(s));
}

void BatchApplier::step(Projector::Step s) {
  switch (s.kind) {
    case Projector::Step::Kind::Read:
      return send_reads(s.reads);
    case Projector::Step::Kind::Stop:
      if (closed_) return;
      closed_ = true;
      return events_.refused(s.reason, s.detail);
    case Projector::Step::Kind::Write:
      return send_writes(s);
  }
}

void BatchApplier::send_reads(const std::vector<projection::Command>& cmds) {
  auto weak = weak_from_this();
  bool ok = sink_.read(cmds, [weak](std::vector<projection::Reply>* replies, const std::string& error) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (!replies) return self->fail(error);
    self->on_reads(std::move(*replies));
  });
  if (!ok) return fail("Redis connection is not usable");
}

void BatchApplier::on_reads(std::vector<projection::Reply> replies) {
  Projector::Step s;
  try {
    s = projector_.advance(std::move(replies), context_());
  } catch (const std::exception& e) {
    return fail(std::string("projection failed: ") + e.what());
  }
  step(std::move(s));
}

void BatchApplier::send_writes(Projector::Step& s) {
  reading_ = false;
  ++writing_;
  const auto& outcome = projector_.outcome();
  const auto& calls = projector_.calls();
  auto w = std::make_shared<Written>(Written{{outcome, outcome.more ? 0 : batch_final_lsn_, batch_commit_time_},
                                             calls.empty() ? "0/0" : calls.back().lsn_text, std::move(batch_types_),
                                             std::chrono::steady_clock::now()});
  if (outcome.more) {
    unfinished_ = projector_.take_calls();
    if (!fanning_out_) spdlog::info("large fan-out at {}: applying it in bounded calls", w->lsn_text);
  }
  fanning_out_ = outcome.more;
  auto weak = weak_from_this();
  bool ok = sink_.write(s.writes, [weak, w](const sink::Written& result) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->on_written(result, *w);
  });
  projector_.recycle(std::move(s.writes));  // the sink copied it
  if (!ok) return fail("Redis connection is not usable");
  sink_.flush();  // Redis runs this EXEC while the next batch is projected
  metrics_.inflight = inflight();
  if (inflight() < limits_.inflight) flush();  // the next batch's reads follow it
}

void BatchApplier::on_written(const sink::Written& result, const Written& w) {
  using K = sink::Written::Kind;
  --writing_;
  metrics_.inflight = inflight();
  double rtt = std::chrono::duration<double>(std::chrono::steady_clock::now() - w.at).count();
  metrics_.redis_rtt_seconds_last = rtt;
  metrics_.redis_rtt_seconds_sum += rtt;
  ++metrics_.redis_rtt_count;
  switch (result.kind) {
    case K::applied: break;
    case K::lost: return fail(result.error);
    case K::rejected: return fail("Redis rejected the batch ending at " + w.lsn_text + ": " + result.error);
    case K::watch_broken:
      return fail(keys_.checkpoint() + " changed between the reads and the writes of the batch ending at " +
                  w.lsn_text + " (another writer?)");
    case K::unexpected: return fail(result.error + " (batch ending at " + w.lsn_text + ")", true);
    case K::partial: {
      // Redis ran the rest of the transaction: the read models hold part of it. Mark the
      // checkpoint dirty so that the next start rebuilds them.
      spdlog::error("a write of the batch ending at {} failed ({}): marking the read models dirty", w.lsn_text,
                    result.error);
      metrics_.checkpoint_dirty = true;
      auto weak = weak_from_this();
      const std::string error = result.error;
      bool ok = sink_.mark_dirty(w.lsn_text, [weak, error] {
        if (auto self = weak.lock()) self->fail("the read models may hold part of a transaction batch: " + error);
      });
      if (!ok) fail("the read models may hold part of a transaction batch: " + error);
      return;
    }
  }
  metrics_.transactions_applied += w.applied.outcome.applied_transactions;
  metrics_.transactions_skipped += w.applied.outcome.skipped_transactions;
  if (w.applied.outcome.applied_events > 0 && !w.applied.outcome.more)
    for (const auto& [t, n] : w.types) metrics_.events_applied[t] += n;
  if (w.applied.final_lsn != 0) metrics_.checkpoint_lsn = std::max(metrics_.checkpoint_lsn, w.applied.final_lsn);
  events_.applied(w.applied);
}

}  // namespace pgcqrs::sidecar
