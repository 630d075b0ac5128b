// The batch protocol of the projector (projector.hpp): a batch's rounds of reads, the
// checkpoint's verdicts (nothing applied twice, nothing skipped), the partial transaction and
// fan-out, and the one MULTI/EXEC that writes a batch with its checkpoint. The rules
// themselves are in rules.cpp.
#include "pgcqrs/sidecar/projection/projector.hpp"

#include <algorithm>
#include <stdexcept>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

namespace F = checkpoint::field;

// Whether two readings of the checkpoint agree on what the projector keeps there. The batch
// number that a Redis Cluster's sink keeps beside it (cluster/intent.hpp) moves with every
// batch and says nothing of the read models: taken for a change, it made every batch forget
// what the view knew and read it all again, twice the CPU per order on both sides.
bool same_checkpoint(std::map<std::string, std::string> a, std::map<std::string, std::string> b) {
  a.erase(F::batch);
  b.erase(F::batch);
  return a == b;
}

uint64_t lsn_of(const std::string& text) {
  auto v = pgcqrs::parse_lsn(text);
  if (!v) throw std::runtime_error("pgcqrs: malformed lsn " + text);
  return *v;
}

}  // namespace

int64_t Projector::to_int(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

std::vector<Command> Projector::take_checks() {
  std::vector<Command> checks = products_.take_checks();
  for (auto& c : users_.take_checks()) checks.push_back(std::move(c));
  for (auto& c : orders_.take_checks()) checks.push_back(std::move(c));
  return checks;
}

void Projector::drop_assumptions() {
  products_.drop_assumptions();
  users_.drop_assumptions();
  orders_.drop_assumptions();
}
int64_t Projector::to_int(const std::optional<std::string>& s) { return s ? to_int(*s) : 0; }

// ---- the batch protocol -----------------------------------------------------------------

Projector::Step Projector::start(std::vector<ScriptCall> calls, Mode mode, const ProjectorContext& ctx) {
  calls_ = std::move(calls);
  mode_ = mode;
  budget_ = ctx.fanout_budget;
  outcome_ = {};
  speculative_.reset();
  first_round_ = false;
  view_.begin_batch();
  products_.begin_batch();
  users_.begin_batch();
  orders_.begin_batch();
  if (mode == Mode::Mark) {
    Step step;
    step.kind = Step::Kind::Write;
    mark(ctx, step);
    return step;
  }
  if (mode == Mode::Snapshot) return run_snapshot(ctx);
  // The checkpoint is read afresh under WATCH in the first round; meanwhile the batch runs on
  // what the view believes it is, and stands if Redis agrees.
  // It also takes the orders it places to be new (checked by EXISTS in the same round).
  expected_cp_ = view_.known_hash(keys_.checkpoint());
  view_.set_speculating(true);
  Step step = run(ctx);
  view_.set_speculating(false);
  Step read;
  read.reads.push_back({"WATCH", keys_.checkpoint()});
  read.reads.push_back({"HGETALL", keys_.checkpoint()});
  if (step.kind == Step::Kind::Read) {
    for (auto& r : step.reads)
      if (r != read.reads[1]) read.reads.push_back(std::move(r));
    for (auto& c : take_checks()) read.reads.push_back(std::move(c));  // read, not assumed
    drop_assumptions();
  } else {
    for (const auto& c : step.checks) read.reads.push_back(c);
    speculative_ = std::move(step);
    speculative_outcome_ = run_outcome_;
  }
  first_round_ = true;
  last_reads_ = read.reads;
  return read;
}

Projector::Step Projector::advance(std::vector<Reply> replies, const ProjectorContext& ctx) {
  if (replies.size() != last_reads_.size())
    throw std::logic_error("projection: " + std::to_string(replies.size()) + " replies to " +
                           std::to_string(last_reads_.size()) + " reads");
  size_t from = 0;
  if (first_round_) {
    first_round_ = false;
    from = 2;
    if (replies[0].kind == Reply::Kind::Error) throw std::runtime_error("Redis refused WATCH: " + replies[0].str);
    if (replies[1].kind == Reply::Kind::Error)
      throw std::runtime_error("Redis refused HGETALL " + keys_.checkpoint() + ": " + replies[1].str);
    std::map<std::string, std::string> fresh;
    for (size_t i = 0; i + 1 < replies[1].elements.size(); i += 2)
      fresh[replies[1].elements[i].str] = replies[1].elements[i + 1].str;
    bool new_orders = true;  // every order the speculation took to be new is
    for (size_t i = 2; i < replies.size(); ++i)
      new_orders = new_orders && replies[i].kind == Reply::Kind::Integer && replies[i].integer == 0;
    if (expected_cp_ && same_checkpoint(*expected_cp_, fresh) && speculative_ && new_orders) {
      // Redis is where the view left it: what the batch wrote from the view stands (the view
      // already holds the checkpoint it moves to).
      Step step = std::move(*speculative_);
      speculative_.reset();
      if (step.kind == Step::Kind::Write) outcome_ = speculative_outcome_;
      return step;
    }
    if (expected_cp_ && (!same_checkpoint(*expected_cp_, fresh) || (speculative_ && !new_orders))) {
      // Another writer, or an order placed again: what the view holds (and what the
      // speculation folded into it) cannot be trusted.
      forget();
    }
    speculative_.reset();
    view_.absorb(last_reads_[1], std::move(replies[1]));
  }
  for (size_t i = from; i < replies.size(); ++i) {
    if (products_.owns(last_reads_[i]))
      products_.absorb(last_reads_[i], std::move(replies[i]));
    else if (users_.owns(last_reads_[i]))
      users_.absorb(last_reads_[i], std::move(replies[i]));
    else if (orders_.owns(last_reads_[i]))
      orders_.absorb(last_reads_[i], std::move(replies[i]));
    else
      view_.absorb(last_reads_[i], std::move(replies[i]));
  }
  return mode_ == Mode::Snapshot ? run_snapshot(ctx) : run(ctx);
}

// The copy writes into read models wiped just before it, which only the sidecar holding the
// slot writes: what it creates is new, with no EXISTS to confirm it. A check per call made the
// copy wait, once per call, for Redis to run every write sent before it.
Projector::Step Projector::run_snapshot(const ProjectorContext& ctx) {
  view_.set_speculating(true);
  Step step = run(ctx);
  view_.set_speculating(false);
  step.checks.clear();
  drop_assumptions();
  return step;
}

void Projector::mark(const ProjectorContext& ctx, Step& step) {
  // The copy is done: the checkpoint says where the stream goes on, in the layout written.
  const ScriptCall& c = calls_.back();
  step.writes.cmd("MULTI");
  // The switch: readers read the generation copied from this EXEC on, and the one they read
  // before is retired (deleted next, docs/consistency.md).
  step.writes.cmd("HSET", keys_.checkpoint(), F::lsn, c.lsn_text, F::slot, ctx.slot, F::updated_at, ctx.now_iso, F::commit_time,
                  c.commit_time, F::layout, kLayout, F::generation, std::to_string(keys_.generation()));
  if (ctx.retiring) step.writes.cmd("HSET", keys_.checkpoint(), F::retired, std::to_string(*ctx.retiring));
  step.writes.cmd("HDEL", keys_.checkpoint(), F::partial_lsn, F::partial_seq, F::partial_cursor, F::dirty, F::rebuilding,
                  F::rebuild);
  step.writes.cmd("PUBLISH", keys_.channel(), c.lsn_text);
  step.writes.cmd("EXEC");
  forget();
}

Projector::Step Projector::run(const ProjectorContext& ctx) {
  view_.begin_run();
  products_.begin_run();
  users_.begin_run();
  orders_.begin_run();
  now_iso_ = ctx.now_iso;
  Run r;
  const bool txn = mode_ == Mode::Transaction;
  uint64_t cp = 0;
  std::optional<std::string> p_lsn, p_cursor;
  int64_t p_seq = -1;
  Step step;
  bool cp_known = true;
  try {
    if (txn) view_.hget(keys_.checkpoint(), F::lsn);
  } catch (const Missing&) {
    // Not known yet (a first batch): the run goes on as if nothing were applied, only to
    // gather the reads it will need, which go with the checkpoint's in one round.
    cp_known = false;
    r.missing = true;
  }
  if (txn && cp_known) {
    std::optional<std::string> cp_lsn = view_.hget(keys_.checkpoint(), F::lsn);
    auto stop = [&](const char* reason, std::string detail) {
      step.kind = Step::Kind::Stop;
      step.reason = reason;
      step.detail = std::move(detail);
      return std::move(step);
    };
    if (!cp_lsn) return stop("nocheckpoint", "");
    cp = lsn_of(*cp_lsn);
    if (ctx.floor > cp) return stop("behind", *cp_lsn);
    if (auto d = view_.hget(keys_.checkpoint(), F::dirty)) return stop("dirty", *d);
    // Readers read another generation than the one this batch writes: another sidecar
    // rebuilt under this prefix meanwhile.
    std::string generation = view_.hget(keys_.checkpoint(), F::generation).value_or("0");
    if (generation != std::to_string(keys_.generation())) return stop("generation", generation);
    if (auto asked = view_.hget(keys_.checkpoint(), F::rebuild)) return stop("rebuild", *asked);
    p_lsn = view_.hget(keys_.checkpoint(), F::partial_lsn);
    p_seq = to_int(view_.hget(keys_.checkpoint(), F::partial_seq));
    p_cursor = view_.hget(keys_.checkpoint(), F::partial_cursor);
  }

  std::optional<std::string> done_lsn, done_time;
  for (const ScriptCall& call : calls_) {
    if (r.stopped_at) break;
    int64_t skip_upto = -1;
    if (txn) {
      if (call.lsn <= cp) {
        if (call.final) ++r.outcome.skipped_transactions;
        continue;
      }
      if (p_lsn && *p_lsn == call.lsn_text) {
        skip_upto = p_seq;
      } else if (p_cursor) {
        // An earlier fan-out is unfinished and this batch does not hold it: the stream was
        // resumed past it, which the checkpoint protocol never does.
        throw std::runtime_error("the checkpoint holds an unfinished fan-out at " + p_lsn.value_or("?") +
                                 " that the batch ending at " + calls_.back().lsn_text + " does not start with");
      }
    }
    r.lsn = call.lsn_text;
    int64_t last_seq = skip_upto;
    // The domain events and the row events, each in seq order, merged.
    for (size_t d = 0, w = 0; d < call.events.size() || w < call.rows.size();) {
      const bool domain = w == call.rows.size() || (d < call.events.size() && call.events[d].seq < call.rows[w].seq);
      const DomainEvent* event = domain ? &call.events[d++] : nullptr;
      const RowEvent* row = domain ? nullptr : &call.rows[w++];
      const int64_t seq = domain ? event->seq : row->seq;
      if (seq <= skip_upto) continue;
      if (p_cursor) {
        if (seq != p_seq + 1)
          throw std::runtime_error("the checkpoint's unfinished fan-out at " + *p_lsn + " is not event " +
                                   std::to_string(seq));
        r.resume_cursor = std::move(p_cursor);
        p_cursor.reset();
      }
      try {
        if (event)
          apply(r, event->body);
        else
          apply(r, *row);
      } catch (const Missing&) {
        r.missing = true;
      }
      r.resume_cursor.reset();
      ++r.outcome.applied_events;
      if (r.stopped_at) {
        last_seq = seq - 1;  // everything before it is done (gaps are application events)
        break;
      }
      last_seq = seq;
    }
    if (r.stopped_at) {
      p_lsn = call.lsn_text;
      p_seq = last_seq;
    } else if (call.final) {
      ++r.outcome.applied_transactions;
      done_lsn = call.lsn_text;
      done_time = call.commit_time;
      cp = call.lsn;
      p_lsn.reset();
    } else {
      p_lsn = call.lsn_text;
      p_seq = last_seq;
    }
  }

  refresh_pending(r);
  // Orders whose lines changed, then the pages that show changed orders.
  for (const auto& [o, at] : std::map<int64_t, std::string>(r.dirty)) {
    try {
      render(r, o, at);
    } catch (const Missing&) {
      r.missing = true;
    }
  }
  for (const auto& u : std::set<std::string>(r.pages)) {
    try {
      render_page(r, u);
    } catch (const Missing&) {
      r.missing = true;
    }
  }
  if (r.missing) {
    step.reads = view_.take_reads();
    // A run that misses something and asks for nothing would wait for good.
    if (step.reads.empty())
      throw std::logic_error("projection: the batch ending at " + calls_.back().lsn_text +
                             " misses something it asked no read for");
    last_reads_ = step.reads;
    return step;
  }

  if (txn) {
    if (done_lsn) {
      view_.hset(keys_.checkpoint(), F::lsn, *done_lsn);
      view_.hset(keys_.checkpoint(), F::slot, ctx.slot);
      view_.hset(keys_.checkpoint(), F::updated_at, ctx.now_iso);
      view_.hset(keys_.checkpoint(), F::commit_time, *done_time);
      view_.publish(keys_.channel(), *done_lsn);
    }
    auto drop = [&](const char* field) {
      if (view_.hget(keys_.checkpoint(), field)) view_.hdel(keys_.checkpoint(), field);
    };
    if (p_lsn) {
      view_.hset(keys_.checkpoint(), F::partial_lsn, *p_lsn);
      view_.hset(keys_.checkpoint(), F::partial_seq, std::to_string(p_seq));
    } else if (done_lsn) {
      drop(F::partial_lsn);
      drop(F::partial_seq);
    }
    if (r.stopped_at)
      view_.hset(keys_.checkpoint(), F::partial_cursor, *r.stopped_at);
    else if (!p_cursor)
      drop(F::partial_cursor);
    // else: the batch ended before the unfinished fan-out (a replay after a restart reaches it
    // batches later): where it stopped stays, or it would start over, and a declarative
    // model's, whose first chunk wrote the looked-up row's copy, would find nothing changed.
  }
  r.outcome.more = r.stopped_at.has_value();
  run_outcome_ = r.outcome;
  outcome_ = r.outcome;
  step.kind = Step::Kind::Write;
  step.checks = take_checks();
  // Sized once: grown by doubling, the buffer was copied over and over (a batch of orders
  // writes about 3.3 kB and 12 commands per event).
  size_t events = 0;
  for (const auto& c : calls_) events += c.events.size() + c.rows.size();
  step.writes = std::move(spare_);
  step.writes.clear();
  step.writes.reserve(4096 + 4096 * events, 16 + 16 * events);
  step.writes.cmd("MULTI");
  products_.commit(step.writes);
  users_.commit(step.writes);
  orders_.commit(step.writes);
  view_.commit(step.writes);
  step.writes.cmd("EXEC");
  return step;
}

}  // namespace pgcqrs::sidecar::projection
